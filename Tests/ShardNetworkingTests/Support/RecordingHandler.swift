import Dispatch
import ShardNetworking
import Synchronization

/// What the server told the test handler.
enum ServerEvent: Sendable {
    case request(HTTPRequest)
    case httpClosed(ConnectionID)
    case opened(ConnectionID, path: String, query: [String: String], headers: [String: String])
    case message(ConnectionID, WebSocketMessage)
    case closed(ConnectionID)
}

/// A handler that records every event and answers like a tiny app:
/// `/echo` answers `METHOD path`, sorted `q:name=value` and `h:name=value` lines, then the body;
/// `/slow` never answers (long-poll tests answer it themselves); WebSocket messages are echoed.
final class RecordingHandler: HTTPWebSocketHandler {
    let log = EventLog()

    func httpRequest(_ request: HTTPRequest, server: HTTPWebSocketServer) {
        log.record(.request(request))
        if request.path == "/stream-at-once" {
            // Every piece and the end queued before the head is written.
            server.respondStream(HTTPResponse(status: 200, body: Array("a".utf8)), to: request.connection)
            _ = server.streamWrite(Array("b".utf8), to: request.connection)
            _ = server.streamWrite(Array("c".utf8), to: request.connection)
            server.streamEnd(request.connection)
            return
        }
        if request.path == "/stream" {
            // A streamed answer: "a" with the head, then "b" and "c" from another thread, then the end.
            let log = self.log
            server.respondStream(HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream")],
                                              body: Array("a".utf8)), to: request.connection) {
                log.record(.httpClosed(request.connection))
            }
            let connection = request.connection
            DispatchQueue.global().async {
                _ = server.streamWrite(Array("b".utf8), to: connection)
                _ = server.streamWrite(Array("c".utf8), to: connection)
                server.streamEnd(connection)
            }
            return
        }
        guard request.path == "/echo" else {
            if request.path != "/slow" { server.respond(.json(404, #"{"ok": false}"#), to: request.connection) }
            return
        }
        var lines = ["\(request.method) \(request.path)"]
        lines += request.query.sorted { $0.key < $1.key }.map { "q:\($0.key)=\($0.value)" }
        lines += request.headers.sorted { $0.key < $1.key }.map { "h:\($0.key)=\($0.value)" }
        if HTTPWebSocketServer.isServiceThread { lines.append("t:service") }
        let body = Array((lines.joined(separator: "\n") + "\n\n").utf8) + request.body
        server.respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain"), ("X-Echo", "1")], body: body),
                       to: request.connection)
    }

    func httpConnectionClosed(_ connection: ConnectionID, server: HTTPWebSocketServer) {
        log.record(.httpClosed(connection))
    }

    func webSocketOpened(_ connection: ConnectionID, path: String, query: [String: String], headers: [String: String],
                         server: HTTPWebSocketServer) {
        log.record(.opened(connection, path: path, query: query, headers: headers))
    }

    func webSocketMessage(_ message: WebSocketMessage, connection: ConnectionID, server: HTTPWebSocketServer) {
        log.record(.message(connection, message))
        _ = server.send(message, to: connection)
    }

    func webSocketClosed(_ connection: ConnectionID, server: HTTPWebSocketServer) {
        log.record(.closed(connection))
    }
}

/// Recorded events plus waiters: ``first(timeout:where:)`` returns a past or future matching event, or nil after
/// the timeout (a timer, not a sleep: the wait ends as soon as the event is recorded).
final class EventLog: Sendable {
    private struct Waiter {
        let token: Int
        let predicate: @Sendable (ServerEvent) -> Bool
        let continuation: CheckedContinuation<ServerEvent?, Never>
    }

    private struct State {
        var events: [ServerEvent] = []
        var waiters: [Waiter] = []
        var nextToken = 0
    }

    private let state = Mutex(State())

    func record(_ event: ServerEvent) {
        state.withLock { state in
            state.events.append(event)
            state.waiters.removeAll { waiter in
                guard waiter.predicate(event) else { return false }
                waiter.continuation.resume(returning: event)
                return true
            }
        }
    }

    /// Every event recorded so far.
    var events: [ServerEvent] { state.withLock { $0.events } }

    func first(timeout: Double = 10, where predicate: @escaping @Sendable (ServerEvent) -> Bool) async -> ServerEvent? {
        await withCheckedContinuation { continuation in
            let token = state.withLock { state -> Int? in
                if let event = state.events.first(where: predicate) {
                    continuation.resume(returning: event)
                    return nil
                }
                state.nextToken += 1
                state.waiters.append(Waiter(token: state.nextToken, predicate: predicate, continuation: continuation))
                return state.nextToken
            }
            guard let token else { return }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [self] in
                state.withLock { state in
                    guard let index = state.waiters.firstIndex(where: { $0.token == token }) else { return }
                    state.waiters.remove(at: index).continuation.resume(returning: nil)
                }
            }
        }
    }
}
