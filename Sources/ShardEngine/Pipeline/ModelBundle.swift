import Foundation
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
    /// `progress`, when given, hears about the load as it happens (see ``ModelLoadProgress``); the file's pages
    /// are then read into memory before the call returns.
    ///
    /// - Throws: ``EngineError/invalidModel(_:)`` or ``EngineError/tokenizer(_:)``; also when the tokenizer's
    ///   vocabulary size differs from the model's.
    public init(modelPath: String, tokenizerPath: String? = nil,
                progress: ((ModelLoadProgress) -> Void)? = nil) throws(EngineError) {
        let started = Date()
        do {
            gguf = try GGUFFile(path: modelPath)
            hyperparameters = try LlamaHyperparameters(gguf: gguf)
        } catch { throw .invalidModel(error) }
        if let progress {
            progress(.opened(path: modelPath, bytes: gguf.mapping.bytes.count, tensors: gguf.tensors.count))
            gguf.readIntoMemory { done, total in progress(.reading(done: done, total: total)) }
        }
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
        progress?(.ready(seconds: Date().timeIntervalSince(started)))
    }

    /// Whether prompts get a beginning-of-sequence token (`tokenizer.ggml.add_bos_token`, default true).
    public var addsBOS: Bool { gguf.metadata["tokenizer.ggml.add_bos_token"]?.boolValue ?? true }
}
