/// Byte-level BPE for GGUF `gpt2` vocabularies, tokenizing exactly as llama.cpp's `llm_tokenizer_bpe`.
///
/// Text is cut around special tokens, split into words by the file's ``PreTokenizer``, and each word's bytes are
/// merged pairwise by merge rank (lowest first, leftmost on ties). Work is on bytes and integer symbol ids:
/// every token text, merge part and merge result is interned once when the tokenizer is built.
public struct BytePairTokenizer: GGUFVocabularyTokenizer {
    /// The vocabulary the tokenizer was built from.
    public let vocabulary: GGUFVocabulary
    /// Identifies the vocabulary: the first 16 hex digits of the SHA-256 of its serialized form.
    public let fingerprint: String
    /// Ids that end generation, as llama.cpp computes them.
    public let endOfGenerationIDs: Set<TokenID>
    let attributes: TokenAttributes
    let partitioner: SpecialTokenPartitioner
    let preTokenizer: PreTokenizer
    let ignoreMerges: Bool
    let table: MergeTable
    /// What each id decodes to.
    let decoded: [[UInt8]]

    /// Number of tokens in the vocabulary.
    public var vocabularySize: Int { vocabulary.tokens.count }
    /// The beginning-of-sequence id (`tokenizer.ggml.bos_token_id` or llama.cpp's default).
    public var bosTokenID: TokenID? { vocabulary.specialIDs.bos }
    /// The end-of-sequence id (`tokenizer.ggml.eos_token_id` or llama.cpp's default).
    public var eosTokenID: TokenID? { vocabulary.specialIDs.eos }

    /// Builds the tokenizer.
    ///
    /// - Throws: ``TokenizerError/unsupportedVocabulary(_:)`` when the vocabulary is not byte-level BPE or its
    ///   pre-tokenizer is unknown.
    public init(vocabulary: GGUFVocabulary) throws(TokenizerError) {
        guard vocabulary.model == .bytePairEncoding,
              let settings = PreTokenizer.settings(forGGUFName: vocabulary.pre) else {
            throw .unsupportedVocabulary("not a byte-level BPE vocabulary with a supported pre-tokenizer")
        }
        self.vocabulary = vocabulary
        self.fingerprint = vocabulary.fingerprint
        preTokenizer = settings.0
        ignoreMerges = settings.ignoreMerges
        let ids = vocabulary.specialIDs
        attributes = TokenAttributes(texts: vocabulary.tokens, types: vocabulary.types, eos: ids.eos, eot: ids.eot,
                                     eom: ids.eom)
        endOfGenerationIDs = attributes.endOfGeneration
        partitioner = SpecialTokenPartitioner(texts: vocabulary.tokens, kinds: attributes.kinds)
        table = MergeTable(tokens: vocabulary.tokens, merges: vocabulary.merges)
        decoded = zip(vocabulary.tokens, attributes.kinds).map { text, kind in Self.decodedBytes(text, kind) }
    }

    /// What a token contributes to decoded text (llama.cpp `token_to_piece` without special tokens).
    private static func decodedBytes(_ text: String, _ kind: TokenAttributes.Kind) -> [UInt8] {
        if !kind.isDisjoint(with: [.control, .unknown]) { return [] }
        if kind.contains(.userDefined) { return Array(text.utf8) }
        if kind.contains(.normal) {
            var bytes: [UInt8] = []
            for scalar in text.unicodeScalars {
                if let byte = ByteLevelMapping.byte(of: scalar.value) { bytes.append(byte) } else {
                    bytes += Array(String(scalar).utf8)
                }
            }
            return bytes
        }
        if kind.contains(.byte), let byte = VocabularyTokenizer.byteValue(ofPiece: text) { return [byte] }
        return []
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
        for fragment in partitioner.partition(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case let .token(id): output.append(id)
            case let .text(range): encodeText(bytes[range], into: &output)
            }
        }
        if addBOS, vocabulary.addEOS, let eos = eosTokenID { output.append(eos) }
        return output
    }

    /// Pre-tokenizes raw text (no special tokens) and merges each word.
    private func encodeText(_ bytes: ArraySlice<UInt8>, into output: inout [TokenID]) {
        let scalars = String(decoding: bytes, as: UTF8.self).unicodeScalars
        let codepoints = scalars.map(\.value)
        var wordStart = bytes.startIndex, index = 0
        for length in preTokenizer.split(codepoints) {
            var byteCount = 0
            for codepoint in codepoints[index ..< index + length] { byteCount += Self.utf8Length(codepoint) }
            let wordEnd = min(wordStart + byteCount, bytes.endIndex)
            table.encodeWord(bytes[wordStart ..< wordEnd], ignoreMerges: ignoreMerges, into: &output)
            index += length
            wordStart = wordEnd
        }
    }

    private static func utf8Length(_ codepoint: UInt32) -> Int {
        codepoint < 0x80 ? 1 : codepoint < 0x800 ? 2 : codepoint < 0x10000 ? 3 : 4
    }

    /// Concatenates the pieces of `ids` (control and unknown tokens add nothing), as llama.cpp's `token_to_piece`.
    ///
    /// - Throws: ``TokenizerError/tokenOutOfRange(_:vocabularySize:)`` for an id outside the vocabulary.
    public func decode(_ ids: [TokenID]) throws(TokenizerError) -> String {
        try validate(ids)
        var bytes: [UInt8] = []
        for id in ids { bytes += decoded[Int(id)] }
        return String(decoding: bytes, as: UTF8.self)
    }
}
