import Foundation
import ShardNetworking
import ShardProtocol
import ShardTokenizers

extension SidecarAPI {
    /// Validates, resolves and registers a request. Shared by `/broadcast-work` and `/ws/generate`.
    func submit(_ request: GenerationRequest, id: RequestID) throws(ProtocolError) -> RequestRegistry.Submission {
        assert(!HTTPWebSocketServer.isServiceThread, "submissions render and tokenize: never on the service thread")
        do throws(ProtocolError) {
            try request.validate(limits: configuration.limits)
            guard model.matches(request.model) else {
                throw ProtocolError(status: 404, code: "unknown_model", message: "no model \(request.model ?? "")",
                                    field: "model")
            }
            let promptIDs = try model.resolver.resolve(request)
            let submission = try registry.submit(id: id, request: request, promptIDs: promptIDs,
                                                 tokenizer: model.tokenizer)
            if case .accepted = submission {
                Log.info("accepted: \(promptIDs.count) prompt tokens, max_new_tokens \(request.maxNewTokens)",
                         request: id.rawValue)
            }
            return submission
        } catch {
            var error = error
            error.requestID = id.rawValue
            throw error
        }
    }

    func broadcastWork(_ body: [UInt8]) -> HTTPResponse {
        do throws(ProtocolError) {
            let request = try GenerationRequest.parse(body)
            guard let id = request.requestID else {
                throw ProtocolError.invalid("request_id", "request_id is required on /broadcast-work")
            }
            switch try submit(request, id: id) {
            case let .accepted(position), let .duplicate(position):
                return .json(202, .object(["ok": .bool(true), "request_id": .string(id.rawValue),
                                           "queue_position": .int(Int64(position))]))
            }
        } catch {
            Log.warning("rejected: \(error)", request: error.requestID)
            return .error(error)
        }
    }

    func popResult(_ request: HTTPRequest, server: HTTPWebSocketServer) -> HTTPResponse? {
        guard let text = request.query["request_id"], let id = RequestID(text) else {
            return .error(.invalid("request_id", "request_id query parameter is missing or malformed"))
        }
        let maxEvents: Int, waitMilliseconds: Int, after: Int?
        do {
            maxEvents = try Self.integerQuery(request.query, "max", default: 1, range: 1 ... 1000)
            waitMilliseconds = try Self.integerQuery(request.query, "wait_ms", default: 0,
                                                     range: 0 ... configuration.maxPollWaitMilliseconds)
            after = request.query["after"] == nil ? nil
                : try Self.integerQuery(request.query, "after", default: -1, range: -1 ... Int.max - 1)
        } catch { return .error(error) }
        let connection = request.connection
        let batched = request.query["max"] != nil && maxEvents > 1
        let deliver: PollDelivery = { [weak server] events, written in
            server?.respond(Self.pollResponse(events, batched: batched), to: connection, written: written) ?? false
        }
        switch registry.poll(id, maxEvents: maxEvents, after: after, wait: waitMilliseconds > 0, deliver: deliver) {
        case .notFound:
            return .error(ProtocolError(status: 404, code: "unknown_request",
                                        message: "no request \(id) (unknown or expired)", requestID: id.rawValue))
        case .answered:
            return nil
        case let .waiting(token):
            let registry = self.registry
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(waitMilliseconds)) {
                registry.expireWaiter(id, token: token)
            }
            return nil
        }
    }

    static func pollResponse(_ events: [GenerationEvent], batched: Bool) -> HTTPResponse {
        if batched { return .json(200, .object(["results": .array(events.map(\.pollJSON))])) }
        return .json(200, .object(["result": events.first?.pollJSON ?? .null]))
    }

    static func integerQuery(_ query: [String: String], _ name: String, default fallback: Int,
                             range: ClosedRange<Int>) throws(ProtocolError) -> Int {
        guard let text = query[name] else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw .invalid(name, "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func requestStatus(_ text: String) -> HTTPResponse {
        guard let id = RequestID(text), let snapshot = registry.snapshot(id) else {
            return .error(ProtocolError(status: 404, code: "unknown_request", message: "no request \(text)"))
        }
        var object: [String: JSONValue] = [
            "request_id": .string(id.rawValue), "state": .string(snapshot.state.rawValue),
            "tokens": .int(Int64(snapshot.tokens)), "prompt_tokens": .int(Int64(snapshot.promptTokens)),
            "events_pending": .int(Int64(snapshot.eventsPending)),
            "cancel_requested": .bool(snapshot.cancelRequested),
        ]
        if let reason = snapshot.finishReason { object["finish_reason"] = .string(reason.rawValue) }
        return .json(200, .object(object))
    }

    func cancel(_ text: String) -> HTTPResponse {
        guard let id = RequestID(text), registry.cancel(id) != .unknown else {
            return .error(ProtocolError(status: 404, code: "unknown_request", message: "no request \(text)"))
        }
        Log.info("cancel requested", request: id.rawValue)
        return .json(200, .object(["ok": .bool(true), "request_id": .string(id.rawValue)]))
    }
}
