/// The merge loop of SentencePiece BPE over a linked list of symbols (ranges of the input bytes).
///
/// A priority queue of candidate bigrams is ordered by the merged piece's score, highest first, then by the
/// leftmost position. A candidate whose symbols changed since it was queued is stale and skipped.
struct SymbolMerger {
    private struct Symbol { var start: Int; var length: Int; var previous: Int; var next: Int }
    private struct Bigram: Comparable {
        var left: Int, right: Int, score: Float, length: Int
        /// `a < b` when `b` should be merged first.
        static func < (a: Bigram, b: Bigram) -> Bool {
            a.score < b.score || (a.score == b.score && a.left > b.left)
        }
    }

    let bytes: [UInt8]
    private let tokenizer: VocabularyTokenizer
    private var symbols: [Symbol] = []
    private var queue = MaxHeap<Bigram>()

    init(bytes: [UInt8], tokenizer: VocabularyTokenizer) {
        self.bytes = bytes
        self.tokenizer = tokenizer
        var offset = 0
        while offset < bytes.count {
            let length = min(bytes.count - offset, Self.utf8Length(leadByte: bytes[offset]))
            symbols.append(Symbol(start: offset, length: length, previous: symbols.count - 1, next: symbols.count + 1))
            offset += length
        }
        if !symbols.isEmpty { symbols[symbols.count - 1].next = -1 }
    }

    static func utf8Length(leadByte: UInt8) -> Int {
        switch leadByte >> 4 {
        case 0xF: 4
        case 0xE: 3
        case 0xC, 0xD: 2
        default: 1
        }
    }

    private func range(of index: Int) -> Range<Int> {
        symbols[index].start ..< symbols[index].start + symbols[index].length
    }

    private mutating func addBigram(left: Int, right: Int) {
        guard left >= 0, right >= 0 else { return }
        let merged = symbols[left].start ..< symbols[right].start + symbols[right].length
        guard let id = tokenizer.lookup(bytes[merged]) else { return }
        queue.push(Bigram(left: left, right: right, score: tokenizer.score(of: id), length: merged.count))
    }

    mutating func mergeAll() {
        for index in symbols.indices.dropFirst() { addBigram(left: index - 1, right: index) }
        while let bigram = queue.pop() {
            let left = symbols[bigram.left], right = symbols[bigram.right]
            guard left.length > 0, right.length > 0, left.length + right.length == bigram.length else { continue }
            symbols[bigram.left].length += right.length
            symbols[bigram.right].length = 0
            symbols[bigram.left].next = right.next
            if right.next >= 0 { symbols[right.next].previous = bigram.left }
            addBigram(left: symbols[bigram.left].previous, right: bigram.left)
            addBigram(left: bigram.left, right: symbols[bigram.left].next)
        }
    }

    /// The byte ranges of the symbols left after merging, in order.
    func finalSymbols() -> [Range<Int>] {
        var result: [Range<Int>] = []
        var index = symbols.isEmpty ? -1 : 0
        while index >= 0 {
            result.append(range(of: index))
            index = symbols[index].next
        }
        return result
    }
}

/// A binary max-heap.
struct MaxHeap<Element: Comparable> {
    private var storage: [Element] = []

    mutating func push(_ element: Element) {
        storage.append(element)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[parent] < storage[child] else { break }
            storage.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !storage.isEmpty else { return nil }
        storage.swapAt(0, storage.count - 1)
        let top = storage.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var largest = parent
            if left < storage.count, storage[largest] < storage[left] { largest = left }
            if right < storage.count, storage[largest] < storage[right] { largest = right }
            if largest == parent { break }
            storage.swapAt(parent, largest)
            parent = largest
        }
        return top
    }
}
