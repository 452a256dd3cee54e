import Foundation
import ShardNetworking
import ShardProtocol

/// Which requests each `/ws/generate` connection has in flight, so a closed socket cancels them.
final class WebSocketSessions: @unchecked Sendable {
    /// Guards `requests`.
    private let lock = NSLock()
    private var requests: [ConnectionID: Set<RequestID>] = [:]

    func open(_ connection: ConnectionID) { lock.withLock { requests[connection] = [] } }

    /// Adds a request unless the connection already has `limit` in flight.
    func add(_ id: RequestID, to connection: ConnectionID, limit: Int) -> Bool {
        lock.withLock {
            guard var set = requests[connection], set.count < limit else { return false }
            set.insert(id)
            requests[connection] = set
            return true
        }
    }

    func remove(_ id: RequestID, from connection: ConnectionID) {
        lock.withLock { _ = requests[connection]?.remove(id) }
    }

    func contains(_ id: RequestID, on connection: ConnectionID) -> Bool {
        lock.withLock { requests[connection]?.contains(id) ?? false }
    }

    /// Forgets the connection and returns its requests in flight.
    func close(_ connection: ConnectionID) -> Set<RequestID> {
        lock.withLock { requests.removeValue(forKey: connection) ?? [] }
    }
}

extension SidecarAPI {
    func webSocketOpened(_ connection: ConnectionID, path: String, query: [String: String],
                         headers: [String: String], server: HTTPWebSocketServer) {
        sessions.open(connection)
    }

    func webSocketMessage(_ message: WebSocketMessage, connection: ConnectionID, server: HTTPWebSocketServer) {
        guard case let .text(text) = message else {
            sendError(ProtocolError(status: 400, code: "invalid_message",
                                    message: "binary frames are not accepted; send a JSON text frame"),
                      id: nil, connection: connection, server: server)
            return
        }
        let body = Array(text.utf8)
        if let value = JSONValue.decode(body), value["event"]?.stringValue == "cancel" {
            if let text = value["request_id"]?.stringValue, let id = RequestID(text),
               sessions.contains(id, on: connection) {
                registry.cancel(id)
            } else {
                sendError(.invalid("request_id", "cancel names no request of this connection"), id: nil,
                          connection: connection, server: server)
            }
            return
        }
        let request: GenerationRequest
        do { request = try GenerationRequest.parse(body) } catch {
            sendError(error, id: nil, connection: connection, server: server)
            return
        }
        let id = request.requestID ?? RequestID.random(prefix: "ws")
        guard sessions.add(id, to: connection, limit: configuration.maxRequestsPerConnection) else {
            sendError(ProtocolError(status: 429, code: "too_many_requests",
                                    message: "at most \(configuration.maxRequestsPerConnection) requests per connection"),
                      id: id, connection: connection, server: server)
            return
        }
        do {
            _ = try submit(request, id: id)
        } catch {
            sessions.remove(id, from: connection)
            sendError(error, id: id, connection: connection, server: server)
            return
        }
        let sessions = self.sessions, registry = self.registry
        registry.subscribe(id) { [weak server] event in
            guard let server else { return }
            let result = server.send(.text(event.webSocketJSON(requestID: id).encodedString()), to: connection)
            if event.isFinal { sessions.remove(id, from: connection) }
            if result != .queued, !event.isFinal {
                // The client is gone or too slow: stop generating for it.
                registry.cancel(id)
            }
        }
    }

    func webSocketClosed(_ connection: ConnectionID, server: HTTPWebSocketServer) {
        for id in sessions.close(connection) {
            switch registry.cancel(id) {
            case .queued, .running: Log.info("WebSocket closed mid-stream: cancelled", request: id.rawValue)
            case .unknown, .alreadyFinished: break
            }
        }
    }

    private func sendError(_ error: ProtocolError, id: RequestID?, connection: ConnectionID,
                           server: HTTPWebSocketServer) {
        var object: [String: JSONValue] = ["event": .string("error"), "error": GenerationEvent.errorJSON(error)]
        if let id = id?.rawValue ?? error.requestID { object["request_id"] = .string(id) }
        _ = server.send(.text(JSONValue.object(object).encodedString()), to: connection)
    }
}
