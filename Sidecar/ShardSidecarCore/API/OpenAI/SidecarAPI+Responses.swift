import Foundation
import ShardNetworking
import ShardProtocol
import ShardSync

/// `POST /v1/responses` and `GET /v1/responses/ID`: the subset of OpenAI's Responses API that sference's CLI uses
/// (`model`, `input` as text or messages, `metadata`, `max_output_tokens`, `temperature`, `top_p`, `background`;
/// status, output text, usage). A response is an ordinary request of the registry (id `resp-<uuid>`): readable
/// until it expires (`--finished-ttl`), cancelled with `POST /requests/ID/cancel`.
extension SidecarAPI {
    /// What a response keeps besides its request: echoed in every answer.
    struct ResponseInfo: Sendable {
        var model: String
        var metadata: JSONValue
        var createdAt: Int64
    }

    /// Creates a response; without `background`, answers once it is done, like OpenAI (on the worker queue).
    func createResponse(_ request: HTTPRequest, server: HTTPWebSocketServer) {
        let id = RequestID.random(prefix: "resp")
        let background: Bool
        do throws(ProtocolError) {
            guard let value = JSONValue.decode(request.body), case .object = value else {
                throw ProtocolError(status: 400, code: "invalid_json", message: "the body must be a JSON object")
            }
            var generation = GenerationRequest(requestID: id, minTokens: 0)
            switch value["input"] {
            case let .string(text)?: generation.prompt = text
            case let .array(items)?:
                generation.messages = try items.map { item throws(ProtocolError) -> ChatMessage in
                    guard let role = item["role"]?.stringValue, let content = item["content"]?.stringValue else {
                        throw .invalid("input", "input messages need a role and a text content")
                    }
                    return ChatMessage(role: role, content: content)
                }
            default: throw .invalid("input", "input must be a string or a list of messages")
            }
            generation.model = value["model"]?.stringValue
            guard model.matches(generation.model) else {
                throw ProtocolError(status: 404, code: "unknown_model",
                                    message: "the model \(generation.model ?? "") does not exist", field: "model")
            }
            if case let .int(limit)? = value["max_output_tokens"] { generation.maxNewTokens = Int(clamping: limit) }
            else if generation.messages != nil { generation.maxNewTokens = configuration.limits.maxNewTokensCap }
            if let temperature = value["temperature"]?.doubleValue { generation.temperature = temperature }
            else { generation.temperature = 1 }
            if let topP = value["top_p"]?.doubleValue { generation.topP = topP }
            background = value["background"] == .bool(true)
            let metadata = value["metadata"] ?? .object([:])
            guard case .object = metadata else { throw .invalid("metadata", "metadata must be an object") }
            let info = ResponseInfo(model: generation.model ?? model.id, metadata: metadata,
                                    createdAt: Int64(Date().timeIntervalSince1970))
            responses.withLock { $0[id] = info }
            _ = try submit(generation, id: id)
        } catch {
            _ = responses.withLock { $0.removeValue(forKey: id) }
            server.respond(OpenAIAnswer.errorResponse(error), to: request.connection)
            return
        }
        guard !background else {
            server.respond(responseAnswer(id), to: request.connection)
            return
        }
        let connection = request.connection
        openAIConnections.withLock { $0[connection] = id }
        let openAIConnections = self.openAIConnections
        _ = registry.subscribe(id, token: connection.rawValue) { [weak server, self] event in
            guard event.isFinal else { return true }
            _ = openAIConnections.withLock { $0.removeValue(forKey: connection) }
            // The answer is built after this delivery (the registry's lock is held here).
            let target = server
            worker.async { target?.respond(self.responseAnswer(id), to: connection) }
            return true
        }
    }

    /// `GET /v1/responses/ID`.
    func responseAnswer(_ id: RequestID) -> HTTPResponse {
        guard let info = responses.withLock({ $0[id] }), let transcript = registry.transcript(id) else {
            _ = responses.withLock { $0.removeValue(forKey: id) }
            return OpenAIAnswer.errorResponse(ProtocolError(status: 404, code: "not_found",
                                                            message: "no response \(id) (unknown or expired)"))
        }
        let status = switch transcript.state {
        case .queued: "queued"
        case .running: "in_progress"
        case .completed: "completed"
        case .failed: "failed"
        case .cancelled: "cancelled"
        }
        var object: [String: JSONValue] = [
            "id": .string(id.rawValue), "object": .string("response"), "created_at": .int(info.createdAt),
            "status": .string(status), "model": .string(info.model), "metadata": info.metadata,
            "output_text": .string(transcript.text),
            "output": .array([.object([
                "type": .string("message"), "id": .string("msg-\(id.rawValue)"), "role": .string("assistant"),
                "status": .string(transcript.state.isTerminal ? "completed" : "in_progress"),
                "content": .array([.object(["type": .string("output_text"), "text": .string(transcript.text),
                                            "annotations": .array([])])]),
            ])]),
            "usage": .object(["input_tokens": .int(Int64(transcript.usage.promptTokens)),
                              "output_tokens": .int(Int64(transcript.usage.completionTokens)),
                              "total_tokens": .int(Int64(transcript.usage.promptTokens + transcript.usage.completionTokens))]),
            "error": transcript.error.map { OpenAIAnswer.error($0)["error"] ?? .null } ?? .null,
        ]
        if transcript.state == .failed, object["error"] == .null {
            object["error"] = .object(["message": .string("generation failed"), "code": .string("internal")])
        }
        return .json(200, JSONValue.object(object).encoded())
    }
}

extension Locked where Value == [RequestID: SidecarAPI.ResponseInfo] {
    /// Forgets the responses whose request the registry no longer holds (with the registry's sweep).
    func prune(keeping known: (RequestID) -> Bool) {
        withLock { $0 = $0.filter { known($0.key) } }
    }
}
