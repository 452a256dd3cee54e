#if canImport(Glibc)
import Glibc
#endif
internal import CLibWebSockets
import Dispatch
import ShardSync

/// HTTP/1.1 and WebSocket on one port, over libwebsockets.
///
/// One service thread owns the libwebsockets context and runs every handler callback. The public methods
/// (`respond`, `send`, `close`, `shutdown`) are thread-safe: they queue work in ``state`` under its lock and wake the
/// service thread with `lws_cancel_service`, the only libwebsockets call that is safe from another thread.
///
/// - warning: Call ``shutdown()`` when done: the service thread keeps the server alive until then.
public final class HTTPWebSocketServer: Sendable {
    /// The configuration the server was created with.
    public let configuration: Configuration
    let handler: any HTTPWebSocketHandler
    /// All mutable state; see ``ServerState`` for what the lock guards.
    let state = Locked(ServerState())
    /// Entered while the service thread runs; `shutdown()` waits on it (the join).
    let serviceGroup = DispatchGroup()

    /// A server that will call `handler`; nothing listens before ``start()``.
    public init(configuration: Configuration = Configuration(), handler: any HTTPWebSocketHandler) {
        self.configuration = configuration
        self.handler = handler
    }

    /// Binds, starts the service thread and returns the bound port (the ephemeral one when the port is 0).
    ///
    /// - throws: ``NetworkError/Kind/bindFailed`` when the address cannot be bound,
    ///   ``NetworkError/Kind/invalidState`` when called twice or after ``shutdown()``.
    @discardableResult
    public func start() throws(NetworkError) -> Int {
        try state.withLock { (state: inout ServerState) throws(NetworkError) in
            guard state.phase == .idle, !state.stopRequested else {
                throw NetworkError(.invalidState, "the server was already started")
            }
            state.phase = .starting
        }
        let startup = StartupSignal()
        serviceGroup.enter()
        let thread = ServiceThread { [self] in
            runService(startup: startup)
            serviceGroup.leave()
        }
        thread.start()
        return try startup.wait()
    }

    /// Answers the HTTP request `connection`. Thread-safe; ignored when the request was already answered or its
    /// client went away.
    ///
    /// - Parameter written: called once, on the service thread and never from inside this call, with `true` when
    ///   the last byte of the answer was written to the connection, or `false` when the connection closed first.
    ///   It is not called when this method returns `false`.
    /// - Returns: whether the answer was taken: `false` when the client is gone or the request was answered.
    @discardableResult
    public func respond(_ response: HTTPResponse, to connection: ConnectionID,
                        written: (@Sendable (Bool) -> Void)? = nil) -> Bool {
        state.withLock { state in
            guard let exchange = state.exchanges[connection.rawValue], exchange.dispatched,
                  exchange.response == nil else { return false }
            state.exchanges[connection.rawValue]?.response = ResponseWriter(response: response,
                                                                            omitBody: exchange.method == "HEAD")
            state.exchanges[connection.rawValue]?.written = written
            state.requestService(for: connection.rawValue)
            return true
        }
    }

    /// Queues `message` for the WebSocket `connection`. Thread-safe and non-blocking.
    ///
    /// When the connection's queued bytes would exceed ``Configuration/maxQueuedBytesPerConnection``, the message is
    /// dropped, the connection is closed with 1008 ("send queue limit exceeded: client too slow") and the result is
    /// ``SendResult/overloaded``.
    public func send(_ message: WebSocketMessage, to connection: ConnectionID) -> SendResult {
        let frame = OutboundFrame(message)
        return state.withLock { state in
            let id = connection.rawValue
            guard state.webSockets[id]?.closeRequest == nil, state.webSockets[id] != nil else { return .closed }
            if state.webSockets[id]!.outbox.push(frame) {
                state.requestService(for: id)
                return .queued
            }
            state.webSockets[id]!.outbox.removeAll()
            state.webSockets[id]!.closeRequest = CloseRequest(
                code: 1008, reason: "send queue limit exceeded: client too slow", graceSeconds: 1)
            state.requestService(for: id)
            return .overloaded
        }
    }

    /// Sets the largest message `connection` may send from now on (capped at
    /// ``Configuration/maxWebSocketMessageBytes``). Thread-safe; ignored when the connection is gone.
    public func setMessageLimit(_ bytes: Int, for connection: ConnectionID) {
        state.withLock { state in
            state.webSockets[connection.rawValue]?.messageLimit = min(bytes, configuration.maxWebSocketMessageBytes)
        }
    }

    /// Closes the WebSocket `connection` with `code` and `reason` after the messages already queued. Thread-safe;
    /// ignored when the connection is gone. A client that does not read is dropped after 10 seconds.
    public func close(_ connection: ConnectionID, code: UInt16, reason: String) {
        state.withLock { state in
            let id = connection.rawValue
            guard state.webSockets[id] != nil, state.webSockets[id]!.closeRequest == nil else { return }
            state.webSockets[id]!.closeRequest = CloseRequest(code: code, reason: reason, graceSeconds: 10)
            state.requestService(for: id)
        }
    }

    /// Stops accepting, closes every connection (WebSockets get 1001 first), destroys the context on the service
    /// thread and waits for that thread to end. Idempotent and thread-safe.
    ///
    /// - warning: Called from a handler callback (the service thread), it only requests the shutdown and returns.
    public func shutdown() {
        let mustWait = state.withLock { state -> Bool in
            state.stopRequested = true
            switch state.phase {
            case .idle:
                state.phase = .stopped
                return false
            case .starting:
                break
            case .running:
                state.wakeServiceThread()
            case .stopped:
                break
            }
            if let thread = state.serviceThread, pthread_equal(thread, pthread_self()) != 0 { return false }
            return true
        }
        if mustWait { serviceGroup.wait() }
    }
}
