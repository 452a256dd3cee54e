/// The fallback tokenizer: one token per UTF-8 byte, ids `0 ... 255`, no control tokens.
///
/// A client that has no copy of the model's tokenizer sends these ids together with the prompt text;
/// the sidecar then re-tokenizes the text with the model's own tokenizer.
public struct UTF8ByteTokenizer: Tokenizer {
    /// Creates the byte tokenizer.
    public init() {}

    public var vocabularySize: Int { 256 }
    public var bosTokenID: TokenID? { nil }
    public var eosTokenID: TokenID? { nil }
    /// Always `utf8-bytes`.
    public var fingerprint: String { "utf8-bytes" }

    public func encode(_ text: String, addBOS: Bool) -> [TokenID] {
        text.utf8.map { TokenID($0) }
    }

    public func decode(_ ids: [TokenID]) throws(TokenizerError) -> String {
        try validate(ids)
        return String(decoding: ids.map { UInt8($0) }, as: UTF8.self)
    }
}
