import ShardProtocol

/// How tokens are chosen (temperature, `top_k`, `top_p`, seed, `min_tokens`); the default is greedy decoding. The
/// same type the sidecar, the engine and the CLI use, checked by the same validator before a request is sent.
public typealias Sampling = ShardProtocol.Sampling

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
