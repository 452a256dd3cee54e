extension WordScanner {
    /// GPT-4o's expression as llama.cpp runs it (`LLAMA_VOCAB_PRE_TYPE_GPT4O`: Llama 4, gpt-oss, MiniMax M2 ...):
    ///
    ///     [^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(contraction)?
    ///     |[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(contraction)?
    ///     |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
    ///
    /// llama.cpp matches it with `std::regex` on text where every non-ASCII letter stands for "a letter of any
    /// case", so a non-ASCII letter counts as both upper case (`[^a-z]`) and lower case (`[^A-Z]`); only ASCII
    /// letters have a case. The scanner reproduces the regex engine's greedy matching and backtracking.
    ///
    /// Mistral's Tekken expression is the same without the contractions and with single digits
    /// (`contractions: false, maxDigits: 1`).
    static func gpt4o(_ codepoints: [UInt32], _ classes: [CodepointClass], _ offsets: [Int],
                      contractions: Bool = true, maxDigits: Int = 3) -> [Int] {
        scan(codepoints, classes, offsets) { chunk, position in
            let codepoint = chunk.codepoint(position)
            let current = chunk.classes(position)
            // The optional leading character of a letter run: not \r, \n, a letter or a number.
            var start = position
            if !current.contains(.letter), !current.contains(.number), !isNewline(codepoint),
               chunk.classes(position + 1).contains(.letter) {
                start += 1
            }
            if let end = letterRunEnd(chunk, from: start) {
                position = end + (contractions ? contraction(chunk, at: end, caseInsensitive: true) : 0)
                chunk.cut(position)
                return
            }
            // \p{N}{1,maxDigits}
            if current.contains(.number) {
                var length = 0
                while length < maxDigits, chunk.classes(position + length).contains(.number) { length += 1 }
                position += length
                chunk.cut(position)
                return
            }
            // ' '?[^\s\p{L}\p{N}]+[\r\n/]*
            let other: (CodepointClass) -> Bool = { $0.isDisjoint(with: [.whitespace, .letter, .number]) && !$0.isEmpty }
            let afterSpace = codepoint == 0x20 ? position + 1 : position
            if other(chunk.classes(afterSpace)) {
                position = afterSpace
                while other(chunk.classes(position)) { position += 1 }
                while isNewline(chunk.codepoint(position)) || chunk.codepoint(position) == 0x2F { position += 1 }
                chunk.cut(position)
                return
            }
            var run = 0, lastNewlineEnd = 0
            while chunk.classes(position + run).contains(.whitespace) {
                if isNewline(chunk.codepoint(position + run)) { lastNewlineEnd = position + run + 1 }
                run += 1
            }
            if lastNewlineEnd > 0 {
                position = lastNewlineEnd
                chunk.cut(position)
                return
            }
            whitespaceOrSingle(&chunk, &position, run: run)
        }
    }

    /// Where the letter part of the first two alternatives ends when it starts at `start`, or `nil` when neither
    /// matches. "Upper" letters are letters other than ASCII a-z, "lower" letters are letters other than ASCII A-Z.
    private static func letterRunEnd(_ chunk: Chunk, from start: Int) -> Int? {
        func isLetter(_ position: Int) -> Bool { chunk.classes(position).contains(.letter) }
        func isUpper(_ position: Int) -> Bool {
            let codepoint = chunk.codepoint(position)
            return isLetter(position) && !(codepoint >= 0x61 && codepoint <= 0x7A)
        }
        func isLower(_ position: Int) -> Bool {
            let codepoint = chunk.codepoint(position)
            return isLetter(position) && !(codepoint >= 0x41 && codepoint <= 0x5A)
        }
        // Upper* greedily, then Lower+.
        var upperEnd = start
        while isUpper(upperEnd) { upperEnd += 1 }
        if isLower(upperEnd) {
            var end = upperEnd
            while isLower(end) { end += 1 }
            return end
        }
        // Lower+ found nothing after the upper run: back off the upper run to its last letter that is also lower
        // (a non-ASCII letter); Lower+ then takes that letter only (the ones after it are ASCII capitals).
        var backoff = upperEnd - 1
        while backoff >= start {
            if isLower(backoff) { return backoff + 1 }
            backoff -= 1
        }
        // Second alternative: Upper+ then Lower* (nothing lower follows here).
        return upperEnd > start ? upperEnd : nil
    }
}
