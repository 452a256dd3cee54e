import Foundation

/// What llama.cpp (llama-cpp-python) produced on one real or generated model: the tokenization of each prompt,
/// greedy continuations, first-step logits, and one full `create_chat_completion` run.
///
/// Recorded by `scripts/reference/make_engine_references.py` into `Fixtures/reference/generation-<name>.json`;
/// the format is described in `Fixtures/reference/README.md`. JSON keys are the snake_case forms of the
/// property names. Token ids are `Int32` like the engine's `TokenID`.
public struct GenerationReference: Codable, Sendable {
    /// `"shard.generation-reference.v1"`.
    public var format: String
    /// `"llama-cpp-python 0.3.36"`.
    public var generator: String
    /// The reference's name: the `<name>` of `generation-<name>.json`.
    public var name: String
    /// File name of the model in the model cache (see `RealModels`).
    public var model: String
    public var modelSha256: String
    /// The shell command that fetches or makes the model file.
    public var modelCommand: String
    /// `general.architecture`: `llama`, `gemma3`, `qwen2`.
    public var architecture: String
    public var nVocab: Int
    /// Whether llama.cpp adds BOS to plain prompts (the model's `tokenizer.ggml.add_bos_token`, else its default).
    public var addBos: Bool
    public var bosTokenId: Int32
    /// Every token llama.cpp treats as end of generation (`llama_vocab_is_eog`).
    public var eogTokenIds: [Int32]
    public var settings: Settings
    /// The chat template the chat cases were rendered with; nil for models without one.
    public var chatTemplate: ChatTemplate?
    public var cases: [Case]
    /// One conversation through llama-cpp-python's `create_chat_completion`; nil for models without a template.
    public var chatCompletion: ChatCompletion?

    public struct Settings: Codable, Sendable {
        public var nCtx: Int
        public var nBatch: Int
        public var nThreads: Int
        /// `"f32"`: llama.cpp's KV cache was F32 (its default is F16).
        public var kvCache: String
        public var flashAttn: Bool
        public var temperature: Float
        public var repeatPenalty: Float
        public var maxNewTokens: Int
    }

    public struct ChatTemplate: Codable, Sendable {
        /// Where the text comes from: `"gguf tokenizer.chat_template"`, or the official Gemma 3 template.
        public var source: String
        public var text: String
    }

    public struct Message: Codable, Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    public enum Kind: String, Codable, Sendable {
        /// A plain prompt, tokenized with `add_bos` as the model says and special tokens parsed.
        case text
        /// `messages` rendered with the chat template (add_generation_prompt), tokenized as
        /// `create_chat_completion` does: special tokens parsed, no BOS added (the template writes it).
        case chat
    }

    public enum StopReason: String, Codable, Sendable {
        /// The last greedy token is an end-of-generation token.
        case eog
        /// `maxNewTokens` tokens were generated.
        case length
    }

    public struct TopLogit: Codable, Sendable {
        public var tokenId: Int32
        public var logit: Float
    }

    public struct Case: Codable, Sendable {
        public var name: String
        public var kind: Kind
        /// The chat messages of a `.chat` case; nil for `.text`.
        public var messages: [Message]?
        /// The exact text that was tokenized (for chat cases: the rendered template).
        public var prompt: String
        public var promptTokenIds: [Int32]
        /// Greedy (argmax of the raw logits) continuation, at most `maxNewTokens` ids; when `stopReason` is `.eog`
        /// the last id is the end-of-generation token.
        public var greedyTokenIds: [Int32]
        /// llama.cpp's detokenization of `greedyTokenIds` (special tokens not rendered).
        public var greedyText: String
        public var stopReason: StopReason
        /// Per greedy step: the best logit minus the second best. A tiny margin means a near tie, where a
        /// different summation order may legitimately pick the other token.
        public var greedyMargins: [Float]
        /// The ten largest logits after the prompt, largest first.
        public var firstStepTop10: [TopLogit]
        /// The same run with the prompt evaluated one token at a time.
        public var stepwise: Stepwise
    }

    /// Greedy decoding with the prompt evaluated one token at a time, so that llama.cpp computes every position
    /// with its single-token (decode) kernels. llama.cpp computes a batch of prompt tokens with other kernels
    /// (repacked gemm, its tiled K-quant matmul from 8 rows, sgemm attention) whose last bits can differ; the engine
    /// computes every row the single-token way, whatever the batch.
    public struct Stepwise: Codable, Sendable {
        public var greedyTokenIds: [Int32]
        public var greedyMargins: [Float]
        public var firstStepTop10: [TopLogit]
    }

    public struct ChatCompletion: Codable, Sendable {
        public var messages: [Message]
        /// The prompt create_chat_completion rendered and the ids it evaluated.
        public var prompt: String
        public var promptTokenIds: [Int32]
        /// `choices[0].message.content`.
        public var replyText: String
        /// The token ids llama.cpp sampled for the reply (recorded from `Llama.generate`), including a final
        /// end-of-generation token when it stopped on one.
        public var replyTokenIds: [Int32]
        /// `"stop"` or `"length"`.
        public var finishReason: String
        public var maxTokens: Int
        public var temperature: Float
    }
}

extension GenerationReference {
    /// `Fixtures/reference` in the checkout.
    public static var directory: URL {
        ExecutableRunner.repositoryRoot.appendingPathComponent("Fixtures/reference", isDirectory: true)
    }

    /// The names of every committed generation reference (`generation-<name>.json`), sorted.
    public static func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasPrefix("generation-") && $0.hasSuffix(".json") }
            .map { String($0.dropFirst("generation-".count).dropLast(".json".count)) }
            .sorted()
    }

    /// Loads `Fixtures/reference/generation-<name>.json`.
    public static func load(_ name: String) throws -> GenerationReference {
        let url = directory.appendingPathComponent("generation-\(name).json")
        return try decode(Data(contentsOf: url))
    }

    public static func decode(_ data: Data) throws -> GenerationReference {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(GenerationReference.self, from: data)
    }

    /// The model file this reference was recorded from, after checking its SHA-256 (see `RealModels`).
    public func modelPath() throws -> String {
        try RealModels.path(for: self)
    }
}
