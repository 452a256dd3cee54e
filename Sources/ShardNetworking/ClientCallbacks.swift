internal import CLibWebSockets

extension ClientConnection {
    /// The C callback of the client protocol. It captures nothing: the connection comes from `lws_context_user`
    /// (one context per connection).
    static func serviceCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                                _ input: UnsafeMutableRawPointer?, _ length: Int) -> Int32 {
        guard let wsi, let context = lws_get_context(wsi), let raw = lws_context_user(context) else { return 0 }
        let connection = Unmanaged<ClientConnection>.fromOpaque(raw).takeUnretainedValue()
        switch reason {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
            guard let input else { return 0 }
            return connection.appendHeaders(wsi, cursor: input.assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self),
                                            space: length)
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            connection.established(wsi)
            return 0
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            let reason = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "unknown error"
            connection.failed(reason)
            return 0
        case LWS_CALLBACK_CLIENT_RECEIVE:
            return connection.received(wsi, bytes: UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length))
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            return connection.writeable(wsi)
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            connection.peerClosed(UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length))
            return 0
        case LWS_CALLBACK_CLIENT_CLOSED:
            connection.closed()
            return 0
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            connection.serviceWakeup()
            return 0
        default:
            return lws_callback_http_dummy(wsi, reason, user, input, length)
        }
    }

    /// Adds the caller's headers to the upgrade request.
    private func appendHeaders(_ wsi: OpaquePointer, cursor: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>,
                               space: Int) -> Int32 {
        guard let start = cursor.pointee else { return -1 }
        let end = start + space
        for (name, value) in headers {
            let failed = (name.lowercased() + ":").withCString { name in
                value.withCString { value in
                    lws_add_http_header_by_name(wsi, UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self),
                                                UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self),
                                                Int32(value.utf8Count), cursor, end)
                }
            }
            if failed != 0 { return -1 }
        }
        return 0
    }

    private func established(_ wsi: OpaquePointer) {
        let waiter = state.withLock { state in
            state.phase = .open
            state.wsi = UInt(bitPattern: wsi)
            return state.settleConnect(.success(()))
        }
        waiter?.resume()
    }

    private func failed(_ reason: String) {
        let (waiter, error) = state.withLock { state in
            let error = state.abortError ?? NetworkError(.connectFailed, "\(target.host):\(target.port): \(reason)")
            state.phase = .closed
            state.finished = true
            state.endError = state.endError ?? error
            return (state.settleConnect(.failure(error)), error)
        }
        waiter?.resume(throwing: error)
        continuation.finish(throwing: error)
    }

    /// Reassembles fragments; delivers complete messages to the stream in order.
    private func received(_ wsi: OpaquePointer, bytes: UnsafeRawBufferPointer) -> Int32 {
        let isFinal = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
        let isBinary = lws_frame_is_binary(wsi) != 0
        let limit = maxMessageBytes
        let complete = state.withLock { state -> (bytes: [UInt8], isBinary: Bool)?? in
            if state.partial.count + bytes.count > limit {
                state.partial = []
                state.localFailure = NetworkError(.messageTooLarge, "a received message exceeds \(limit) bytes")
                return .some(nil)
            }
            if state.partial.isEmpty { state.partialIsBinary = isBinary }
            state.partial.append(contentsOf: bytes)
            guard isFinal else { return nil }
            defer { state.partial = [] }
            return (state.partial, state.partialIsBinary)
        }
        guard let complete else { return 0 }
        guard let (payload, binary) = complete else {
            return closeNow(wsi, code: 1009, reason: "message exceeds \(limit) bytes")
        }
        if binary {
            if let handler = state.withLock({ $0.binaryHandler }) { handler(payload) } else {
                continuation.yield(.binary(payload))
            }
        } else if let text = String(validating: payload, as: UTF8.self) {
            continuation.yield(.text(text))
        } else {
            state.withLock { $0.localFailure = NetworkError(.protocolViolation, "text message is not valid UTF-8") }
            return closeNow(wsi, code: 1007, reason: "text message is not valid UTF-8")
        }
        return 0
    }

    /// One frame per callback; the requested close once the outbox is empty.
    private func writeable(_ wsi: OpaquePointer) -> Int32 {
        let (frame, more, close) = state.withLock { state -> (OutboundFrame?, Bool, CloseRequest?) in
            if let frame = state.outbox.pop() {
                return (frame, !state.outbox.isEmpty || state.closeRequest != nil, nil)
            }
            return (nil, false, state.closeRequest)
        }
        if var frame {
            guard frame.write(to: wsi) else { return -1 }
            if more { lws_callback_on_writable(wsi) }
            return 0
        }
        if let close { return closeNow(wsi, code: close.code, reason: close.reason) }
        return 0
    }

    /// Records the server's close code (first two bytes, big-endian) and reason; lws then echoes the close.
    private func peerClosed(_ payload: UnsafeRawBufferPointer) {
        guard payload.count >= 2 else { return }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        let reason = String(decoding: payload.dropFirst(2), as: UTF8.self)
        state.withLock { $0.peerClose = (code, reason) }
    }

    /// Ends the stream: normally after a local close or a peer's 1000, with ``NetworkError/closed(code:reason:)``
    /// otherwise (1006 when the connection dropped without a close frame).
    private func closed() {
        let error = state.withLock { state -> NetworkError? in
            state.phase = .closed
            state.wsi = 0
            state.finished = true
            if let failure = state.localFailure {
                state.endError = failure
                return failure
            }
            if state.closedLocally { return nil }
            let code = state.peerClose?.code ?? 1006
            let reason = state.peerClose?.reason ?? "connection lost"
            state.endError = .closed(code: code, reason: reason)
            return code == 1000 ? nil : state.endError
        }
        if let error { continuation.finish(throwing: error) } else { continuation.finish() }
    }

    /// `LWS_CALLBACK_EVENT_WAIT_CANCELLED`: stop when aborted, else ask for WRITEABLE when there is output or a close.
    private func serviceWakeup() {
        let (wsi, dropAfter) = state.withLock { state -> (UInt, Int32?) in
            state.wakePending = false
            if state.abortError != nil, state.phase == .connecting {
                state.finished = true
                return (0, nil)
            }
            guard state.wsi != 0, !state.outbox.isEmpty || state.closeRequest != nil else { return (0, nil) }
            var dropAfter: Int32?
            if let close = state.closeRequest, !state.closeTimerArmed {
                state.closeTimerArmed = true
                dropAfter = close.graceSeconds
            }
            return (state.wsi, dropAfter)
        }
        guard let connection = OpaquePointer(bitPattern: wsi) else { return }
        lws_callback_on_writable(connection)
        if let dropAfter { lws_set_timeout(connection, PENDING_TIMEOUT_USER_OK, dropAfter) }
    }
}

private extension UnsafePointer<CChar> {
    /// Length of the C string.
    var utf8Count: Int { strlen(self) }
}
