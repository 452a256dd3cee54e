/// A SentencePiece-style (BPE with byte fallback) tokenizer for GGUF `llama` vocabularies, tokenizing exactly as
/// llama.cpp's `llm_tokenizer_spm`.
///
/// Text is first cut around special tokens (control tokens with `parseSpecial`, user-defined tokens always).
/// Each remaining fragment gets a leading space when the vocabulary asks for one and the fragment starts the text
/// or follows a special token; spaces become `▁`; adjacent symbols merge greedily by the highest piece score
/// (leftmost first on ties); characters that are not in the vocabulary fall back to `<0xAB>` byte pieces.
public struct VocabularyTokenizer: GGUFVocabularyTokenizer {
    /// The vocabulary the tokenizer was built from.
    public let vocabulary: GGUFVocabulary
    /// Identifies the vocabulary: the first 16 hex digits of the SHA-256 of its serialized form.
    public let fingerprint: String
    /// Ids that end generation, as llama.cpp computes them.
    public let endOfGenerationIDs: Set<TokenID>
    private let pieces: [[UInt8]]
    private let kinds: [TokenAttributes.Kind]
    private let idByPiece: [[UInt8]: TokenID]
    private let idByByte: [TokenID?]
    private let partitioner: SpecialTokenPartitioner

    /// Number of tokens in the vocabulary.
    public var vocabularySize: Int { pieces.count }
    /// The beginning-of-sequence id (`tokenizer.ggml.bos_token_id` or llama.cpp's default).
    public var bosTokenID: TokenID? { vocabulary.specialIDs.bos }
    /// The end-of-sequence id (`tokenizer.ggml.eos_token_id` or llama.cpp's default).
    public var eosTokenID: TokenID? { vocabulary.specialIDs.eos }

    /// Builds the tokenizer.
    ///
    /// - Throws: ``TokenizerError/unsupportedVocabulary(_:)`` when the vocabulary is not SentencePiece.
    public init(vocabulary: GGUFVocabulary) throws(TokenizerError) {
        guard vocabulary.model == .sentencePiece else {
            throw .unsupportedVocabulary("not a SentencePiece (llama) vocabulary")
        }
        self.vocabulary = vocabulary
        self.fingerprint = vocabulary.fingerprint
        let ids = vocabulary.specialIDs
        let attributes = TokenAttributes(texts: vocabulary.tokens, types: vocabulary.types, eos: ids.eos,
                                         eot: ids.eot, eom: ids.eom)
        endOfGenerationIDs = attributes.endOfGeneration
        kinds = attributes.kinds
        partitioner = SpecialTokenPartitioner(texts: vocabulary.tokens, kinds: attributes.kinds)
        pieces = vocabulary.tokens.map { Array($0.utf8) }
        var idByPiece: [[UInt8]: TokenID] = [:]
        idByPiece.reserveCapacity(pieces.count)
        var idByByte = [TokenID?](repeating: nil, count: 256)
        for (index, piece) in pieces.enumerated() {
            if idByPiece[piece] == nil { idByPiece[piece] = TokenID(index) }
            if piece.count == 6, let byte = Self.byteValue(ofPiece: vocabulary.tokens[index]),
               idByByte[Int(byte)] == nil { idByByte[Int(byte)] = TokenID(index) }
        }
        // llama.cpp's byte_to_token: `<0xAB>`, else a piece that is the byte itself.
        for byte in 0 ..< 256 where idByByte[byte] == nil { idByByte[byte] = idByPiece[[UInt8(byte)]] }
        self.idByPiece = idByPiece
        self.idByByte = idByByte
    }

    /// Parses `<0xAB>` into the byte it stands for.
    static func byteValue(ofPiece piece: String) -> UInt8? {
        guard piece.utf8.count == 6, piece.hasPrefix("<0x"), piece.hasSuffix(">") else { return nil }
        return UInt8(piece.dropFirst(3).prefix(2), radix: 16)
    }

    /// Tokenizes like llama.cpp's server: `addBOS` adds BOS/EOS as the vocabulary asks, special-token text is parsed.
    public func encode(_ text: String, addBOS: Bool) -> [TokenID] {
        encode(text, addBOS: addBOS, parseSpecial: true)
    }

    /// Tokenizes like llama.cpp's `llama_tokenize(text, add_special: addBOS, parse_special: parseSpecial)`.
    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [TokenID] {
        var output: [TokenID] = []
        if addBOS, vocabulary.addBOS, let bos = bosTokenID { output.append(bos) }
        let bytes = Array(text.utf8)
        var previousIsSpecial = true
        for fragment in partitioner.partition(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case let .token(id):
                output.append(id)
                previousIsSpecial = true
            case let .text(range):
                encodeFragment(bytes[range], spacePrefix: vocabulary.addSpacePrefix && previousIsSpecial,
                               into: &output)
                previousIsSpecial = false
            }
        }
        if addBOS, vocabulary.addEOS, let eos = eosTokenID { output.append(eos) }
        return output
    }

    private func encodeFragment(_ text: ArraySlice<UInt8>, spacePrefix: Bool, into output: inout [TokenID]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count + 8)
        for byte in (spacePrefix ? [0x20] : []) + text {
            if byte == 0x20 { bytes += [0xE2, 0x96, 0x81] } else { bytes.append(byte) }
        }
        var merger = SymbolMerger(bytes: bytes, tokenizer: self)
        merger.mergeAll()
        for symbol in merger.finalSymbols() {
            if let id = lookup(merger.bytes[symbol]) {
                output.append(id)
            } else {
                for byte in merger.bytes[symbol] { if let id = idByByte[Int(byte)] { output.append(id) } }
            }
        }
    }

    func lookup(_ bytes: ArraySlice<UInt8>) -> TokenID? { idByPiece[Array(bytes)] }
    func score(of id: TokenID) -> Float {
        vocabulary.scores.indices.contains(Int(id)) ? vocabulary.scores[Int(id)] : 0
    }

    /// Concatenates the pieces of `ids` (control and unknown tokens add nothing), as llama.cpp's `token_to_piece`.
    ///
    /// - Throws: ``TokenizerError/tokenOutOfRange(_:vocabularySize:)`` for an id outside the vocabulary.
    public func decode(_ ids: [TokenID]) throws(TokenizerError) -> String {
        try validate(ids)
        var bytes: [UInt8] = []
        for id in ids {
            let index = Int(id), kind = kinds[index]
            if !kind.isDisjoint(with: [.control, .unknown]) { continue }
            if kind.contains(.userDefined) {
                bytes += pieces[index]
            } else if kind.contains(.normal) {
                var piece = pieces[index][...]
                while let range = piece.firstRange(of: [0xE2, 0x96, 0x81]) {
                    bytes += piece[..<range.lowerBound]
                    bytes.append(0x20)
                    piece = piece[range.upperBound...]
                }
                bytes += piece
            } else if kind.contains(.byte), let value = Self.byteValue(ofPiece: vocabulary.tokens[index]) {
                bytes.append(value)
            }
        }
        if vocabulary.addSpacePrefix, bytes.first == 0x20 { bytes.removeFirst() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
