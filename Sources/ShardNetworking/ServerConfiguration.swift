extension HTTPWebSocketServer {
    /// How the server listens and the limits it enforces.
    public struct Configuration: Sendable {
        /// Address to bind; `127.0.0.1` keeps the server local.
        public var host = "127.0.0.1"
        /// Port to bind; 0 picks a free ephemeral port (``HTTPWebSocketServer/start()`` returns it).
        public var port = 0
        /// Largest accepted request body; larger ones are answered 413 `body_too_large` without reaching the handler.
        public var maxRequestBodyBytes = 1 << 20
        /// Largest accepted (reassembled) WebSocket message; larger ones close the connection with 1009.
        public var maxWebSocketMessageBytes = 1 << 20
        /// Largest message a new WebSocket connection may send until the handler raises its limit with
        /// ``HTTPWebSocketServer/setMessageLimit(_:for:)`` (e.g. once it authenticated); `nil`: the full
        /// ``maxWebSocketMessageBytes`` from the start. Keeps unauthenticated clients from making the server
        /// reassemble large messages.
        public var initialWebSocketMessageBytes: Int?
        /// Most WebSocket connections open at once; further upgrades are answered 503 `too_many_connections`.
        public var maxWebSocketConnections = 4096
        /// Most bytes queued for one WebSocket connection. A send beyond it returns ``SendResult/overloaded`` and the
        /// connection is closed with 1008 (the client reads too slowly); other connections are unaffected.
        public var maxQueuedBytesPerConnection = 8 << 20
        /// Paths that accept a WebSocket upgrade; an upgrade anywhere else is answered 404.
        public var webSocketPaths: Set<String> = ["/ws/generate"]
        /// Optional check of each upgrade (path, lowercased headers): return an HTTP status (e.g. 401) to refuse it,
        /// `nil` to accept. Runs on the service thread: keep it fast.
        public var acceptWebSocket: (@Sendable (_ path: String, _ headers: [String: String]) -> Int?)?
        /// Header names (lowercase) to capture besides those libwebsockets knows. libwebsockets 4.1 cannot list
        /// unknown headers, so any custom header a handler reads must be named here.
        public var extraHeaderNames: [String] = ["x-api-key", "x-request-id", "idempotency-key", "last-event-id"]
        /// Seconds an idle keep-alive HTTP connection stays open.
        public var keepAliveTimeoutSeconds = 30
        /// Largest request head (request line, header fields, blank line) of a connection's first request; a larger
        /// one is answered 431 `headers_too_large`.
        public var maxRequestHeadBytes = 16 << 10
        /// Seconds a new connection has to send its first request head; then it is answered 408 `request_timeout`.
        public var requestHeadTimeoutSeconds = 10.0
        /// New connections still sending their first head at once; past it, further ones are closed at once.
        public var maxConnectionsAwaitingHead = 1024

        /// The defaults: 127.0.0.1, ephemeral port, 1 MiB bodies and messages, 8 MiB outbox, `/ws/generate`.
        public init() {}
    }
}
