import ShardTokenizers

/// Why the engine refused a model, a layer range or a batch. A refused batch changes no state.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The model file is invalid.
    case invalidModel(GGUFError)
    /// A tensor the model needs is absent or has the wrong shape.
    case tensorShape(name: String, expected: [Int], found: [Int]?)
    /// A tensor type the engine cannot compute with.
    case unsupportedTensorType(name: String, type: GGMLType)
    /// A layer range that is empty or outside `0 ..< blockCount`.
    case invalidLayerRange(Range<Int>, blockCount: Int)
    /// The batch is malformed (wrong input kind for this stage, shapes that do not add up).
    case invalidBatch(String)
    /// A token id outside the vocabulary.
    case tokenOutOfRange(TokenID, vocabularySize: Int)
    /// A slice does not continue its sequence where the cache ends.
    case positionMismatch(sequence: SequenceID, expected: Int, got: Int)
    /// A sequence would grow past the model's context length.
    case contextOverflow(sequence: SequenceID, length: Int, contextLength: Int)
    /// The tokenizer could not be built or used.
    case tokenizer(TokenizerError)

    public var description: String {
        switch self {
        case let .invalidModel(error): error.description
        case let .tensorShape(name, expected, found):
            "tensor \(name): expected shape \(expected), found \(found.map { "\($0)" } ?? "nothing")"
        case let .unsupportedTensorType(name, type): "tensor \(name) has type \(type), which the engine cannot use"
        case let .invalidLayerRange(range, count): "layer range \(range) is not inside 0..<\(count)"
        case let .invalidBatch(reason): "invalid batch: \(reason)"
        case let .tokenOutOfRange(id, size): "token id \(id) is outside the vocabulary (0..<\(size))"
        case let .positionMismatch(sequence, expected, got):
            "sequence \(sequence) continues at position \(got) but its cache holds \(expected) positions"
        case let .contextOverflow(sequence, length, context):
            "sequence \(sequence) would reach \(length) tokens, past the context length \(context)"
        case let .tokenizer(error): error.description
        }
    }
}
