import Foundation
import ShardNetworking
import ShardProtocol
import ShardSync

/// The HTTP and WebSocket face of the sidecar (PROTOCOL.md). Handlers run on the server thread, so they only
/// validate, touch the registry (brief locks) and answer; generation happens on the scheduler thread.
final class SidecarAPI: HTTPWebSocketHandler, @unchecked Sendable {
    struct Configuration: Sendable {
        var apiKey: String?
        var limits = RequestLimits()
        /// Requests one WebSocket connection may have in flight.
        var maxRequestsPerConnection = 16
        /// Longest `wait_ms` honoured on `/pop-result`.
        var maxPollWaitMilliseconds = 30_000
        var version = "0.1.0"
    }

    let configuration: Configuration
    let registry: RequestRegistry
    let model: ModelService
    let pipeline: ShardPipeline
    let metrics: SchedulerMetrics
    let startedAt = Date()
    let sessions = WebSocketSessions()
    /// Where submissions (JSON parsing, prompt rendering, tokenization) and WebSocket messages are handled, in
    /// arrival order: the server's service thread never blocks on them.
    let worker = DispatchQueue(label: "shard-api-worker")
    /// Non-streamed OpenAI answers waiting for their request.
    let openAIConnections = Locked<[ConnectionID: RequestID]>([:])
    /// Model and metadata of the responses of `/v1/responses`.
    let responses = Locked<[RequestID: ResponseInfo]>([:])

    init(configuration: Configuration, registry: RequestRegistry, model: ModelService, pipeline: ShardPipeline,
         metrics: SchedulerMetrics) {
        self.configuration = configuration
        self.registry = registry
        self.model = model
        self.pipeline = pipeline
        self.metrics = metrics
    }

    // MARK: HTTP

    func httpRequest(_ request: HTTPRequest, server: HTTPWebSocketServer) {
        if request.path.hasPrefix("/v1/") {
            openAIRoute(request, server: server)
            return
        }
        if request.method == "POST", request.path.hasSuffix("/broadcast-work") {
            worker.async { [self] in
                if let response = route(request, server: server) { server.respond(response, to: request.connection) }
            }
            return
        }
        if let response = route(request, server: server) { server.respond(response, to: request.connection) }
    }

    func httpConnectionClosed(_ connection: ConnectionID, server: HTTPWebSocketServer) {
        openAIConnectionClosed(connection)
    }

    /// The routes of PROTOCOL.md.
    enum Route {
        case health, ready, peers, models, tokenizer(String), vocabulary(String), metrics, broadcastWork, popResult
        case status(String), cancel(String)

        /// The route for path components, with the one method it accepts.
        static func match(_ parts: [String]) -> (route: Route, method: String)? {
            switch parts.count {
            case 1:
                let simple: [String: (Route, String)] = [
                    "health": (.health, "GET"), "ready": (.ready, "GET"), "peers": (.peers, "GET"),
                    "models": (.models, "GET"), "metrics": (.metrics, "GET"),
                    "broadcast-work": (.broadcastWork, "POST"), "pop-result": (.popResult, "GET"),
                ]
                return simple[parts[0]].map { ($0.0, $0.1) }
            case 2 where parts[0] == "requests": return (.status(parts[1]), "GET")
            case 3 where parts[0] == "requests" && parts[2] == "cancel": return (.cancel(parts[1]), "POST")
            case 3 where parts[0] == "models" && parts[2] == "tokenizer.model": return (.tokenizer(parts[1]), "GET")
            case 3 where parts[0] == "models" && parts[2] == "tokenizer.vocab": return (.vocabulary(parts[1]), "GET")
            default: return nil
            }
        }
    }

    /// Answers a request, or returns `nil` when the answer will come later (a long-poll).
    private func route(_ request: HTTPRequest, server: HTTPWebSocketServer) -> HTTPResponse? {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let (route, method) = Route.match(parts) else {
            return .error(ProtocolError(status: 404, code: "not_found", message: "no route \(request.path)"))
        }
        if case .health = route {} else if let refusal = authenticate(request.headers) { return .error(refusal) }
        guard request.method == method else {
            return .error(ProtocolError(status: 405, code: "method_not_allowed",
                                        message: "\(request.method) is not allowed on \(request.path); use \(method)"))
        }
        switch route {
        case .health: return health()
        case .ready: return ready(model: request.query["model"])
        case .peers: return peers()
        case .models: return .json(200, .object(["models": .array([model.json])]))
        case let .tokenizer(id): return tokenizerFile(id)
        case let .vocabulary(id): return vocabularyFile(id)
        case .metrics: return metricsResponse()
        case .broadcastWork: return broadcastWork(request.body)
        case .popResult: return popResult(request, server: server)
        case let .status(id): return requestStatus(id)
        case let .cancel(id): return cancel(id)
        }
    }

    /// `nil` when the request may pass; the 401 otherwise.
    func authenticate(_ headers: [String: String]) -> ProtocolError? {
        guard let key = configuration.apiKey else { return nil }
        let bearer = headers["authorization"].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        if Self.constantTimeEqual(bearer, key) || Self.constantTimeEqual(headers["x-api-key"], key) { return nil }
        return ProtocolError(status: 401, code: "unauthorized",
                             message: "missing or wrong API key (send Authorization: Bearer KEY or X-API-Key)")
    }

    /// Compares without an early exit, so response timing does not reveal how much of a guessed key was right.
    static func constantTimeEqual(_ given: String?, _ expected: String) -> Bool {
        let given = Array((given ?? "").utf8), expected = Array(expected.utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in expected.indices { difference |= expected[index] ^ (index < given.count ? given[index] : 0) }
        return difference == 0
    }

    private func health() -> HTTPResponse {
        .json(200, .object(["status": .string("ok"), "version": .string(configuration.version),
                            "uptime_s": .double(Date().timeIntervalSince(startedAt).rounded(toPlaces: 3))]))
    }

    private func ready(model requested: String?) -> HTTPResponse {
        if let requested, !model.matches(requested) {
            return .error(ProtocolError(status: 404, code: "unknown_model", message: "no model \(requested)"))
        }
        let missing = pipeline.missingLayers()
        if missing.isEmpty { return .json(200, .object(["ready": .bool(true), "model": .string(model.id)])) }
        return .json(503, .object([
            "ready": .bool(false),
            "missing_layers": .array(missing.map { .array([.int(Int64($0.lowerBound)), .int(Int64($0.upperBound))]) }),
        ]), headers: [("Retry-After", "1")])
    }

    private func peers() -> HTTPResponse {
        let list = pipeline.runners.map { runner -> JSONValue in
            let status = runner.status
            var object: [String: JSONValue] = [
                "name": .string(status.name), "state": .string(status.state.rawValue),
                "layers": .array([.int(Int64(status.layers.lowerBound)), .int(Int64(status.layers.upperBound))]),
                "latency_ms": status.latencyMilliseconds.map { .double($0.rounded(toPlaces: 3)) } ?? .null,
            ]
            if let detail = status.detail { object["detail"] = .string(detail) }
            if let cached = runner.cachedSequenceCount() { object["sequences"] = .int(Int64(cached)) }
            return .object(object)
        }
        return .json(200, .object(["peers": .array(list)]))
    }

    private func tokenizerFile(_ id: String) -> HTTPResponse {
        guard model.matches(id) else {
            return .error(ProtocolError(status: 404, code: "unknown_model", message: "no model \(id)"))
        }
        guard let data = model.tokenizerModelData else {
            return .error(ProtocolError(status: 404, code: "no_tokenizer_file",
                                        message: "model \(model.id) has no SentencePiece file; use tokenizer.vocab or utf8-bytes"))
        }
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/octet-stream"),
                                                   ("X-Tokenizer-Fingerprint", model.tokenizer.fingerprint)], body: data)
    }
}

extension SidecarAPI {
    /// `GET /models/ID/tokenizer.vocab`: the model's serialized GGUF vocabulary (``GGUFVocabulary/serialized()``).
    private func vocabularyFile(_ id: String) -> HTTPResponse {
        guard model.matches(id) else {
            return .error(ProtocolError(status: 404, code: "unknown_model", message: "no model \(id)"))
        }
        guard let data = model.vocabularyData else {
            return .error(ProtocolError(status: 404, code: "no_tokenizer_file",
                                        message: "model \(model.id) has no embedded GGUF vocabulary"))
        }
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/octet-stream"),
                                                   ("X-Tokenizer-Fingerprint", model.tokenizer.fingerprint)], body: data)
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}
