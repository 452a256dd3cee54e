import ShardSync

internal import CLibWebSockets

/// The engine behind a ``WebSocketClient``: one libwebsockets context and one service thread per connection.
/// The service thread retains it until the context is destroyed.
final class ClientConnection: Sendable {
    let target: WebSocketURL
    let headers: [(String, String)]
    let maxMessageBytes: Int
    /// All mutable state; see ``ClientState``.
    let state = Locked(ClientState())
    /// Every received message, in order.
    let messages: AsyncThrowingStream<WebSocketMessage, any Error>
    let continuation: AsyncThrowingStream<WebSocketMessage, any Error>.Continuation

    static let protocolName = "shard-ws-client"

    init(target: WebSocketURL, headers: [String: String], maxMessageBytes: Int) {
        self.target = target
        self.headers = headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        self.maxMessageBytes = maxMessageBytes
        (messages, continuation) = AsyncThrowingStream.makeStream()
        continuation.onTermination = { [weak self] termination in
            // The consumer stopped listening: nobody reads the connection any more.
            if case .cancelled = termination { self?.close(code: 1001, reason: "client stopped reading") }
        }
    }

    /// Starts the service thread, which connects.
    func start() {
        ServiceThread { [self] in runService() }.start()
    }

    /// Suspends `waiter` until the handshake succeeds or fails.
    func awaitConnection(_ waiter: CheckedContinuation<Void, any Error>) {
        let outcome = state.withLock { state -> Result<Void, NetworkError>? in
            if state.connectOutcome == nil { state.connectWaiter = waiter }
            return state.connectOutcome
        }
        outcome?.resume(waiter)
    }

    /// Gives up a connection attempt still in progress (timeout, cancellation).
    func abort(_ error: NetworkError) {
        state.withLock { state in
            guard state.phase == .connecting, state.abortError == nil else { return }
            state.abortError = error
            state.wakeServiceThread()
        }
    }

    /// Closes after the queued messages; while connecting, abandons the attempt.
    func close(code: UInt16, reason: String) {
        state.withLock { state in
            switch state.phase {
            case .connecting:
                guard state.abortError == nil else { return }
                state.abortError = NetworkError(.cancelled, "closed before the connection was established")
            case .open:
                guard state.closeRequest == nil else { return }
                state.closeRequest = CloseRequest(code: code, reason: reason, graceSeconds: 5)
                state.closedLocally = true
                state.endError = .closed(code: code, reason: reason)
            case .closed:
                return
            }
            state.wakeServiceThread()
        }
    }

    /// The service thread: creates the context, connects, services until the connection ends, destroys the context.
    private func runService() {
        _ = configureLibWebSocketsLogging
        let allocations = CAllocations()
        defer { allocations.freeAll() }
        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        let protocols = allocations.protocols(name: Self.protocolName, sessionBytes: 0, rxBufferBytes: 64 << 10)
        protocols[0].callback = { wsi, reason, user, input, length in
            ClientConnection.serviceCallback(wsi, reason, user, input, length)
        }
        info.protocols = UnsafePointer(protocols)
        info.gid = -1
        info.uid = -1
        info.options = UInt64(LWS_SERVER_OPTION_VALIDATE_UTF8)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        guard let context = lws_create_context(&info) else {
            end(NetworkError(.connectFailed, "could not create a libwebsockets context"))
            return
        }
        let proceed = state.withLock { state -> Bool in
            guard state.abortError == nil else { return false }
            state.context = UInt(bitPattern: context)
            return true
        }
        if proceed {
            var connect = lws_client_connect_info()
            connect.context = context
            connect.address = UnsafePointer(allocations.string(target.host))
            connect.port = Int32(target.port)
            connect.path = UnsafePointer(allocations.string(target.pathAndQuery))
            connect.host = UnsafePointer(allocations.string(target.port == 80 ? target.host : "\(target.host):\(target.port)"))
            connect.origin = connect.host
            connect.ietf_version_or_minus_one = -1
            connect.local_protocol_name = UnsafePointer(allocations.string(Self.protocolName))
            // lws may write the connection pointer here later (even NULL on failure): it must outlive the context.
            connect.pwsi = allocations.zeroed(OpaquePointer?.self)
            if lws_client_connect_via_info(&connect) == nil {
                state.withLock { state in
                    if state.connectOutcome == nil, state.localFailure == nil {
                        state.localFailure = NetworkError(.connectFailed,
                                                          "could not start connecting to \(target.host):\(target.port)")
                    }
                    state.finished = true
                }
            }
            while !state.withLock({ $0.finished }) {
                if lws_service(context, 0) < 0 { break }
            }
        }
        state.withLock { $0.context = 0 }
        lws_context_destroy(context)
        end(NetworkError(.connectFailed, "connection to \(target.host):\(target.port) ended"))
    }

    /// Settles whatever is still open once the context is gone: the connect waiter and the message stream.
    private func end(_ fallback: NetworkError) {
        let (waiter, outcome, streamError) = state.withLock { state in
            let error = state.abortError ?? state.localFailure ?? fallback
            state.phase = .closed
            state.finished = true
            if state.endError == nil { state.endError = error }
            let waiter = state.settleConnect(.failure(error))
            return (waiter, state.connectOutcome!, state.endError!)
        }
        outcome.resume(waiter)
        continuation.finish(throwing: streamError)  // no effect when the stream already finished
    }
}
