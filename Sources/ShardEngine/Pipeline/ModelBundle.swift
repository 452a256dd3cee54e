import ShardTokenizers

/// A model file opened for serving: the parsed GGUF, its hyperparameters and the tokenizer to use with it.
public struct ModelBundle: Sendable {
    /// The parsed, mapped model file.
    public let gguf: GGUFFile
    /// The model's shape.
    public let hyperparameters: LlamaHyperparameters
    /// The tokenizer: a SentencePiece file when one was given, else the vocabulary embedded in the GGUF file.
    public let tokenizer: any Tokenizer

    /// Opens `modelPath`, and `tokenizerPath` when given.
    ///
    /// - Throws: ``EngineError/invalidModel(_:)`` or ``EngineError/tokenizer(_:)``; also when the tokenizer's
    ///   vocabulary size differs from the model's.
    public init(modelPath: String, tokenizerPath: String? = nil) throws(EngineError) {
        do {
            gguf = try GGUFFile(path: modelPath)
            hyperparameters = try LlamaHyperparameters(gguf: gguf)
        } catch { throw .invalidModel(error) }
        do {
            tokenizer = if let tokenizerPath {
                try SentencePieceTokenizer(contentsOf: tokenizerPath)
            } else {
                try Self.embeddedTokenizer(of: gguf)
            }
        } catch { throw .tokenizer(error) }
        guard tokenizer.vocabularySize == hyperparameters.vocabularySize else {
            throw .tokenizer(.invalidVocabulary("the tokenizer has \(tokenizer.vocabularySize) entries but the model "
                + "has \(hyperparameters.vocabularySize)"))
        }
    }

    /// Whether prompts get a beginning-of-sequence token (`tokenizer.ggml.add_bos_token`, default true).
    public var addsBOS: Bool { gguf.metadata["tokenizer.ggml.add_bos_token"]?.boolValue ?? true }
}
