import Foundation
import ShardNetworking
import ShardProtocol

/// Turns one request's events into OpenAI's answer shapes: a `text_completion` / `chat.completion` object, or
/// server-sent `data:` chunks (`.chunk` objects, then `data: [DONE]`), exactly as OpenAI sends them.
struct OpenAIAnswer: Sendable {
    let request: OpenAIRequest
    let id: String
    let model: String
    let created = Int64(Date().timeIntervalSince1970)

    init(request: OpenAIRequest, modelID: String) {
        self.request = request
        id = request.generation.requestID!.rawValue
        model = request.model ?? modelID
    }

    /// OpenAI's finish reasons: `length`, or `stop` for a stop string and the end of generation alike.
    static func finishReason(_ reason: FinishReason) -> String { reason == .length ? "length" : "stop" }

    static func usage(_ usage: Usage) -> JSONValue {
        .object(["prompt_tokens": .int(Int64(usage.promptTokens)),
                 "completion_tokens": .int(Int64(usage.completionTokens)),
                 "total_tokens": .int(Int64(usage.promptTokens + usage.completionTokens))])
    }

    private func envelope(_ object: String, choices: [JSONValue]) -> [String: JSONValue] {
        ["id": .string(id), "object": .string(object), "created": .int(created), "model": .string(model),
         "choices": .array(choices)]
    }

    /// The whole answer (not streamed).
    func complete(text: String, reason: FinishReason, usage: Usage) -> JSONValue {
        var body: [String: JSONValue]
        switch request.kind {
        case .completion:
            body = envelope("text_completion", choices: [.object([
                "index": .int(0), "text": .string(text), "logprobs": .null,
                "finish_reason": .string(Self.finishReason(reason)),
            ])])
        case .chat:
            body = envelope("chat.completion", choices: [.object([
                "index": .int(0), "message": .object(["role": .string("assistant"), "content": .string(text)]),
                "logprobs": .null, "finish_reason": .string(Self.finishReason(reason)),
            ])])
        }
        body["usage"] = Self.usage(usage)
        return .object(body)
    }

    /// One streamed chunk: a piece of text (or the assistant role first, for chat), or the end.
    func chunk(text: String?, role: Bool = false, finish: FinishReason? = nil) -> [UInt8] {
        var choice: [String: JSONValue] = ["index": .int(0), "logprobs": .null,
                                           "finish_reason": finish.map { .string(Self.finishReason($0)) } ?? .null]
        let object: String
        switch request.kind {
        case .completion:
            object = "text_completion"
            choice["text"] = .string(text ?? "")
        case .chat:
            object = "chat.completion.chunk"
            var delta: [String: JSONValue] = [:]
            if role { delta["role"] = .string("assistant") }
            if let text { delta["content"] = .string(text) }
            choice["delta"] = .object(delta)
        }
        var body = envelope(object, choices: [.object(choice)])
        if request.includeUsage { body["usage"] = .null }
        return Self.event(.object(body))
    }

    /// The usage chunk (`stream_options.include_usage`): no choices.
    func usageChunk(_ usage: Usage) -> [UInt8] {
        var body = envelope(request.kind == .chat ? "chat.completion.chunk" : "text_completion", choices: [])
        body["usage"] = Self.usage(usage)
        return Self.event(.object(body))
    }

    static func event(_ value: JSONValue) -> [UInt8] { Array("data: ".utf8) + value.encoded() + Array("\n\n".utf8) }
    static let done = Array("data: [DONE]\n\n".utf8)

    /// OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`.
    static func error(_ error: ProtocolError) -> JSONValue {
        let type = switch error.status {
        case 401: "authentication_error"
        case 429, 503: "server_overloaded"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
        let code: String = switch error.code {
        case "unknown_model": "model_not_found"
        case "unauthorized": "invalid_api_key"
        default: error.code
        }
        return .object(["error": .object([
            "message": .string(error.message), "type": .string(type),
            "param": error.field.map { .string(openAIName[$0] ?? $0) } ?? .null, "code": .string(code),
        ])])
    }

    /// The OpenAI parameter behind a field of ``GenerationRequest``.
    private static let openAIName = ["max_new_tokens": "max_tokens", "prompt_context": "prompt"]

    static func errorResponse(_ error: ProtocolError) -> HTTPResponse {
        var headers: [(String, String)] = []
        if error.status == 503 || error.status == 429 { headers.append(("Retry-After", "1")) }
        return .json(error.status, Self.error(error).encoded(), headers: headers)
    }
}
