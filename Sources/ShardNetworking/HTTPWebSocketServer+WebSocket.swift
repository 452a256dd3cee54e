internal import CLibWebSockets

/// The WebSocket side of the service thread's callbacks: upgrade checks, reassembly, one frame per WRITEABLE, close.
extension HTTPWebSocketServer {
    /// `LWS_CALLBACK_HTTP_CONFIRM_UPGRADE`: refuses upgrades on unknown paths (404) or when
    /// ``Configuration/acceptWebSocket`` returns a status, with a JSON error body.
    func confirmUpgrade(_ wsi: OpaquePointer) -> Int32 {
        let path = RequestReader.getPath(wsi)
        let refusal: HTTPResponse
        if !configuration.webSocketPaths.contains(path) {
            refusal = .failure(404, code: "not_found", message: "no WebSocket endpoint at \(path)")
        } else if state.withLock({ $0.webSockets.count }) >= configuration.maxWebSocketConnections {
            refusal = .failure(503, code: "too_many_connections",
                               message: "the server has \(configuration.maxWebSocketConnections) WebSocket connections")
        } else if let accept = configuration.acceptWebSocket,
                  let status = accept(path, RequestReader.headers(wsi, extra: configuration.extraHeaderNames)) {
            refusal = .failure(status, code: status == 401 ? "unauthorized" : "upgrade_refused",
                               message: "WebSocket upgrade refused")
        } else {
            return 0
        }
        // > 0 tells lws that we answered; it completes the transaction itself.
        return writeImmediately(wsi, refusal, upgrade: true) ? 1 : -1
    }

    /// `LWS_CALLBACK_ESTABLISHED`: registers the session and tells the handler (the header table is still attached).
    func webSocketEstablished(_ wsi: OpaquePointer, session: UnsafeMutablePointer<UInt64>) {
        let path = RequestReader.getPath(wsi)
        let query = RequestReader.query(wsi)
        let headers = RequestReader.headers(wsi, extra: configuration.extraHeaderNames)
        let limit = configuration.maxQueuedBytesPerConnection
        let id = state.withLock { state in
            let id = state.allocateID()
            state.webSockets[id] = WebSocketSession(
                wsi: UInt(bitPattern: wsi), outbox: Outbox(limit: limit),
                messageLimit: min(configuration.initialWebSocketMessageBytes ?? .max, configuration.maxWebSocketMessageBytes))
            return id
        }
        session.pointee = id
        handler.webSocketOpened(ConnectionID(rawValue: id), path: path, query: query, headers: headers, server: self)
    }

    /// What a received chunk completed.
    private enum Reassembly {
        case partial
        case message([UInt8], isBinary: Bool)
        case tooLarge
    }

    /// `LWS_CALLBACK_RECEIVE`: appends the chunk; a message is complete at the final fragment with no payload left.
    /// Over the limit: close 1009. Text that is not UTF-8: close 1007 (lws also checks, with `VALIDATE_UTF8`).
    func webSocketReceived(_ wsi: OpaquePointer, id: UInt64, bytes: UnsafeRawBufferPointer) -> Int32 {
        let isFinal = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
        let isBinary = lws_frame_is_binary(wsi) != 0
        var limit = configuration.maxWebSocketMessageBytes
        let outcome = state.withLock { state -> Reassembly in
            guard let session = state.webSockets[id] else { return .partial }
            limit = session.messageLimit
            if session.partial.count + bytes.count > limit {
                state.webSockets[id]!.partial = []
                return .tooLarge
            }
            if session.partial.isEmpty { state.webSockets[id]!.partialIsBinary = isBinary }
            state.webSockets[id]!.partial.append(contentsOf: bytes)
            guard isFinal else { return .partial }
            let message = state.webSockets[id]!.partial
            state.webSockets[id]!.partial = []
            return .message(message, isBinary: state.webSockets[id]!.partialIsBinary)
        }
        switch outcome {
        case .partial:
            return 0
        case .tooLarge:
            return closeNow(wsi, code: 1009, reason: "message exceeds \(limit) bytes")
        case let .message(bytes, isBinary: true):
            handler.webSocketMessage(.binary(bytes), connection: ConnectionID(rawValue: id), server: self)
        case let .message(bytes, isBinary: false):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return closeNow(wsi, code: 1007, reason: "text message is not valid UTF-8")
            }
            handler.webSocketMessage(.text(text), connection: ConnectionID(rawValue: id), server: self)
        }
        return 0
    }

    /// `LWS_CALLBACK_SERVER_WRITEABLE`: writes one queued frame (asking for another callback if more is queued), or
    /// performs the requested close once the outbox is empty.
    func webSocketWriteable(_ wsi: OpaquePointer, id: UInt64) -> Int32 {
        enum Step { case nothing, frame(OutboundFrame, more: Bool), close(CloseRequest) }
        let step = state.withLock { state -> Step in
            guard let session = state.webSockets[id] else { return .nothing }
            if let frame = state.webSockets[id]!.outbox.pop() {
                return .frame(frame, more: !state.webSockets[id]!.outbox.isEmpty || session.closeRequest != nil)
            }
            return session.closeRequest.map { .close($0) } ?? .nothing
        }
        switch step {
        case .nothing:
            return 0
        case .frame(var frame, let more):
            guard frame.write(to: wsi) else { return -1 }
            if more { lws_callback_on_writable(wsi) }
            return 0
        case let .close(request):
            return closeNow(wsi, code: request.code, reason: request.reason)
        }
    }

    /// `LWS_CALLBACK_WS_PEER_INITIATED_CLOSE`: the client sent a close frame; remembered for the handler.
    func webSocketClosing(id: UInt64) {
        state.withLock { _ = $0.webSockets[id]?.closedByClient = true }
    }

    /// `LWS_CALLBACK_CLOSED`: forgets the session and tells the handler whether the client closed it deliberately.
    func webSocketClosed(session: UnsafeMutablePointer<UInt64>) {
        let id = session.pointee
        guard let removed = state.withLock({ $0.webSockets.removeValue(forKey: id) }) else { return }
        session.pointee = 0
        handler.webSocketClosed(ConnectionID(rawValue: id), byClient: removed.closedByClient, server: self)
    }
}

/// Sets the close frame's code and reason and returns -1, which makes lws send it and close. Reasons are cut to the
/// 123 bytes a close frame allows.
func closeNow(_ wsi: OpaquePointer, code: UInt16, reason: String) -> Int32 {
    var bytes = Array(reason.utf8.prefix(123))
    while String(validating: bytes, as: UTF8.self) == nil { bytes.removeLast() }
    bytes.withUnsafeMutableBufferPointer { buffer in
        lws_close_reason(wsi, lws_close_status(rawValue: UInt32(code)), buffer.baseAddress, buffer.count)
    }
    return -1
}
