/// Receives the server's events.
///
/// - warning: Every callback runs on the server's service thread: return quickly and never block (no locks held for
///   long, no I/O, no waiting on other tasks). Answer HTTP requests later, from any thread, with
///   ``HTTPWebSocketServer/respond(_:to:)``; calling `respond`, `send` and `close` from inside a callback is fine.
public protocol HTTPWebSocketHandler: Sendable {
    /// A complete HTTP request (body included). Answer it exactly once with ``HTTPWebSocketServer/respond(_:to:)``,
    /// now or later (long-poll): the connection stays open until then or until the client goes away.
    func httpRequest(_ request: HTTPRequest, server: HTTPWebSocketServer)

    /// The client of a request that was not answered yet went away; later responses to it are ignored.
    func httpConnectionClosed(_ connection: ConnectionID, server: HTTPWebSocketServer)

    /// A WebSocket upgrade on one of the configured paths succeeded.
    func webSocketOpened(_ connection: ConnectionID, path: String, query: [String: String], headers: [String: String],
                         server: HTTPWebSocketServer)

    /// A complete (reassembled) message arrived on `connection`.
    func webSocketMessage(_ message: WebSocketMessage, connection: ConnectionID, server: HTTPWebSocketServer)

    /// The WebSocket is gone (either side closed, or the connection dropped). Sends to it now return `.closed`.
    func webSocketClosed(_ connection: ConnectionID, server: HTTPWebSocketServer)

    /// The WebSocket is gone; `byClient` is true when the client sent a close frame (a deliberate close), false
    /// when the connection dropped or the server closed it. The default calls ``webSocketClosed(_:server:)``.
    func webSocketClosed(_ connection: ConnectionID, byClient: Bool, server: HTTPWebSocketServer)
}

extension HTTPWebSocketHandler {
    /// Calls ``webSocketClosed(_:server:)``, for handlers that do not care how the socket closed.
    public func webSocketClosed(_ connection: ConnectionID, byClient: Bool, server: HTTPWebSocketServer) {
        webSocketClosed(connection, server: server)
    }
}
