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
    /// Identifies the vocabulary and its segmentation rules, as used on the wire in the `tokenizer` field:
    /// the first 16 hex digits of the SHA-256 of the tokenizer model file, or `utf8-bytes`.
    var fingerprint: String { get }

    /// Tokenizes `text`, prepending the beginning-of-sequence id when `addBOS` is true and the vocabulary has one.
    func encode(_ text: String, addBOS: Bool) -> [TokenID]

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
}
