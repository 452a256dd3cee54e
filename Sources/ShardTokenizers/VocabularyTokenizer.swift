/// A SentencePiece-style (BPE with byte fallback) tokenizer built from a vocabulary held in memory,
/// such as the `tokenizer.ggml.*` arrays of a GGUF file.
///
/// Segmentation follows llama.cpp's `llm_tokenizer_spm`: spaces become `▁`, an optional leading space is added,
/// adjacent symbols merge greedily by the highest piece score (leftmost first on ties), and characters that are
/// not in the vocabulary fall back to `<0xAB>` byte pieces.
public struct VocabularyTokenizer: Tokenizer {
    /// The kind of each vocabulary entry, with the values GGUF uses in `tokenizer.ggml.token_type`.
    public enum PieceKind: Int32, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    private let pieces: [[UInt8]]
    private let scores: [Float]
    private let kinds: [PieceKind]
    private let idByPiece: [[UInt8]: TokenID]
    private let idByByte: [TokenID?]
    private let unknownTokenID: TokenID?
    private let addSpacePrefix: Bool
    /// The `<s>` id, when the vocabulary has one.
    public let bosTokenID: TokenID?
    /// The `</s>` id, when the vocabulary has one.
    public let eosTokenID: TokenID?
    /// Identifies the vocabulary (see ``Tokenizer/fingerprint``).
    public let fingerprint: String
    public var vocabularySize: Int { pieces.count }

    /// Creates a tokenizer from parallel arrays of pieces, scores and kinds (raw GGUF token types).
    ///
    /// - Throws: ``TokenizerError/invalidVocabulary(_:)`` when the arrays disagree in length, are empty, or the
    ///   special ids are out of range.
    public init(pieces: [String], scores: [Float], kinds: [Int32], bosTokenID: TokenID?, eosTokenID: TokenID?,
                unknownTokenID: TokenID?, addSpacePrefix: Bool) throws(TokenizerError) {
        guard !pieces.isEmpty else { throw .invalidVocabulary("the vocabulary is empty") }
        guard scores.count == pieces.count, kinds.count == pieces.count else {
            throw .invalidVocabulary("\(pieces.count) pieces but \(scores.count) scores and \(kinds.count) types")
        }
        for (name, id) in [("bos", bosTokenID), ("eos", eosTokenID), ("unknown", unknownTokenID)] {
            if let id, id < 0 || Int(id) >= pieces.count {
                throw .invalidVocabulary("\(name) token id \(id) is outside the vocabulary of \(pieces.count)")
            }
        }
        self.pieces = pieces.map { Array($0.utf8) }
        self.scores = scores
        self.kinds = kinds.map { PieceKind(rawValue: $0) ?? .normal }
        var idByPiece: [[UInt8]: TokenID] = [:]
        var idByByte = [TokenID?](repeating: nil, count: 256)
        for (index, piece) in pieces.enumerated() {
            idByPiece[Array(piece.utf8)] = idByPiece[Array(piece.utf8)] ?? TokenID(index)
            if self.kinds[index] == .byte, let byte = Self.byteValue(ofPiece: piece) {
                idByByte[Int(byte)] = TokenID(index)
            }
        }
        self.idByPiece = idByPiece
        self.idByByte = idByByte
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.unknownTokenID = unknownTokenID
        self.addSpacePrefix = addSpacePrefix
        var digest: [UInt8] = []
        for (index, piece) in pieces.enumerated() {
            digest += Array(piece.utf8) + [0] + Array(String(scores[index]).utf8) + [0, UInt8(truncatingIfNeeded: kinds[index])]
        }
        self.fingerprint = "vocab-" + Fingerprint.short(digest)
    }

    /// Parses `<0xAB>` into the byte it stands for.
    static func byteValue(ofPiece piece: String) -> UInt8? {
        guard piece.count == 6, piece.hasPrefix("<0x"), piece.hasSuffix(">") else { return nil }
        return UInt8(piece.dropFirst(3).prefix(2), radix: 16)
    }

    public func encode(_ text: String, addBOS: Bool) -> [TokenID] {
        var output: [TokenID] = []
        if addBOS, let bos = bosTokenID { output.append(bos) }
        guard !text.isEmpty else { return output }
        var bytes: [UInt8] = []
        for byte in ((addSpacePrefix ? " " : "") + text).utf8 {
            if byte == 0x20 { bytes += [0xE2, 0x96, 0x81] } else { bytes.append(byte) }
        }
        var merger = SymbolMerger(bytes: bytes, tokenizer: self)
        merger.mergeAll()
        for symbol in merger.finalSymbols() {
            resegment(symbol, merger: merger, into: &output)
        }
        return output
    }

    func lookup(_ bytes: ArraySlice<UInt8>) -> TokenID? { idByPiece[Array(bytes)] }
    func score(of id: TokenID) -> Float { scores[Int(id)] }

    private func resegment(_ range: Range<Int>, merger: SymbolMerger, into output: inout [TokenID]) {
        let text = merger.bytes[range]
        if let id = lookup(text) {
            output.append(id)
        } else if let split = merger.reverseMerges[Array(text)] {
            resegment(split.0, merger: merger, into: &output)
            resegment(split.1, merger: merger, into: &output)
        } else {
            for byte in text {
                if let id = idByByte[Int(byte)] ?? unknownTokenID { output.append(id) }
            }
        }
    }

    public func decode(_ ids: [TokenID]) throws(TokenizerError) -> String {
        try validate(ids)
        var bytes: [UInt8] = []
        for id in ids {
            let index = Int(id)
            switch kinds[index] {
            case .control, .unused: continue
            case .byte:
                if let value = Self.byteValue(ofPiece: String(decoding: pieces[index], as: UTF8.self)) {
                    bytes.append(value)
                }
            case .unknown:
                bytes += Array(" \u{2047} ".utf8)
            case .normal, .userDefined:
                var piece = pieces[index][...]
                while let range = piece.firstRange(of: [0xE2, 0x96, 0x81]) {
                    bytes += piece[..<range.lowerBound]
                    bytes.append(0x20)
                    piece = piece[range.upperBound...]
                }
                bytes += piece
            }
        }
        if addSpacePrefix, bytes.first == 0x20 { bytes.removeFirst() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
