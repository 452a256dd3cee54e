import Foundation
import ShardProtocol

/// A request of the OpenAI-compatible routes (`POST /v1/completions`, `POST /v1/chat/completions`), read into the
/// sidecar's own ``GenerationRequest`` so it shares the queue, limits, validation and cancellation of every other
/// request. The subset users rely on: `model`, `prompt` or `messages`, `max_tokens` / `max_completion_tokens`,
/// `temperature`, `top_p`, `seed`, `stop`, `n` (1 only), `stream`, `stream_options.include_usage`; `user` and
/// unknown fields are ignored; `logprobs` is refused (the engine does not compute them).
struct OpenAIRequest: Sendable {
    /// Which route.
    enum Kind: Sendable { case completion, chat }

    let kind: Kind
    var generation: GenerationRequest
    /// Answer with server-sent events.
    var stream: Bool
    /// Streamed: one more chunk with the usage before `[DONE]`.
    var includeUsage: Bool
    /// The model id as the client named it (echoed in answers).
    var model: String?

    /// Reads a body.
    ///
    /// - Throws: ``ProtocolError`` 400 naming the parameter.
    init(kind: Kind, body: [UInt8], limits: RequestLimits) throws(ProtocolError) {
        guard let value = JSONValue.decode(body) else {
            throw ProtocolError(status: 400, code: "invalid_json", message: "the body is not valid JSON")
        }
        guard case .object = value else {
            throw ProtocolError(status: 400, code: "invalid_json", message: "the body must be a JSON object")
        }
        self.kind = kind
        let prefix = kind == .chat ? "chatcmpl" : "cmpl"
        generation = GenerationRequest(requestID: RequestID.random(prefix: prefix))
        model = try Self.string(value, "model")
        generation.model = model
        switch kind {
        case .completion:
            generation.prompt = try Self.prompt(value)
            if let ids = try Self.promptIDs(value) { generation.inputTokenIDs = ids }
            generation.maxNewTokens = try Self.integer(value, "max_tokens") ?? 16
        case .chat:
            generation.messages = try Self.messages(value)
            let maxCompletion = try Self.integer(value, "max_completion_tokens")
            let maxTokens = try Self.integer(value, "max_tokens")
            generation.maxNewTokens = maxCompletion ?? maxTokens ?? limits.maxNewTokensCap
        }
        // `min_tokens` as vLLM takes it (an extension of OpenAI's API): end-of-generation tokens are suppressed until
        // this many tokens exist. OpenAI itself has none, so the default is 0.
        generation.minTokens = try Self.integer(value, "min_tokens") ?? 0
        generation.temperature = try Self.number(value, "temperature") ?? 1
        generation.topP = try Self.number(value, "top_p") ?? 1
        if let seed = try Self.integer(value, "seed") {
            guard seed >= 0 else { throw .invalid("seed", "seed must be a non-negative integer") }
            generation.seed = UInt64(seed)
        }
        switch value["stop"] {
        case nil, .null?: break
        case let .string(text)?: generation.stop = [text]
        case let .array(items)?:
            generation.stop = try items.map { item throws(ProtocolError) in
                guard case let .string(text) = item else { throw .invalid("stop", "stop must be a string or a list of strings") }
                return text
            }
        default: throw .invalid("stop", "stop must be a string or a list of strings")
        }
        if let n = try Self.integer(value, "n"), n != 1 { throw .invalid("n", "only n = 1 is supported") }
        switch value["logprobs"] {
        case nil, .null?, .bool(false)?: break
        default: throw .invalid("logprobs", "logprobs are not supported: the engine does not compute them")
        }
        stream = try Self.bool(value, "stream") ?? false
        includeUsage = try value["stream_options"].map { options throws(ProtocolError) -> Bool in
            guard case .object = options else { throw .invalid("stream_options", "stream_options must be an object") }
            return try Self.bool(options, "include_usage") ?? false
        } ?? false
        try generation.validate(limits: limits)
    }

    private static func prompt(_ value: JSONValue) throws(ProtocolError) -> String? {
        switch value["prompt"] {
        case let .string(text)?: return text
        case let .array(items)? where items.count == 1:
            if case let .string(text) = items[0] { return text }
            return nil
        case .array(let items)? where items.allSatisfy({ if case .int = $0 { true } else { false } }): return nil
        case nil: throw .invalid("prompt", "prompt is required")
        default: throw .invalid("prompt", "prompt must be a string, one string in a list, or a list of token ids")
        }
    }

    private static func promptIDs(_ value: JSONValue) throws(ProtocolError) -> [Int]? {
        guard case let .array(items)? = value["prompt"], !items.isEmpty,
              items.allSatisfy({ if case .int = $0 { true } else { false } }) else { return nil }
        return items.compactMap { if case let .int(id) = $0 { Int(exactly: id) } else { nil } }
    }

    private static func messages(_ value: JSONValue) throws(ProtocolError) -> [ChatMessage] {
        guard case let .array(items)? = value["messages"] else { throw .invalid("messages", "messages is required") }
        return try items.map { item throws(ProtocolError) -> ChatMessage in
            guard let role = item["role"]?.stringValue else { throw .invalid("messages", "every message needs a role") }
            switch item["content"] {
            case let .string(text)?: return ChatMessage(role: role, content: text)
            case let .array(parts)?:
                let texts = try parts.map { part throws(ProtocolError) -> String in
                    guard part["type"]?.stringValue == "text", let text = part["text"]?.stringValue else {
                        throw .invalid("messages", "only text content parts are supported")
                    }
                    return text
                }
                return ChatMessage(role: role, content: texts.joined())
            case nil, .null?: return ChatMessage(role: role, content: "")
            default: throw .invalid("messages", "content must be a string or a list of text parts")
            }
        }
    }

    private static func string(_ value: JSONValue, _ name: String) throws(ProtocolError) -> String? {
        switch value[name] {
        case nil, .null?: return nil
        case let .string(text)?: return text
        default: throw .invalid(name, "\(name) must be a string")
        }
    }

    private static func integer(_ value: JSONValue, _ name: String) throws(ProtocolError) -> Int? {
        switch value[name] {
        case nil, .null?: return nil
        case let .int(number)?:
            guard let result = Int(exactly: number) else { throw .invalid(name, "\(name) is out of range") }
            return result
        default: throw .invalid(name, "\(name) must be an integer")
        }
    }

    private static func number(_ value: JSONValue, _ name: String) throws(ProtocolError) -> Double? {
        switch value[name] {
        case nil, .null?: return nil
        case let .int(number)?: return Double(number)
        case let .double(number)?: return number
        default: throw .invalid(name, "\(name) must be a number")
        }
    }

    private static func bool(_ value: JSONValue, _ name: String) throws(ProtocolError) -> Bool? {
        switch value[name] {
        case nil, .null?: return nil
        case let .bool(flag)?: return flag
        default: throw .invalid(name, "\(name) must be a boolean")
        }
    }
}
