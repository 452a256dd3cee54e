/// Byte-level BPE merging over interned symbols (llama.cpp's `llm_tokenizer_bpe_session`).
///
/// Every byte string that can be a symbol — token texts (as raw bytes), merge parts and merge results — gets an
/// integer id once; a merge is then a lookup of the pair `(left, right)` giving its rank and the merged symbol.
struct MergeTable: Sendable {
    private struct Merge: Sendable { let rank: Int32; let result: Int32 }

    /// Symbol id of each raw byte string that can occur; token ids are their own symbol ids.
    private let symbolByBytes: [[UInt8]: Int32]
    /// Symbol id of each single byte, or -1.
    private let symbolOfByte: [Int32]
    /// The token of each symbol id, or -1 when the symbol is not a token.
    private let tokenOfSymbol: [TokenID]
    private let merges: [UInt64: Merge]

    init(tokens: [String], merges mergeTexts: [String]) {
        var symbolByBytes: [[UInt8]: Int32] = [:]
        symbolByBytes.reserveCapacity(tokens.count + mergeTexts.count)
        for (id, text) in tokens.enumerated() {
            guard let bytes = ByteLevelMapping.bytes(ofPiece: text), symbolByBytes[bytes] == nil else { continue }
            symbolByBytes[bytes] = Int32(id)
        }
        var tokenOfSymbol = [TokenID](repeating: -1, count: tokens.count)
        for (_, id) in symbolByBytes { tokenOfSymbol[Int(id)] = id }
        func intern(_ bytes: [UInt8]) -> Int32 {
            if let id = symbolByBytes[bytes] { return id }
            let id = Int32(tokenOfSymbol.count)
            symbolByBytes[bytes] = id
            tokenOfSymbol.append(-1)
            return id
        }
        var merges: [UInt64: Merge] = [:]
        merges.reserveCapacity(mergeTexts.count)
        for (rank, text) in mergeTexts.enumerated() {
            // llama.cpp splits at the first space after the first character.
            let utf8 = Array(text.utf8)
            guard utf8.count > 1, let space = utf8[1...].firstIndex(of: 0x20) else { continue }
            guard let left = ByteLevelMapping.bytes(ofPiece: String(decoding: utf8[..<space], as: UTF8.self)),
                  let right = ByteLevelMapping.bytes(ofPiece: String(decoding: utf8[(space + 1)...], as: UTF8.self))
            else { continue }
            let key = Self.key(intern(left), intern(right))
            if merges[key] == nil { merges[key] = Merge(rank: Int32(rank), result: intern(left + right)) }
        }
        self.symbolByBytes = symbolByBytes
        self.symbolOfByte = (0 ..< 256).map { symbolByBytes[[UInt8($0)]] ?? -1 }
        self.tokenOfSymbol = tokenOfSymbol
        self.merges = merges
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    private struct Symbol { var start: Int; var length: Int; var id: Int32; var previous: Int; var next: Int }
    private struct Candidate: Comparable {
        let left: Int, right: Int, rank: Int32, leftLength: Int, rightLength: Int, result: Int32
        /// `a < b` when `b` merges first: lower rank, then leftmost.
        static func < (a: Candidate, b: Candidate) -> Bool {
            a.rank > b.rank || (a.rank == b.rank && a.left > b.left)
        }
        static func == (a: Candidate, b: Candidate) -> Bool { a.rank == b.rank && a.left == b.left }
    }

    /// Merges one word and appends its tokens; a final symbol that is no token falls back to the tokens of its
    /// printable ASCII bytes, dropping the rest (as llama.cpp does).
    func encodeWord(_ word: ArraySlice<UInt8>, ignoreMerges: Bool, into output: inout [TokenID]) {
        guard !word.isEmpty else { return }
        if ignoreMerges || word.count == 1, let symbol = symbolByBytes[Array(word)], tokenOfSymbol[Int(symbol)] >= 0 {
            output.append(tokenOfSymbol[Int(symbol)])
            return
        }
        var symbols: [Symbol] = []
        symbols.reserveCapacity(word.count)
        for (offset, byte) in word.enumerated() {
            symbols.append(Symbol(start: word.startIndex + offset, length: 1, id: symbolOfByte[Int(byte)],
                                  previous: offset - 1, next: offset + 1 == word.count ? -1 : offset + 1))
        }
        var queue = MaxHeap<Candidate>()
        func consider(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let a = symbols[left], b = symbols[right]
            guard a.id >= 0, b.id >= 0, let merge = merges[Self.key(a.id, b.id)] else { return }
            queue.push(Candidate(left: left, right: right, rank: merge.rank, leftLength: a.length,
                                 rightLength: b.length, result: merge.result))
        }
        for index in 1 ..< symbols.count { consider(index - 1, index) }
        while let candidate = queue.pop() {
            let left = symbols[candidate.left], right = symbols[candidate.right]
            guard left.length == candidate.leftLength, right.length == candidate.rightLength,
                  left.length > 0, right.length > 0 else { continue }
            symbols[candidate.left].length += right.length
            symbols[candidate.left].id = candidate.result
            symbols[candidate.right].length = 0
            symbols[candidate.left].next = right.next
            if right.next >= 0 { symbols[right.next].previous = candidate.left }
            consider(left.previous, candidate.left)
            consider(candidate.left, right.next)
        }
        var index = 0
        while index >= 0 {
            let symbol = symbols[index]
            let token = symbol.id >= 0 ? tokenOfSymbol[Int(symbol.id)] : -1
            if token >= 0 {
                output.append(token)
            } else {
                for byte in word[symbol.start ..< symbol.start + symbol.length] where (0x21 ... 0x7E).contains(byte) {
                    let id = symbolOfByte[Int(byte)]
                    if id >= 0, tokenOfSymbol[Int(id)] >= 0 { output.append(tokenOfSymbol[Int(id)]) }
                }
            }
            index = symbol.next
        }
    }
}
