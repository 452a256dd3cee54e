import Foundation
import ShardNetworking
import ShardProtocol
import ShardSync

/// Which requests each `/ws/generate` connection has in flight, so a closed socket cancels them.
final class WebSocketSessions: @unchecked Sendable {
    /// Guards `requests`.
    private let lock = Lock()
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
    // The server's callbacks run on its service thread, which must never block: each is handed to the worker queue,
    // which keeps their order (a cancel after its request, a close after both).

    func webSocketOpened(_ connection: ConnectionID, path: String, query: [String: String],
                         headers: [String: String], server: HTTPWebSocketServer) {
        worker.async { [sessions] in sessions.open(connection) }
    }

    func webSocketMessage(_ message: WebSocketMessage, connection: ConnectionID, server: HTTPWebSocketServer) {
        worker.async { [self] in handle(message, connection: connection, server: server) }
    }

    func webSocketClosed(_ connection: ConnectionID, byClient: Bool, server: HTTPWebSocketServer) {
        worker.async { [self] in closed(connection, byClient: byClient) }
    }

    func webSocketClosed(_ connection: ConnectionID, server: HTTPWebSocketServer) {
        webSocketClosed(connection, byClient: false, server: server)
    }

    private func handle(_ message: WebSocketMessage, connection: ConnectionID, server: HTTPWebSocketServer) {
        guard case let .text(text) = message else {
            sendError(ProtocolError(status: 400, code: "invalid_message",
                                    message: "binary frames are not accepted; send a JSON text frame"),
                      id: nil, connection: connection, server: server)
            return
        }
        let request: GenerationRequest
        do {
            switch try WebSocketCommand.parse(Array(text.utf8)) {
            case let .generate(parsed): request = parsed
            case let .cancel(id):
                cancelMessage(id, connection: connection, server: server)
                return
            case let .resume(id, after):
                resumeMessage(id, after: after, connection: connection, server: server)
                return
            }
        } catch {
            sendError(error, id: error.requestID.flatMap(RequestID.init), connection: connection, server: server)
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
        // A new stream, or a retry of one (same id and body): the client gets every event from the start.
        attach(id, after: -1, connection: connection, server: server)
    }

    /// `{"event": "cancel", "request_id": ID}` for a request of this connection.
    private func cancelMessage(_ id: RequestID, connection: ConnectionID, server: HTTPWebSocketServer) {
        if sessions.contains(id, on: connection) {
            registry.cancel(id)
        } else {
            sendError(.invalid("request_id", "cancel names no request of this connection"), id: nil,
                      connection: connection, server: server)
        }
    }

    /// `{"event": "resume", "request_id": ID, "after": INDEX}`: streams the request's events after the token with
    /// index INDEX (-1: from the start) on this connection, from any connection (the one it started on may be gone).
    private func resumeMessage(_ id: RequestID, after: Int, connection: ConnectionID, server: HTTPWebSocketServer) {
        guard sessions.add(id, to: connection, limit: configuration.maxRequestsPerConnection) else {
            sendError(ProtocolError(status: 429, code: "too_many_requests",
                                    message: "at most \(configuration.maxRequestsPerConnection) requests per connection"),
                      id: id, connection: connection, server: server)
            return
        }
        guard attach(id, after: after, connection: connection, server: server) else {
            sessions.remove(id, from: connection)
            sendError(ProtocolError(status: 404, code: "unknown_request", message: "no request \(id) (unknown or expired)"),
                      id: id, connection: connection, server: server)
            return
        }
        Log.info("resumed after \(after) on a WebSocket", request: id.rawValue)
    }

    /// Makes `connection` the request's subscriber from position `after + 1`.
    @discardableResult
    private func attach(_ id: RequestID, after: Int, connection: ConnectionID, server: HTTPWebSocketServer) -> Bool {
        let sessions = self.sessions
        return registry.subscribe(id, token: connection.rawValue, after: after) { [weak server] event in
            guard let server else { return false }
            let result = server.send(.text(event.webSocketJSON(requestID: id).encodedString()), to: connection)
            if event.isFinal { sessions.remove(id, from: connection) }
            return result == .queued
        }
    }

    /// A close frame from the client cancels its requests; a dropped connection leaves them running for a resume
    /// (``RegistryConfiguration/detachedGrace``).
    private func closed(_ connection: ConnectionID, byClient: Bool) {
        for id in sessions.close(connection) {
            registry.unsubscribe(id, token: connection.rawValue, cancel: byClient)
            if !byClient { Log.info("WebSocket dropped mid-stream: kept for a resume", request: id.rawValue) }
        }
    }

    private func sendError(_ error: ProtocolError, id: RequestID?, connection: ConnectionID,
                           server: HTTPWebSocketServer) {
        var object: [String: JSONValue] = ["event": .string("error"), "error": GenerationEvent.errorJSON(error)]
        if let id = id?.rawValue ?? error.requestID { object["request_id"] = .string(id) }
        _ = server.send(.text(JSONValue.object(object).encodedString()), to: connection)
    }
}
