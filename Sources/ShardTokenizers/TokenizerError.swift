/// Why a tokenizer could not be loaded or could not process its input.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The tokenizer model file does not exist or cannot be read.
    case fileUnreadable(path: String, reason: String)
    /// The file exists but is not a valid tokenizer model.
    case corruptModel(path: String, reason: String)
    /// A vocabulary given in memory (for example from a GGUF file) is inconsistent.
    case invalidVocabulary(String)
    /// The vocabulary uses a tokenizer model or pre-tokenizer this library does not implement.
    case unsupportedVocabulary(String)
    /// An id is outside `0 ..< vocabularySize`.
    case tokenOutOfRange(TokenID, vocabularySize: Int)
    /// The underlying library failed on valid-looking input.
    case libraryFailure(String)

    public var description: String {
        switch self {
        case let .fileUnreadable(path, reason): "cannot read tokenizer file \(path): \(reason)"
        case let .corruptModel(path, reason): "tokenizer file \(path) is not a valid SentencePiece model: \(reason)"
        case let .invalidVocabulary(reason): "invalid vocabulary: \(reason)"
        case let .unsupportedVocabulary(reason): "unsupported vocabulary: \(reason)"
        case let .tokenOutOfRange(id, size): "token id \(id) is outside the vocabulary (0..<\(size))"
        case let .libraryFailure(reason): "tokenizer library failure: \(reason)"
        }
    }
}
