import ShardProtocol
import ShardTokenizers

/// What a request asks the model to continue: prompt text, or a conversation to reply to.
enum PromptInput: Sendable {
    case text(String)
    case chat([ChatMessage])
}

/// A validated generation request, ready to send.
struct GenerationRequestBody: Sendable {
    let requestID: String
    let json: JSONValue

    /// Largest `maxNewTokens` the SDK sends (the sidecar's default cap).
    static let maxNewTokensLimit = 4096

    /// Validates before any I/O and tokenizes prompt text with `tokenizer` (a conversation is sent as `messages`,
    /// which the sidecar renders with the model's chat template).
    init(input: PromptInput, maxNewTokens: Int, sampling: Sampling, stop: [String], model: String,
         tokenizer: any Tokenizer, wireTokenizer: String) throws(ShardClientError) {
        switch input {
        case let .text(prompt):
            guard !prompt.isEmpty else { throw ShardClientError(.invalidRequest, "the prompt is empty") }
        case let .chat(messages):
            guard !messages.isEmpty else { throw ShardClientError(.invalidRequest, "the conversation is empty") }
        }
        guard (1 ... Self.maxNewTokensLimit).contains(maxNewTokens) else {
            throw ShardClientError(.invalidRequest, "maxNewTokens must be in 1...\(Self.maxNewTokensLimit), got \(maxNewTokens)")
        }
        guard sampling.temperature.isFinite, (0 ... 100).contains(sampling.temperature) else {
            throw ShardClientError(.invalidRequest, "temperature must be in 0...100")
        }
        guard sampling.topK >= 0 else { throw ShardClientError(.invalidRequest, "topK must be >= 0") }
        guard sampling.topP.isFinite, sampling.topP > 0, sampling.topP <= 1 else {
            throw ShardClientError(.invalidRequest, "topP must be in (0, 1]")
        }
        guard (0 ... maxNewTokens).contains(sampling.minTokens) else {
            throw ShardClientError(.invalidRequest, "minTokens must be in 0...maxNewTokens")
        }
        guard stop.allSatisfy({ !$0.isEmpty }) else { throw ShardClientError(.invalidRequest, "empty stop string") }
        requestID = RequestID.random(prefix: "sdk").rawValue
        var object: [String: JSONValue] = [
            "request_id": .string(requestID), "max_new_tokens": .int(Int64(maxNewTokens)),
            "min_tokens": .int(Int64(sampling.minTokens)), "model": .string(model),
            "temperature": .double(sampling.temperature), "top_k": .int(Int64(sampling.topK)),
            "top_p": .double(sampling.topP), "stream": .bool(true), "sdk": .string("shard-swift/0.1"),
        ]
        switch input {
        case let .text(prompt):
            object["prompt_context"] = .string(prompt)
            object["prompt"] = .string(prompt)
            object["input_token_ids"] = .array(tokenizer.encode(prompt, addBOS: tokenizer.bosTokenID != nil)
                .map { .int(Int64($0)) })
            object["tokenizer"] = .string(wireTokenizer)
        case let .chat(messages):
            object["messages"] = .array(messages.map(\.json))
        }
        if let seed = sampling.seed { object["seed"] = .int(Int64(bitPattern: seed)) }
        if !stop.isEmpty { object["stop"] = .array(stop.map { .string($0) }) }
        json = .object(object)
    }
}

/// Parses the events of either transport into ``StreamEvent``s.
enum EventDecoder {
    /// A token or final event; `nil` for `{"result": null}`.
    static func decode(_ value: JSONValue, requestID: String) throws(ShardClientError) -> StreamEvent? {
        if value == .null { return nil }
        if let error = value["error"], value["done"] != nil || value["event"]?.stringValue == "error" {
            throw ShardClientError(.serverError, error["message"]?.stringValue ?? "generation failed",
                                   requestID: requestID, serverCode: error["code"]?.stringValue)
        }
        if value["done"] == .bool(true) || value["event"]?.stringValue == "done" {
            guard let reason = value["finish_reason"]?.stringValue.flatMap(Completion.FinishReason.init) else {
                throw ShardClientError(.protocolViolation, "final event without a known finish_reason",
                                       requestID: requestID)
            }
            return .done(Completion(finishReason: reason,
                                    promptTokens: value["usage"]?["prompt_tokens"]?.intValue ?? 0,
                                    completionTokens: value["usage"]?["completion_tokens"]?.intValue ?? 0,
                                    requestID: requestID))
        }
        guard let text = value["token"]?.stringValue, let id = value["token_id"]?.intValue,
              let index = value["index"]?.intValue
        else {
            throw ShardClientError(.protocolViolation, "unexpected event \(value.encodedString().prefix(200))",
                                   requestID: requestID)
        }
        return .token(TokenChunk(text: text, tokenID: id, index: index, requestID: requestID))
    }
}
