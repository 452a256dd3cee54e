/// A model's vocabulary as a GGUF file describes it (`tokenizer.ggml.*`), with llama.cpp's defaults applied.
///
/// It is everything needed to tokenize exactly as llama.cpp does, and it travels: a sidecar serves
/// ``serialized()`` and a client rebuilds the same tokenizer with ``init(serialized:)``. Its ``fingerprint``
/// identifies it on the wire (`gguf-vocab:<fingerprint>`).
public struct GGUFVocabulary: Sendable, Equatable {
    /// The tokenizer algorithm (`tokenizer.ggml.model`).
    public enum Model: String, Sendable, CaseIterable {
        /// Byte-level BPE with merges (`gpt2`).
        case bytePairEncoding = "gpt2"
        /// SentencePiece BPE with scores and byte fallback (`llama`).
        case sentencePiece = "llama"
    }

    /// The tokenizer algorithm.
    public let model: Model
    /// `tokenizer.ggml.pre` as written (`smollm`, `llama-bpe`, `qwen2` ...), or `nil` when absent.
    public let pre: String?
    /// The token texts, by id (empty texts are replaced by `[EMPTY_<id>]` as llama.cpp does).
    public let tokens: [String]
    /// Piece scores by id (SentencePiece); empty when the file has none.
    public let scores: [Float]
    /// GGUF token types by id (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte); empty = all normal.
    public let types: [Int32]
    /// BPE merges, highest priority first, as `"left right"` in mapped (`Ġ`) form.
    public let merges: [String]
    /// The special ids of the file, after llama.cpp's defaults.
    public let specialIDs: SpecialIDs
    /// Whether encoding with `addBOS: true` prepends BOS (`tokenizer.ggml.add_bos_token`, or llama.cpp's default).
    public let addBOS: Bool
    /// Whether encoding with `addBOS: true` appends EOS (`tokenizer.ggml.add_eos_token`, default false).
    public let addEOS: Bool
    /// Whether SentencePiece text gets a leading space (`tokenizer.ggml.add_space_prefix`).
    public let addSpacePrefix: Bool

    /// The special token ids a GGUF file names.
    public struct SpecialIDs: Sendable, Equatable {
        /// Beginning of sequence.
        public var bos: TokenID?
        /// End of sequence.
        public var eos: TokenID?
        /// End of turn (`tokenizer.ggml.eot_token_id`).
        public var eot: TokenID?
        /// End of message (`tokenizer.ggml.eom_token_id`).
        public var eom: TokenID?
        /// Unknown piece.
        public var unknown: TokenID?
        /// Padding.
        public var padding: TokenID?

        /// Creates a set of special ids.
        public init(bos: TokenID? = nil, eos: TokenID? = nil, eot: TokenID? = nil, eom: TokenID? = nil,
                    unknown: TokenID? = nil, padding: TokenID? = nil) {
            self.bos = bos; self.eos = eos; self.eot = eot; self.eom = eom; self.unknown = unknown
            self.padding = padding
        }
    }

    /// Creates a vocabulary from the values of a GGUF file's `tokenizer.ggml.*` keys (`nil` = key absent),
    /// applying llama.cpp's defaults: SentencePiece files default to BOS 1, EOS 2, unknown 0, a space prefix and
    /// BOS on; byte-level BPE files to BOS = EOS = 11, no space prefix, BOS off except for Llama 3 style
    /// pre-tokenizers. Ids outside the vocabulary fall back to the default, as in llama.cpp.
    ///
    /// - Throws: ``TokenizerError/unsupportedVocabulary(_:)`` for another model or pre-tokenizer;
    ///   ``TokenizerError/invalidVocabulary(_:)`` when arrays are empty, too short or merges are missing.
    public init(model: String, pre: String?, tokens: [String], scores: [Float]?, types: [Int32]?,
                merges: [String]?, specialIDs given: SpecialIDs, addBOS: Bool?, addEOS: Bool?,
                addSpacePrefix: Bool?) throws(TokenizerError) {
        guard let kind = Model(rawValue: model) else {
            throw .unsupportedVocabulary("tokenizer.ggml.model \(model) is not supported (gpt2 and llama are)")
        }
        guard !tokens.isEmpty else { throw .invalidVocabulary("the vocabulary is empty") }
        if let scores, scores.count < tokens.count {
            throw .invalidVocabulary("\(tokens.count) tokens but \(scores.count) scores")
        }
        if let types, types.count < tokens.count {
            throw .invalidVocabulary("\(tokens.count) tokens but \(types.count) token types")
        }
        var defaults: SpecialIDs
        var defaultAddBOS: Bool
        switch kind {
        case .sentencePiece:
            defaults = SpecialIDs(bos: 1, eos: 2, unknown: 0)
            defaultAddBOS = true
        case .bytePairEncoding:
            guard let settings = PreTokenizer.settings(forGGUFName: pre) else {
                throw .unsupportedVocabulary("tokenizer.ggml.pre \(pre ?? "") is not supported")
            }
            guard merges != nil else { throw .invalidVocabulary("tokenizer.ggml.merges is missing") }
            defaults = SpecialIDs(bos: 11, eos: 11)
            defaultAddBOS = settings.defaultAddBOS ?? false
            if ["chatglm-bpe", "glm4", "glm5"].contains(pre ?? "") { defaults.bos = nil }
        }
        let count = tokens.count
        func pick(_ given: TokenID?, _ fallback: TokenID?) -> TokenID? {
            let inRange: (TokenID?) -> TokenID? = { id in id.flatMap { $0 >= 0 && Int($0) < count ? $0 : nil } }
            return inRange(given) ?? inRange(fallback)
        }
        self.model = kind
        self.pre = pre
        self.tokens = tokens.enumerated().map { $1.isEmpty ? "[EMPTY_\($0)]" : $1 }
        self.scores = scores.map { Array($0.prefix(count)) } ?? []
        self.types = types.map { Array($0.prefix(count)) } ?? []
        self.merges = kind == .bytePairEncoding ? merges ?? [] : []
        self.specialIDs = SpecialIDs(
            bos: pick(given.bos, defaults.bos), eos: pick(given.eos, defaults.eos), eot: pick(given.eot, nil),
            eom: pick(given.eom, nil), unknown: pick(given.unknown, defaults.unknown),
            padding: pick(given.padding, nil))
        self.addBOS = addBOS ?? defaultAddBOS
        self.addEOS = addEOS ?? false
        self.addSpacePrefix = kind == .sentencePiece ? addSpacePrefix ?? true : addSpacePrefix ?? false
    }

    /// Builds the tokenizer this vocabulary describes.
    ///
    /// - Throws: ``TokenizerError/invalidVocabulary(_:)`` when the vocabulary is inconsistent.
    public func makeTokenizer() throws(TokenizerError) -> any GGUFVocabularyTokenizer {
        switch model {
        case .bytePairEncoding: try BytePairTokenizer(vocabulary: self)
        case .sentencePiece: try VocabularyTokenizer(vocabulary: self)
        }
    }
}
