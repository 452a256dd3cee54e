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

    /// Validates before any I/O, with the sidecar's own validator (``GenerationRequest/validate(limits:)``), and
    /// tokenizes prompt text with `tokenizer` (a conversation is sent as `messages`, which the sidecar renders
    /// with the model's chat template).
    init(input: PromptInput, maxNewTokens: Int, sampling: Sampling, stop: [String], model: String,
         tokenizer: any Tokenizer, wireTokenizer: String) throws(ShardClientError) {
        var request = GenerationRequest(
            requestID: RequestID.random(prefix: "sdk"), maxNewTokens: maxNewTokens, minTokens: sampling.minTokens,
            model: model, temperature: sampling.temperature, topK: sampling.topK, topP: sampling.topP,
            seed: sampling.seed, stop: stop, stream: true, sdk: "shard-swift/0.1")
        switch input {
        case let .text(prompt):
            request.prompt = prompt
        case let .chat(messages):
            request.messages = messages
        }
        do throws(ProtocolError) { try request.validate(limits: RequestLimits()) } catch {
            throw ShardClientError(.invalidRequest, error.message)
        }
        if case let .text(prompt) = input {
            request.inputTokenIDs = tokenizer.encode(prompt, addBOS: tokenizer.bosTokenID != nil).map(Int.init)
            request.tokenizer = wireTokenizer
        }
        requestID = request.requestID!.rawValue
        json = request.json
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
