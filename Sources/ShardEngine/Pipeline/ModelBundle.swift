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

    /// Builds the tokenizer described by the `tokenizer.ggml.*` keys (SentencePiece-style `llama` vocabularies).
    ///
    /// - Throws: ``TokenizerError/invalidVocabulary(_:)`` when the keys are missing or of another kind.
    public static func embeddedTokenizer(of gguf: GGUFFile) throws(TokenizerError) -> VocabularyTokenizer {
        let metadata = gguf.metadata
        let kind = metadata["tokenizer.ggml.model"]?.stringValue
        guard kind == "llama" else {
            throw .invalidVocabulary("tokenizer.ggml.model is \(kind ?? "missing"); only llama (SentencePiece) is supported")
        }
        guard let pieces = metadata["tokenizer.ggml.tokens"]?.arrayValue?.compactMap(\.stringValue) else {
            throw .invalidVocabulary("tokenizer.ggml.tokens is missing")
        }
        let count = pieces.count
        let scores = metadata["tokenizer.ggml.scores"]?.arrayValue?.compactMap { $0.doubleValue.map(Float.init) }
            ?? Array(repeating: 0, count: count)
        let kinds = metadata["tokenizer.ggml.token_type"]?.arrayValue?.compactMap { $0.intValue.map(Int32.init) }
            ?? Array(repeating: 1, count: count)
        func id(_ key: String) -> TokenID? { metadata["tokenizer.ggml.\(key)"]?.intValue.map(TokenID.init) }
        return try VocabularyTokenizer(
            pieces: pieces, scores: scores, kinds: kinds, bosTokenID: id("bos_token_id"),
            eosTokenID: id("eos_token_id"), unknownTokenID: id("unknown_token_id"),
            addSpacePrefix: metadata["tokenizer.ggml.add_space_prefix"]?.boolValue ?? true)
    }

    /// Whether prompts get a beginning-of-sequence token (`tokenizer.ggml.add_bos_token`, default true).
    public var addsBOS: Bool { gguf.metadata["tokenizer.ggml.add_bos_token"]?.boolValue ?? true }
}
