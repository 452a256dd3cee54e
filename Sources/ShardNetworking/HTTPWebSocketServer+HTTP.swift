#if canImport(Glibc)
import Glibc
#endif
internal import CLibWebSockets

/// The HTTP side of the service thread's callbacks: collect the request, dispatch it, write the response.
extension HTTPWebSocketServer {
    /// `LWS_CALLBACK_HTTP`: headers are in. Requests without a body are dispatched now; the others after
    /// `HTTP_BODY_COMPLETION` (answering earlier corrupts the response). A body without `Content-Length` is refused
    /// with 411 at once, because lws 4.1 never completes a chunked request body.
    func httpRequestArrived(_ wsi: OpaquePointer, session: UnsafeMutablePointer<UInt64>,
                            uri: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        session.pointee = 0
        let path = uri.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? "/"
        let method = RequestReader.method(wsi)
        let headers = RequestReader.headers(wsi, extra: configuration.extraHeaderNames)
        let declaredLength = headers["content-length"].flatMap { Int($0) }
        // lws 4.1 waits for a body after POST/PUT/PATCH headers without Content-Length (until its timeout), so
        // those are refused at once too, with a message that says what to send.
        if declaredLength == nil, headers["transfer-encoding"] != nil || ["POST", "PUT", "PATCH"].contains(method) {
            let refusal = HTTPResponse.failure(411, code: "length_required",
                                               message: "send a Content-Length header (Content-Length: 0 for no body)")
            _ = writeImmediately(wsi, refusal)
            return -1  // the unread body would be parsed as the next request: close
        }
        let contentLength = max(declaredLength ?? 0, 0)
        let exchange = HTTPExchange(wsi: UInt(bitPattern: wsi), method: method, path: path,
                                    query: RequestReader.query(wsi), headers: headers, contentLength: contentLength,
                                    bodyTooLarge: contentLength > configuration.maxRequestBodyBytes)
        let id = state.withLock { state in
            let id = state.allocateID()
            state.exchanges[id] = exchange
            return id
        }
        session.pointee = id
        if contentLength == 0 { dispatch(id) }
        return 0
    }

    /// `LWS_CALLBACK_HTTP_BODY`: appends a chunk, or discards it once the body is over the limit.
    func httpBodyArrived(_ id: UInt64, bytes: UnsafeRawBufferPointer) {
        let limit = configuration.maxRequestBodyBytes
        state.withLock { state in
            guard let exchange = state.exchanges[id], !exchange.bodyTooLarge else { return }
            if exchange.body.count + bytes.count > limit {
                state.exchanges[id]!.bodyTooLarge = true
                state.exchanges[id]!.body = []
            } else {
                state.exchanges[id]!.body.append(contentsOf: bytes)
            }
        }
    }

    /// `LWS_CALLBACK_HTTP_BODY_COMPLETION`: dispatches the request, or answers 413 without involving the handler.
    func httpBodyCompleted(_ wsi: OpaquePointer, id: UInt64) {
        let limit = configuration.maxRequestBodyBytes
        let tooLarge = state.withLock { state -> Bool? in
            guard let exchange = state.exchanges[id] else { return nil }
            guard exchange.bodyTooLarge else { return false }
            state.exchanges[id]!.response = ResponseWriter(response: .failure(
                413, code: "body_too_large", message: "the request body exceeds \(limit) bytes"))
            return true
        }
        switch tooLarge {
        case true?: lws_callback_on_writable(wsi)
        case false?: dispatch(id)
        case nil: break
        }
    }

    /// Hands the collected request to the handler (outside the lock). lws would drop a request still unanswered after
    /// its 5-second transaction timeout: that timeout is cleared so long-polls can wait as long as the client does.
    private func dispatch(_ id: UInt64) {
        let dispatched = state.withLock { state -> (HTTPRequest, UInt)? in
            guard let exchange = state.exchanges[id] else { return nil }
            state.exchanges[id]!.dispatched = true
            state.exchanges[id]!.body = []
            let request = HTTPRequest(connection: ConnectionID(rawValue: id), method: exchange.method,
                                      path: exchange.path, query: exchange.query, headers: exchange.headers,
                                      body: exchange.body)
            return (request, exchange.wsi)
        }
        guard let (request, bits) = dispatched, let wsi = OpaquePointer(bitPattern: bits) else { return }
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0)
        lws_set_timer_usecs(wsi, Self.livenessCheckMicroseconds)
        handler.httpRequest(request, server: self)
    }

    /// How often an unanswered request checks that its client is still there.
    static let livenessCheckMicroseconds: lws_usec_t = 250_000

    /// `LWS_CALLBACK_TIMER` on an HTTP connection. lws does not read from a connection while its request is
    /// unanswered, so it would not notice the client leaving; peek at the socket instead, and close the connection
    /// (reported through ``HTTPWebSocketHandler/httpConnectionClosed(_:server:)``) when the client hung up.
    func checkClientAlive(_ wsi: OpaquePointer, id: UInt64) {
        let waiting = state.withLock { state in
            state.exchanges[id].map { $0.dispatched && $0.response == nil } ?? false
        }
        guard waiting else { return }
        if clientHungUp(wsi) {
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
        } else {
            lws_set_timer_usecs(wsi, Self.livenessCheckMicroseconds)
        }
    }

    /// Whether the client of an HTTP connection has closed its side (or reset it): a peek finds end of file or an
    /// error. An HTTP/1.1 client does not half-close while it waits for an answer, so that means it is gone.
    func clientHungUp(_ wsi: OpaquePointer) -> Bool {
        var byte: UInt8 = 0
        let peeked = recv(lws_get_socket_fd(wsi), &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return peeked == 0 || (peeked < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    }

    /// What one WRITEABLE callback writes.
    private enum WriteStep {
        case nothing
        case headers(HTTPResponse, omitBody: Bool, streamed: Bool)
        case body(chunk: [UInt8], isFinal: Bool)
        case streamChunk([UInt8], more: Bool)
        case streamEnd
    }

    /// `LWS_CALLBACK_HTTP_WRITEABLE`: headers first, then one body chunk per callback; the last one completes the
    /// transaction so the connection can carry the next request (keep-alive).
    func httpWriteable(_ wsi: OpaquePointer, session: UnsafeMutablePointer<UInt64>) -> Int32 {
        let id = session.pointee
        let step = state.withLock { state -> WriteStep in
            guard let writer = state.exchanges[id]?.response else { return .nothing }
            if !writer.headersSent {
                state.exchanges[id]!.response!.headersSent = true
                return .headers(writer.response, omitBody: writer.omitBody, streamed: writer.stream != nil)
            }
            if let stream = writer.stream {
                guard let chunk = stream.chunks.first else { return stream.ended ? .streamEnd : .nothing }
                state.exchanges[id]!.response!.stream!.chunks.removeFirst()
                state.exchanges[id]!.response!.stream!.queuedBytes -= chunk.count
                return .streamChunk(chunk, more: stream.chunks.count > 1 || stream.ended)
            }
            let body = writer.response.body
            let start = writer.bodyOffset
            let end = min(start + ResponseWriter.chunkBytes, body.count)
            state.exchanges[id]!.response!.bodyOffset = end
            var chunk = [UInt8](repeating: 0, count: OutboundFrame.headroom)
            chunk.append(contentsOf: body[start ..< end])
            return .body(chunk: chunk, isFinal: end == body.count)
        }
        switch step {
        case .nothing:
            return 0
        case let .headers(response, omitBody, streamed):
            // A client that left while the answer was pending would not get it: close instead, so the handler
            // hears the answer was not written (`respond(_:to:written:)`) and can give it to someone else.
            guard !clientHungUp(wsi), writeHeaders(wsi, response, streamed: streamed) else { return -1 }
            // Pieces queued before the head was written asked for WRITEABLE already (that call wrote the head):
            // ask again, or they would wait for the next piece, which may never come.
            if streamed {
                lws_callback_on_writable(wsi)
                return 0
            }
            if response.body.isEmpty || omitBody { return completeTransaction(wsi, session: session) }
        case let .streamChunk(bytes, more):
            var chunk = [UInt8](repeating: 0, count: OutboundFrame.headroom) + bytes
            guard writeBody(wsi, &chunk, isFinal: false) else { return -1 }
            if !more { return 0 }
        case .streamEnd:
            // The body of a streamed answer ends with the connection.
            state.withLock { _ = $0.exchanges.removeValue(forKey: session.pointee) }
            session.pointee = 0
            return -1
        case .body(var chunk, let isFinal):
            guard writeBody(wsi, &chunk, isFinal: isFinal) else { return -1 }
            if isFinal { return completeTransaction(wsi, session: session) }
        }
        lws_callback_on_writable(wsi)
        return 0
    }

    /// Forgets the answered exchange and lets lws read the next request (which may arrive inside this call).
    private func completeTransaction(_ wsi: OpaquePointer, session: UnsafeMutablePointer<UInt64>) -> Int32 {
        let id = session.pointee
        let (stopping, written) = state.withLock { state in
            (state.stopRequested, state.exchanges.removeValue(forKey: id)?.written)
        }
        session.pointee = 0
        written?(true)
        // While shutting down, close after the answer instead of waiting for the next request.
        if stopping { return -1 }
        return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
    }

    /// `LWS_CALLBACK_CLOSED_HTTP`: tells the handler when a request it was working on lost its client.
    func httpClosed(session: UnsafeMutablePointer<UInt64>) {
        let id = session.pointee
        let removed = state.withLock { $0.exchanges.removeValue(forKey: id) }
        guard let removed else { return }
        session.pointee = 0
        if removed.dispatched, removed.response == nil {
            handler.httpConnectionClosed(ConnectionID(rawValue: id), server: self)
        }
        removed.written?(false)
        if let stream = removed.response?.stream, !stream.ended { stream.closed?() }
    }

    /// Writes the status line and headers (`Content-Type` always; `Content-Length`, or for a streamed answer
    /// `Connection: close`, since its body ends with the connection).
    func writeHeaders(_ wsi: OpaquePointer, _ response: HTTPResponse, streamed: Bool = false) -> Bool {
        let extra = response.headers.filter { !["content-type", "content-length"].contains($0.0.lowercased()) }
        let contentType = response.contentType
        let capacity = OutboundFrame.headroom + 512 + contentType.utf8.count
            + extra.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 8 }
        var buffer = [UInt8](repeating: 0, count: capacity)
        return buffer.withUnsafeMutableBufferPointer { buffer -> Bool in
            let start = buffer.baseAddress! + OutboundFrame.headroom
            let end = buffer.baseAddress! + capacity
            var cursor: UnsafeMutablePointer<UInt8>? = start
            let length = streamed ? lws_filepos_t.max : lws_filepos_t(response.body.count)  // max: LWS_ILLEGAL_HTTP_CONTENT_LEN
            guard lws_add_http_common_headers(wsi, UInt32(response.status), contentType, length, &cursor, end) == 0
            else { return false }
            for (name, value) in extra + (streamed ? [("Connection", "close"), ("Cache-Control", "no-cache")] : []) {
                let added = (name.lowercased() + ":").withCString { name in
                    value.withCString { value in
                        lws_add_http_header_by_name(wsi, UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self),
                                                    UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self),
                                                    Int32(strlen(value)), &cursor, end)
                    }
                }
                guard added == 0 else { return false }
            }
            return lws_finalize_write_http_header(wsi, start, &cursor, end) == 0
        }
    }

    /// Writes one body chunk (`chunk` starts with `LWS_PRE` bytes of headroom).
    private func writeBody(_ wsi: OpaquePointer, _ chunk: inout [UInt8], isFinal: Bool) -> Bool {
        let count = chunk.count - OutboundFrame.headroom
        let written = chunk.withUnsafeMutableBufferPointer { buffer in
            lws_write(wsi, buffer.baseAddress! + OutboundFrame.headroom, count,
                      isFinal ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP)
        }
        return Int(written) >= count
    }

    /// Writes a whole (small) response from inside a callback, for refusals that cannot wait for WRITEABLE.
    func writeImmediately(_ wsi: OpaquePointer, _ response: HTTPResponse) -> Bool {
        guard writeHeaders(wsi, response) else { return false }
        var chunk = [UInt8](repeating: 0, count: OutboundFrame.headroom) + response.body
        return response.body.isEmpty || writeBody(wsi, &chunk, isFinal: true)
    }
}
