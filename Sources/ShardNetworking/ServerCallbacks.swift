internal import CLibWebSockets

extension HTTPWebSocketServer {
    /// The C callback of the server's protocol. It captures nothing: the server comes from `lws_context_user`
    /// (an unretained pointer; the service thread keeps the server alive) and the connection from the 8-byte
    /// per-session data, which holds the current ``ConnectionID`` raw value (0 = none).
    static func serviceCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                                _ input: UnsafeMutableRawPointer?, _ length: Int) -> Int32 {
        guard let wsi, let context = lws_get_context(wsi), let raw = lws_context_user(context) else { return 0 }
        let server = Unmanaged<HTTPWebSocketServer>.fromOpaque(raw).takeUnretainedValue()
        let session = user?.assumingMemoryBound(to: UInt64.self)
        switch reason {
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            server.serviceWakeups()
            return 0
        case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
            // Stop accepting once shutdown has begun.
            return server.state.withLock { $0.stopRequested } ? 1 : 0
        case LWS_CALLBACK_HTTP:
            guard let session else { return -1 }
            return server.httpRequestArrived(wsi, session: session, uri: input, length: length)
        case LWS_CALLBACK_HTTP_BODY:
            guard let session, let input else { return 0 }
            server.httpBodyArrived(session.pointee, bytes: UnsafeRawBufferPointer(start: input, count: length))
            return 0
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            guard let session else { return -1 }
            server.httpBodyCompleted(wsi, id: session.pointee)
            return 0
        case LWS_CALLBACK_HTTP_WRITEABLE:
            guard let session else { return 0 }
            return server.httpWriteable(wsi, session: session)
        case LWS_CALLBACK_CLOSED_HTTP:
            if let session { server.httpClosed(session: session) }
            return 0
        case LWS_CALLBACK_TIMER:
            if let session, session.pointee != 0 { server.checkClientAlive(wsi, id: session.pointee) }
            return 0
        case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
            return server.confirmUpgrade(wsi)
        case LWS_CALLBACK_ESTABLISHED:
            guard let session else { return -1 }
            server.webSocketEstablished(wsi, session: session)
            return 0
        case LWS_CALLBACK_RECEIVE:
            guard let session else { return -1 }
            return server.webSocketReceived(wsi, id: session.pointee,
                                            bytes: UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length))
        case LWS_CALLBACK_SERVER_WRITEABLE:
            guard let session else { return 0 }
            return server.webSocketWriteable(wsi, id: session.pointee)
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            if let session, session.pointee != 0 { server.webSocketClosing(id: session.pointee) }
            return 0
        case LWS_CALLBACK_CLOSED:
            if let session { server.webSocketClosed(session: session) }
            return 0
        default:
            return lws_callback_http_dummy(wsi, reason, user, input, length)
        }
    }
}
