import Foundation
import ShardNetworking
import ShardProtocol
import ShardSync

/// The OpenAI-compatible routes on the sidecar's port (`GET /v1/models`, `POST /v1/completions`,
/// `POST /v1/chat/completions`), built on the same registry as `/broadcast-work`: same queue, limits, API key
/// (`Authorization: Bearer`), cancellation and metrics. A client that disconnects before its answer cancels the
/// request and frees its shards.
extension SidecarAPI {
    /// The OpenAI-compatible routes: their own error shape, the same API key; generation on the worker queue.
    func openAIRoute(_ request: HTTPRequest, server: HTTPWebSocketServer) {
        let routes: [String: (method: String, kind: OpenAIRequest.Kind?)] = [
            "/v1/models": ("GET", nil), "/v1/completions": ("POST", .completion), "/v1/chat/completions": ("POST", .chat),
        ]
        let path = request.path.hasSuffix("/") ? String(request.path.dropLast()) : request.path
        let failure: ProtocolError?
        if let refusal = authenticate(request.headers) {
            failure = refusal
        } else if path == "/v1/responses", request.method == "POST" {
            worker.async { [self] in createResponse(request, server: server) }
            return
        } else if path.hasPrefix("/v1/responses/"), request.method == "GET" {
            let id = RequestID(String(path.dropFirst("/v1/responses/".count)))
            server.respond(id.map(responseAnswer) ?? OpenAIAnswer.errorResponse(ProtocolError(
                status: 404, code: "not_found", message: "no response \(path)")), to: request.connection)
            return
        } else if let route = routes[path] {
            guard request.method == route.method else {
                server.respond(OpenAIAnswer.errorResponse(ProtocolError(
                    status: 405, code: "method_not_allowed", message: "\(request.method) is not allowed on \(path); use \(route.method)")),
                    to: request.connection)
                return
            }
            guard let kind = route.kind else {
                server.respond(openAIModels(), to: request.connection)
                return
            }
            worker.async { [self] in openAIGenerate(kind, request, server: server) }
            return
        } else {
            failure = ProtocolError(status: 404, code: "not_found", message: "no route \(request.path)")
        }
        if let failure { server.respond(OpenAIAnswer.errorResponse(failure), to: request.connection) }
    }

    /// `GET /v1/models`.
    func openAIModels() -> HTTPResponse {
        let created = Int64(startedAt.timeIntervalSince1970)
        let models = [model.id, GenerationRequest.defaultModelID].map { id -> JSONValue in
            .object(["id": .string(id), "object": .string("model"), "created": .int(created),
                     "owned_by": .string("shard")])
        }
        return .json(200, JSONValue.object(["object": .string("list"), "data": .array(models)]).encoded())
    }

    /// `POST /v1/completions` and `POST /v1/chat/completions` (on the worker queue: they render and tokenize).
    func openAIGenerate(_ kind: OpenAIRequest.Kind, _ request: HTTPRequest, server: HTTPWebSocketServer) {
        let openAI: OpenAIRequest
        do throws(ProtocolError) {
            openAI = try OpenAIRequest(kind: kind, body: request.body, limits: configuration.limits)
            guard model.matches(openAI.model) else {
                throw ProtocolError(status: 404, code: "unknown_model",
                                    message: "the model \(openAI.model ?? "") does not exist", field: "model")
            }
            _ = try submit(openAI.generation, id: openAI.generation.requestID!)
        } catch {
            server.respond(OpenAIAnswer.errorResponse(error), to: request.connection)
            return
        }
        let answer = OpenAIAnswer(request: openAI, modelID: model.id)
        let id = openAI.generation.requestID!, connection = request.connection
        let registry = self.registry
        if openAI.stream {
            let started = server.respondStream(
                HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream")],
                             body: kind == .chat ? answer.chunk(text: "", role: true) : []),
                to: connection) {
                // The client went away mid-stream: stop generating for it.
                registry.cancel(id)
            }
            guard started else {
                registry.cancel(id)
                return
            }
            _ = registry.subscribe(id, token: connection.rawValue) { [weak server] event in
                guard let server else { return false }
                return Self.stream(event, answer: answer, server: server, connection: connection)
            }
        } else {
            openAIConnections.withLock { $0[connection] = id }
            let text = Locked("")
            let openAIConnections = self.openAIConnections
            _ = registry.subscribe(id, token: connection.rawValue) { [weak server] event in
                switch event {
                case let .token(piece, _, _):
                    text.withLock { $0 += piece }
                case let .done(reason, usage, error):
                    _ = openAIConnections.withLock { $0.removeValue(forKey: connection) }
                    let response: HTTPResponse = if let error, reason == .error {
                        OpenAIAnswer.errorResponse(error)
                    } else {
                        .json(200, answer.complete(text: text.withLock { $0 }, reason: reason, usage: usage).encoded())
                    }
                    server?.respond(response, to: connection)
                }
                return true
            }
        }
    }

    /// Writes one event as server-sent events; `false` when the client is gone (the request is then cancelled).
    private static func stream(_ event: GenerationEvent, answer: OpenAIAnswer, server: HTTPWebSocketServer,
                               connection: ConnectionID) -> Bool {
        switch event {
        case let .token(piece, _, _):
            return piece.isEmpty || server.streamWrite(answer.chunk(text: piece), to: connection)
        case let .done(reason, usage, error):
            var bytes: [UInt8]
            if let error, reason == .error {
                bytes = OpenAIAnswer.event(OpenAIAnswer.error(error))
            } else {
                bytes = answer.chunk(text: answer.request.kind == .chat ? nil : "", finish: reason)
                if answer.request.includeUsage { bytes += answer.usageChunk(usage) }
            }
            let written = server.streamWrite(bytes + OpenAIAnswer.done, to: connection)
            server.streamEnd(connection)
            return written
        }
    }

    /// A non-streamed answer's client went away: cancel its request.
    func openAIConnectionClosed(_ connection: ConnectionID) {
        if let id = openAIConnections.withLock({ $0.removeValue(forKey: connection) }) { registry.cancel(id) }
    }
}
