/// How tokens are chosen. The default is greedy decoding.
public struct Sampling: Sendable, Equatable {
    /// Softmax temperature, 0...100; 0 picks the most likely token.
    public var temperature: Double
    /// Sample among the `topK` most likely tokens; 0 disables.
    public var topK: Int
    /// Sample among the most likely tokens whose probabilities add up to `topP`, in (0, 1]; 1 disables.
    public var topP: Double
    /// Seed: the same seed and request give the same tokens.
    public var seed: UInt64?
    /// End-of-sequence is suppressed until this many tokens exist.
    public var minTokens: Int

    /// Creates sampling settings.
    public init(temperature: Double = 0, topK: Int = 0, topP: Double = 1, seed: UInt64? = nil, minTokens: Int = 1) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.minTokens = minTokens
    }

    /// Greedy decoding.
    public static let greedy = Sampling()
}

/// How the SDK reaches the sidecar.
public enum Transport: String, Sendable, CaseIterable {
    /// `POST /broadcast-work`, then long-polls of `GET /pop-result` over one reused libcurl connection.
    case httpPolling = "http-poll"
    /// One `/ws/generate` WebSocket per stream (libwebsockets).
    case webSocket = "websocket"
}

/// Which tokenizer the SDK uses to send `input_token_ids`.
public enum TokenizerChoice: Sendable, Equatable {
    /// Download the model's tokenizer from the sidecar — its SentencePiece file, or the vocabulary embedded in its
    /// GGUF file (tokenized exactly as llama.cpp and the sidecar do) — cached locally by fingerprint; UTF-8 bytes
    /// when the sidecar offers neither.
    case automatic
    /// A SentencePiece `.model` file on disk.
    case sentencePiece(path: String)
    /// One id per UTF-8 byte; the sidecar re-tokenizes the prompt text with the model's tokenizer.
    case utf8Bytes
}
