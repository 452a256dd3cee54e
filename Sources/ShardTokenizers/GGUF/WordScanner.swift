/// The word scanners behind ``PreTokenizer``: ports of the hand-written matchers in llama.cpp's `unicode.cpp`.
///
/// Each scanner refines a list of chunk lengths (code points): every chunk is scanned on its own, and positions
/// outside the chunk read as class `[]` and code point ``outside``, exactly as the regular expressions see the end.
enum WordScanner {
    static let outside = UInt32.max

    /// Cursor over one chunk, collecting word lengths.
    struct Chunk {
        let codepoints: [UInt32]
        let classes: [CodepointClass]
        let start: Int
        let end: Int
        var previousEnd: Int
        var words: [Int]

        func codepoint(_ position: Int) -> UInt32 {
            position >= start && position < end ? codepoints[position] : WordScanner.outside
        }
        func classes(_ position: Int) -> CodepointClass {
            position >= start && position < end ? classes[position] : []
        }
        /// Ends the current word at `position`; returns its length.
        @discardableResult
        mutating func cut(_ position: Int) -> Int {
            let length = position - previousEnd
            if length > 0 { words.append(length) }
            previousEnd = position
            return length
        }
    }

    static func scan(_ codepoints: [UInt32], _ classes: [CodepointClass], _ offsets: [Int],
                             _ body: (inout Chunk, inout Int) -> Void) -> [Int] {
        var chunk = Chunk(codepoints: codepoints, classes: classes, start: 0, end: 0, previousEnd: 0, words: [])
        chunk.words.reserveCapacity(offsets.count)
        var start = 0
        for length in offsets {
            chunk = Chunk(codepoints: codepoints, classes: classes, start: start, end: start + length,
                          previousEnd: start, words: chunk.words)
            var position = start
            while position < start + length { body(&chunk, &position) }
            start += length
        }
        return chunk.words
    }

    static let apostrophe: UInt32 = 0x27
    static func isNewline(_ codepoint: UInt32) -> Bool { codepoint == 0x0A || codepoint == 0x0D }
    static func lower(_ codepoint: UInt32) -> UInt32 {
        codepoint >= 0x41 && codepoint <= 0x5A ? codepoint + 0x20 : codepoint
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` at `position` (case-insensitive when asked): the contraction's length, or 0.
    static func contraction(_ chunk: Chunk, at position: Int, caseInsensitive: Bool) -> Int {
        guard chunk.codepoint(position) == apostrophe, position + 1 < chunk.end else { return 0 }
        func fold(_ codepoint: UInt32) -> UInt32 { caseInsensitive ? lower(codepoint) : codepoint }
        let next = fold(chunk.codepoint(position + 1))
        if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 { return 2 } // s t m d
        guard position + 2 < chunk.end else { return 0 }
        let after = fold(chunk.codepoint(position + 2))
        if (next == 0x72 && after == 0x65) || (next == 0x76 && after == 0x65) || (next == 0x6C && after == 0x6C) {
            return 3 // re ve ll
        }
        return 0
    }

    /// Whitespace handling shared by the scanners: `\s+(?!\S)` then `\s+`, else one code point.
    static func whitespaceOrSingle(_ chunk: inout Chunk, _ position: inout Int, run: Int) {
        if run > 1, chunk.codepoint(position + run) != outside {
            position += run - 1
        } else if run > 0 {
            position += run
        } else {
            position += 1
        }
        chunk.cut(position)
    }

    /// GPT-2's expression (llama.cpp `unicode_regex_split_custom_gpt2`).
    static func gpt2(_ codepoints: [UInt32], _ classes: [CodepointClass], _ offsets: [Int]) -> [Int] {
        scan(codepoints, classes, offsets) { chunk, position in
            let length = contraction(chunk, at: position, caseInsensitive: false)
            if length > 0 {
                position += chunk.cut(position + length)
                return
            }
            let codepoint = chunk.codepoint(position)
            let isSpace = codepoint == 0x20
            var next = isSpace ? chunk.classes(position + 1) : chunk.classes(position)
            // <space>?\p{L}+ then <space>?\p{N}+
            let wanted: CodepointClass = next.contains(.letter) ? .letter : next.contains(.number) ? .number : []
            if !wanted.isEmpty {
                if isSpace { position += 1 }
                while next.contains(wanted) { position += 1; next = chunk.classes(position) }
                chunk.cut(position)
                return
            }
            let other: (CodepointClass) -> Bool = { $0.isDisjoint(with: [.whitespace, .letter, .number]) && !$0.isEmpty }
            if other(next) {
                if isSpace { position += 1 }
                while other(next) { position += 1; next = chunk.classes(position) }
                chunk.cut(position)
                return
            }
            var run = 0
            while chunk.classes(position + run).contains(.whitespace) { run += 1 }
            whitespaceOrSingle(&chunk, &position, run: run)
        }
    }

    /// Llama 3's expression (`maxDigits` 3), Qwen 2's (`maxDigits` 1) and Qwen 3.5's (`maxDigits` 1, `letters`
    /// `[.letter, .mark]`: marks join letter runs): llama.cpp `unicode_regex_split_custom_llama3`, `..._qwen2` and
    /// `..._qwen35`.
    static func llama3(_ codepoints: [UInt32], _ classes: [CodepointClass], _ offsets: [Int], maxDigits: Int,
                       letters: CodepointClass = .letter) -> [Int] {
        scan(codepoints, classes, offsets) { chunk, position in
            let length = contraction(chunk, at: position, caseInsensitive: true)
            if length > 0 {
                position += chunk.cut(position + length)
                return
            }
            let codepoint = chunk.codepoint(position)
            let current = chunk.classes(position)
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(isNewline(codepoint) || current.contains(.number)),
               !current.isDisjoint(with: letters) || !chunk.classes(position + 1).isDisjoint(with: letters) {
                position += 1
                while !chunk.classes(position).isDisjoint(with: letters) { position += 1 }
                chunk.cut(position)
                return
            }
            // \p{N}{1,maxDigits}
            if current.contains(.number) {
                var first = position
                while chunk.classes(position).contains(.number) {
                    position += 1
                    if position - first >= maxDigits {
                        chunk.cut(position)
                        first = position
                    }
                }
                chunk.cut(position)
                return
            }
            // <space>?[^\s\p{L}\p{N}]+[\r\n]*
            var next = codepoint == 0x20 ? chunk.classes(position + 1) : current
            let excluded = letters.union([.whitespace, .number])
            let other: (CodepointClass) -> Bool = { $0.isDisjoint(with: excluded) }
            if other(next), !current.isEmpty {
                if codepoint == 0x20 { position += 1 }
                while other(next), !next.isEmpty { position += 1; next = chunk.classes(position) }
                while isNewline(chunk.codepoint(position)) { position += 1 }
                chunk.cut(position)
                return
            }
            var run = 0, lastNewlineEnd = 0
            while chunk.classes(position + run).contains(.whitespace) {
                if isNewline(chunk.codepoint(position + run)) { lastNewlineEnd = position + run + 1 }
                run += 1
            }
            // \s*[\r\n]+
            if lastNewlineEnd > 0 {
                position = lastNewlineEnd
                chunk.cut(position)
                return
            }
            whitespaceOrSingle(&chunk, &position, run: run)
        }
    }

    /// Every code point matching `isolated` becomes its own word; the text between stays whole (`\p{N}`).
    static func isolateEach(_ classes: [CodepointClass], _ offsets: [Int],
                            _ isolated: (CodepointClass) -> Bool) -> [Int] {
        regexLike(offsets) { position, end in isolated(classes[position]) ? 1 : 0 }
    }

    /// Maximal runs of code points at indices matching `member` become words (`[...]+`).
    static func runs(_ classes: [CodepointClass], _ offsets: [Int], _ member: (Int) -> Bool) -> [Int] {
        regexLike(offsets) { position, end in
            var length = 0
            while position + length < end, member(position + length) { length += 1 }
            return length
        }
    }

    /// `[0-9][0-9][0-9]`: each group of three ASCII digits becomes a word.
    static func asciiDigitTriples(_ codepoints: [UInt32], _ offsets: [Int]) -> [Int] {
        regexLike(offsets) { position, end in
            guard position + 3 <= end else { return 0 }
            return codepoints[position ..< position + 3].allSatisfy { $0 >= 0x30 && $0 <= 0x39 } ? 3 : 0
        }
    }

    /// Splits each chunk like llama.cpp's `std::regex` fallback: every match is a word, and so is the text
    /// between matches. `match(position, end)` returns the length of a match starting at `position`, or 0.
    private static func regexLike(_ offsets: [Int], _ match: (Int, Int) -> Int) -> [Int] {
        var words: [Int] = []
        words.reserveCapacity(offsets.count)
        var start = 0
        for length in offsets {
            let end = start + length
            var gapStart = start, position = start
            while position < end {
                let matched = match(position, end)
                if matched > 0 {
                    if position > gapStart { words.append(position - gapStart) }
                    words.append(matched)
                    position += matched
                    gapStart = position
                } else {
                    position += 1
                }
            }
            if end > gapStart { words.append(end - gapStart) }
            start = end
        }
        return words
    }
}
