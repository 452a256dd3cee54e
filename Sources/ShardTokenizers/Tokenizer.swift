/// A token id in a model's vocabulary.
public typealias TokenID = Int32

/// Turns text into token ids and back.
///
/// Implementations are immutable after creation and safe to share between tasks.
public protocol Tokenizer: Sendable {
    /// Number of entries in the vocabulary; valid ids are `0 ..< vocabularySize`.
    var vocabularySize: Int { get }
    /// The beginning-of-sequence id, when the vocabulary has one.
    var bosTokenID: TokenID? { get }
    /// The end-of-sequence id, when the vocabulary has one.
    var eosTokenID: TokenID? { get }
    /// Ids that end generation: EOS, and for GGUF vocabularies also end-of-turn and end-of-message tokens
    /// (`<|im_end|>`, `<|eot_id|>`, `<end_of_turn>` ...) as llama.cpp computes them. Defaults to `[eos]`.
    var endOfGenerationIDs: Set<TokenID> { get }
    /// Identifies the vocabulary and its segmentation rules, as used on the wire in the `tokenizer` field:
    /// the first 16 hex digits of the SHA-256 of the tokenizer model file (or of a GGUF vocabulary's serialized
    /// form), or `utf8-bytes`.
    var fingerprint: String { get }

    /// Tokenizes `text`, prepending the beginning-of-sequence id when `addBOS` is true and the vocabulary has one.
    ///
    /// GGUF vocabularies treat `addBOS` as llama.cpp's `add_special` (BOS and EOS as the file asks) and parse
    /// special-token text, as ``encode(_:addBOS:parseSpecial:)`` with `parseSpecial: true`.
    func encode(_ text: String, addBOS: Bool) -> [TokenID]

    /// Tokenizes `text`; with `parseSpecial`, control-token text such as `<|im_start|>` becomes that single token
    /// (llama.cpp's `parse_special`), otherwise it is tokenized as plain text. User-defined tokens always match.
    /// Tokenizers without special tokens ignore `parseSpecial`.
    func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [TokenID]

    /// Decodes ids into text. Control ids (BOS, EOS) decode to nothing; invalid UTF-8 becomes U+FFFD.
    ///
    /// - Throws: ``TokenizerError/tokenOutOfRange(_:vocabularySize:)`` for an id outside the vocabulary.
    func decode(_ ids: [TokenID]) throws(TokenizerError) -> String
}

extension Tokenizer {
    /// Checks that every id is inside the vocabulary.
    ///
    /// - Throws: ``TokenizerError/tokenOutOfRange(_:vocabularySize:)`` naming the first bad id.
    public func validate(_ ids: some Sequence<TokenID>) throws(TokenizerError) {
        for id in ids where id < 0 || Int(id) >= vocabularySize {
            throw .tokenOutOfRange(id, vocabularySize: vocabularySize)
        }
    }

    /// The EOS id alone, for tokenizers that know no other end-of-generation token.
    public var endOfGenerationIDs: Set<TokenID> { eosTokenID.map { [$0] } ?? [] }

    /// Tokenizes with ``encode(_:addBOS:)``: for tokenizers that have no special-token text to parse.
    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [TokenID] {
        encode(text, addBOS: addBOS)
    }
}

/// A tokenizer built from a ``GGUFVocabulary``: it can hand out that vocabulary so a client rebuilds it.
public protocol GGUFVocabularyTokenizer: Tokenizer {
    /// The vocabulary the tokenizer was built from.
    var vocabulary: GGUFVocabulary { get }
}
