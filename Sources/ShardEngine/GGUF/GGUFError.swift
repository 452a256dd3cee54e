/// Why a GGUF file was rejected. Every case names the problem; reading never crashes or reads out of bounds.
public enum GGUFError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or mapped.
    case unreadable(path: String, reason: String)
    /// The first four bytes are not `GGUF`.
    case badMagic
    /// A version other than 2 or 3.
    case unsupportedVersion(UInt32)
    /// The file ends before a structure it declares.
    case truncated(String)
    /// A count, length or dimension is impossibly large for the file.
    case absurdValue(String)
    /// A metadata value type code that GGUF does not define.
    case unknownValueType(UInt32)
    /// A tensor type code this reader does not know.
    case unknownTensorType(name: String, code: UInt32)
    /// A tensor's data lies outside the file or is misaligned.
    case tensorOutOfBounds(String)
    /// Two tensors share a name.
    case duplicateTensor(String)
    /// A metadata key the model needs is absent or has the wrong type.
    case missingMetadata(String)
    /// `general.architecture` is not `llama`.
    case unsupportedArchitecture(String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "cannot read GGUF file \(path): \(reason)"
        case .badMagic: "not a GGUF file (bad magic)"
        case let .unsupportedVersion(version): "unsupported GGUF version \(version) (2 and 3 are supported)"
        case let .truncated(what): "truncated GGUF file: \(what)"
        case let .absurdValue(what): "invalid GGUF file: \(what)"
        case let .unknownValueType(code): "invalid GGUF file: unknown metadata value type \(code)"
        case let .unknownTensorType(name, code): "tensor \(name) has unknown type code \(code)"
        case let .tensorOutOfBounds(what): "invalid GGUF file: \(what)"
        case let .duplicateTensor(name): "invalid GGUF file: duplicate tensor \(name)"
        case let .missingMetadata(key): "GGUF metadata \(key) is missing or has the wrong type"
        case let .unsupportedArchitecture(name): "unsupported architecture \(name): only llama is supported"
        }
    }
}
