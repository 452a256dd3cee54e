/// Server-side limits a request is checked against. All configurable on the sidecar's command line.
public struct RequestLimits: Sendable, Equatable {
    /// Highest `max_new_tokens` accepted.
    public var maxNewTokensCap: Int
    /// Most stop strings per request.
    public var maxStopStrings: Int
    /// Longest stop string, in bytes.
    public var maxStopStringBytes: Int
    /// Most chat messages per request.
    public var maxMessages: Int

    /// Creates limits; the defaults are PROTOCOL.md's.
    public init(maxNewTokensCap: Int = 4096, maxStopStrings: Int = 16, maxStopStringBytes: Int = 256,
                maxMessages: Int = 1024) {
        self.maxMessages = maxMessages
        self.maxNewTokensCap = maxNewTokensCap
        self.maxStopStrings = maxStopStrings
        self.maxStopStringBytes = maxStopStringBytes
    }
}

extension GenerationRequest {
    /// Checks the values against the protocol's ranges and `limits` (everything but prompt resolution, which needs
    /// the model).
    ///
    /// - Throws: ``ProtocolError`` (400) naming the first bad field.
    public func validate(limits: RequestLimits) throws(ProtocolError) {
        let hasPrompt = !(prompt ?? "").isEmpty
        let hasIDs = !(inputTokenIDs ?? []).isEmpty
        if let messages {
            guard !hasPrompt, !hasIDs else {
                throw .invalid("messages", "send either messages or a prompt (prompt_context, prompt, input_token_ids)")
            }
            guard !messages.isEmpty else { throw .invalid("messages", "messages is empty") }
            guard messages.count <= limits.maxMessages else {
                throw .invalid("messages", "at most \(limits.maxMessages) messages")
            }
        } else if !hasPrompt && !hasIDs {
            throw .invalid("prompt", "the prompt is empty: send prompt_context (or prompt), messages or input_token_ids")
        }
        guard (1 ... limits.maxNewTokensCap).contains(maxNewTokens) else {
            throw .invalid("max_new_tokens", "max_new_tokens must be in 1...\(limits.maxNewTokensCap)")
        }
        guard (0 ... maxNewTokens).contains(minTokens) else {
            throw .invalid("min_tokens", "min_tokens must be in 0...max_new_tokens (\(maxNewTokens))")
        }
        try sampling.validate()
        // JSON integers are read as Int64.
        guard (seed ?? 0) <= UInt64(Int64.max) else { throw .invalid("seed", "seed must be in 0...\(Int64.max)") }
        guard stop.count <= limits.maxStopStrings else {
            throw .invalid("stop", "at most \(limits.maxStopStrings) stop strings")
        }
        guard stop.allSatisfy({ !$0.isEmpty && $0.utf8.count <= limits.maxStopStringBytes }) else {
            throw .invalid("stop", "stop strings must be 1-\(limits.maxStopStringBytes) bytes")
        }
        if let tokenizer, tokenizer != "utf8-bytes", !tokenizer.hasPrefix("sentencepiece:"),
           !tokenizer.hasPrefix("gguf-vocab:") {
            throw .invalid("tokenizer", "tokenizer must be utf8-bytes, sentencepiece:<fingerprint> or gguf-vocab:<fingerprint>")
        }
    }
}
