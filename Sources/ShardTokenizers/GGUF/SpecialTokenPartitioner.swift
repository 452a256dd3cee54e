/// Cuts text around the special tokens it contains, like llama.cpp's `tokenizer_st_partition`.
///
/// Control, unknown and user-defined tokens are matched longest text first: every occurrence of the longest
/// token in the remaining text fragments becomes that token, then the next longest, and so on. With
/// `parseSpecial == false` only user-defined tokens are matched (llama.cpp's `parse_special=false`).
struct SpecialTokenPartitioner: Sendable {
    /// A piece of the input: raw text (a byte range) or a special token.
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(TokenID)
    }

    private struct Special: Sendable {
        let id: TokenID
        let bytes: [UInt8]
        let parsedWithoutSpecial: Bool
    }

    /// The special tokens, longest text first (ties by id).
    private let specials: [Special]
    /// A trie over the specials' bytes: child node of `(node << 8) | byte`.
    private let children: [Int: Int32]
    /// For each trie node, the index into ``specials`` of the token ending there, or -1.
    private let terminal: [Int32]

    init(texts: [String], kinds: [TokenAttributes.Kind]) {
        var specials: [Special] = []
        for (index, kind) in kinds.enumerated() where !kind.isDisjoint(with: [.control, .userDefined, .unknown]) {
            let bytes = Array(texts[index].utf8)
            guard !bytes.isEmpty else { continue }
            specials.append(Special(id: TokenID(index), bytes: bytes,
                                    parsedWithoutSpecial: kind.isDisjoint(with: [.control, .unknown])))
        }
        specials.sort { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        var children: [Int: Int32] = [:]
        var terminal: [Int32] = [-1]
        for (index, special) in specials.enumerated() {
            var node = 0
            for byte in special.bytes {
                let key = node << 8 | Int(byte)
                if let child = children[key] {
                    node = Int(child)
                } else {
                    terminal.append(-1)
                    children[key] = Int32(terminal.count - 1)
                    node = terminal.count - 1
                }
            }
            if terminal[node] < 0 { terminal[node] = Int32(index) }
        }
        self.specials = specials
        self.children = children
        self.terminal = terminal
    }

    /// The fragments of `bytes`; raw text fragments are never empty.
    func partition(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        guard !bytes.isEmpty else { return [] }
        var fragments: [Fragment] = [.text(0 ..< bytes.count)]
        for index in occurringSpecials(in: bytes) {
            let special = specials[index]
            guard parseSpecial || special.parsedWithoutSpecial else { continue }
            var next: [Fragment] = []
            next.reserveCapacity(fragments.count + 2)
            for fragment in fragments {
                guard case var .text(range) = fragment else { next.append(fragment); continue }
                while let match = bytes[range].firstRange(of: special.bytes) {
                    if match.lowerBound > range.lowerBound { next.append(.text(range.lowerBound ..< match.lowerBound)) }
                    next.append(.token(special.id))
                    range = match.upperBound ..< range.upperBound
                }
                if !range.isEmpty { next.append(.text(range)) }
            }
            fragments = next
        }
        return fragments
    }

    /// Indices into ``specials`` of the tokens whose text occurs anywhere in `bytes`, in matching order.
    /// A token absent from the whole text cannot occur in any fragment of it, so only these need a search.
    private func occurringSpecials(in bytes: [UInt8]) -> [Int] {
        var found = Set<Int>()
        for start in bytes.indices {
            var node = 0, position = start
            while position < bytes.count, let child = children[node << 8 | Int(bytes[position])] {
                node = Int(child)
                if terminal[node] >= 0 { found.insert(Int(terminal[node])) }
                position += 1
            }
        }
        return found.sorted()
    }
}
