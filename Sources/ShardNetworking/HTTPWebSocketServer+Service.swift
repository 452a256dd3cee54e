#if canImport(Glibc)
import Glibc
#endif
internal import CLibWebSockets
import Dispatch

extension HTTPWebSocketServer {
    /// The protocol name of the server's one protocol (HTTP and WebSocket share it; it is the vhost default).
    static let protocolName = "shard-http-ws"

    /// The service thread: binds the listening socket (``FrontDoor``), creates the context, reports the port,
    /// services until shutdown, then destroys the context and frees the C allocations, all on this thread.
    func runService(startup: StartupSignal) {
        _ = configureLibWebSocketsLogging
        let listening: (socket: Int32, port: Int)
        do throws(NetworkError) {
            listening = try FrontDoor.listen(host: configuration.host, port: configuration.port)
        } catch {
            state.withLock { $0.phase = .stopped }
            startup.finish(.failure(error))
            return
        }
        let allocations = CAllocations()
        defer { allocations.freeAll() }
        var info = lws_context_creation_info()
        // The front door listens and hands each connection over once its first head checked out.
        info.port = CONTEXT_PORT_NO_LISTEN_SERVER
        // Whatever head the front door accepts must fit libwebsockets' header buffer.
        info.max_http_header_data = UInt16(clamping: configuration.maxRequestHeadBytes + 1024)
        let protocols = allocations.protocols(name: Self.protocolName, sessionBytes: MemoryLayout<UInt64>.size,
                                              rxBufferBytes: 64 << 10)
        protocols[0].callback = { wsi, reason, user, input, length in
            HTTPWebSocketServer.serviceCallback(wsi, reason, user, input, length)
        }
        info.protocols = UnsafePointer(protocols)
        info.pvo = UnsafePointer(allocations.defaultProtocolOption(protocolName: Self.protocolName))
        info.gid = -1
        info.uid = -1
        info.options = UInt64(LWS_SERVER_OPTION_VALIDATE_UTF8)
            | (configuration.host.contains(":") ? 0 : UInt64(LWS_SERVER_OPTION_DISABLE_IPV6))
        info.keepalive_timeout = Int32(configuration.keepAliveTimeoutSeconds)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        state.withLock { $0.serviceThread = pthread_self() }

        guard let context = lws_create_context(&info), let vhost = lws_get_vhost_by_name(context, "default") else {
            Glibc.close(listening.socket)
            state.withLock { $0.phase = .stopped }
            startup.finish(.failure(NetworkError(.bindFailed, "could not create the libwebsockets context")))
            return
        }
        let proceed = state.withLock { state -> Bool in
            guard !state.stopRequested else {
                state.phase = .stopped
                return false
            }
            state.phase = .running(context: UInt(bitPattern: context))
            return true
        }
        guard proceed else {
            Glibc.close(listening.socket)
            lws_context_destroy(context)
            startup.finish(.failure(NetworkError(.invalidState, "shut down while starting")))
            return
        }
        let limits = FrontDoor.Limits(headBytes: configuration.maxRequestHeadBytes,
                                      headSeconds: configuration.requestHeadTimeoutSeconds,
                                      maxPending: configuration.maxConnectionsAwaitingHead)
        let frontDoor = FrontDoor(listener: listening.socket, limits: limits) { [state] socket, bytes in
            state.withLock { state in
                state.adoptions.append(Adoption(socket: socket, bytes: bytes))
                state.wakeServiceThread()
            }
        }
        frontDoor.start()
        startup.finish(.success(listening.port))
        serve(context, vhost: vhost, frontDoor: frontDoor)
        frontDoor.stop()
        // Cleared under the lock first, so no other thread calls lws_cancel_service on a destroyed context.
        let unadopted = state.withLock { state in
            state.phase = .stopped
            defer { state.adoptions = [] }
            return state.adoptions
        }
        for adoption in unadopted { Glibc.close(adoption.socket) }
        lws_context_destroy(context)
    }

    /// Runs `lws_service` until a requested shutdown has drained every connection (or its deadline passed); hands
    /// the connections the front door accepted to libwebsockets between service calls (never inside a callback).
    private func serve(_ context: OpaquePointer, vhost: OpaquePointer, frontDoor: FrontDoor) {
        var drainDeadline: ContinuousClock.Instant?
        while true {
            if lws_service(context, 0) < 0 { return }
            let adoptions = state.withLock { state in
                defer { state.adoptions.removeAll(keepingCapacity: true) }
                return state.adoptions
            }
            for adoption in adoptions {
                // On failure lws closes the socket itself.
                _ = adoption.bytes.withUnsafeBytes { bytes in
                    lws_adopt_socket_vhost_readbuf(vhost, adoption.socket,
                                                   bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
                }
            }
            let (stopping, open) = state.withLock { ($0.stopRequested, $0.exchanges.count + $0.webSockets.count) }
            guard stopping else { continue }
            if drainDeadline == nil {
                drainDeadline = .now + .seconds(2)
                frontDoor.stop()
                beginDrain()
                // Wakes the loop at the deadline even if no connection event arrives.
                DispatchQueue.global().asyncAfter(deadline: .now() + 2.05) { [self] in
                    state.withLock { $0.wakeServiceThread() }
                }
            }
            if open == 0 || ContinuousClock.now >= drainDeadline! { return }
        }
    }

    /// Closes WebSockets with 1001 after their queued messages (final events must reach the client), dropping them
    /// after a second if they do not read; HTTP responses already handed over are written first (their events
    /// were taken from the log for them), pending HTTP requests without one are dropped.
    private func beginDrain() {
        let (sockets, answered, pending) = state.withLock { state -> ([UInt], [UInt], [UInt]) in
            for id in state.webSockets.keys {
                state.webSockets[id]!.closeRequest = CloseRequest(code: 1001, reason: "server shutting down",
                                                                  graceSeconds: 1)
                state.webSockets[id]!.closeTimerArmed = true
            }
            let exchanges = state.exchanges.values
            return (state.webSockets.values.map(\.wsi), exchanges.filter { $0.response != nil }.map(\.wsi),
                    exchanges.filter { $0.response == nil }.map(\.wsi))
        }
        for bits in sockets + answered {
            let wsi = OpaquePointer(bitPattern: bits)!
            lws_callback_on_writable(wsi)
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, 1)
        }
        for bits in pending {
            lws_set_timeout(OpaquePointer(bitPattern: bits)!, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
        }
    }

    /// `LWS_CALLBACK_EVENT_WAIT_CANCELLED`: asks for WRITEABLE on every connection with queued output or a close,
    /// and arms the fallback timer of new closes (a client that never reads never becomes writable).
    func serviceWakeups() {
        let work = state.withLock { state -> [(wsi: UInt, dropAfter: Int32?)] in
            state.wakePending = false
            var work: [(wsi: UInt, dropAfter: Int32?)] = []
            for id in state.wakeups {
                if let session = state.webSockets[id] {
                    var dropAfter: Int32?
                    if let close = session.closeRequest, !session.closeTimerArmed {
                        state.webSockets[id]!.closeTimerArmed = true
                        dropAfter = close.graceSeconds
                    }
                    work.append((session.wsi, dropAfter))
                } else if let exchange = state.exchanges[id] {
                    work.append((exchange.wsi, nil))
                }
            }
            state.wakeups.removeAll(keepingCapacity: true)
            return work
        }
        for item in work {
            let wsi = OpaquePointer(bitPattern: item.wsi)!
            lws_callback_on_writable(wsi)
            if let seconds = item.dropAfter { lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, seconds) }
        }
    }
}
