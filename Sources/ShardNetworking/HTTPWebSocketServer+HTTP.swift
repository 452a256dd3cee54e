#if canImport(Glibc)
import Glibc
#endif
internal import CLibWebSockets

/// The HTTP side of the service thread's callbacks: collect the request, dispatch it, write the response.
extension HTTPWebSocketServer {
    /// `LWS_CALLBACK_HTTP`: headers are in. Requests without a body are dispatched now; the others after
    /// `HTTP_BODY_COMPLETION` (answering earlier corrupts the response). A chunked body is refused with 411 at once,
    /// because lws 4.1 never completes one. A POST, PUT or PATCH with neither `Content-Length` nor
    /// `Transfer-Encoding` has an empty body (RFC 9112 §6.3), as `curl -X POST` sends it; lws 4.1 would wait for a
    /// body, so it is dispatched now and its connection closes after the answer.
    func httpRequestArrived(_ wsi: OpaquePointer, session: UnsafeMutablePointer<UInt64>,
                            uri: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        session.pointee = 0
        let path = uri.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? "/"
        let method = RequestReader.method(wsi)
        let headers = RequestReader.headers(wsi, extra: configuration.extraHeaderNames)
        let declaredLength = headers["content-length"].flatMap { Int($0) }
        if declaredLength == nil, headers["transfer-encoding"] != nil {
            let refusal = HTTPResponse.failure(411, code: "length_required",
                                               message: "send the body with a Content-Length header, not chunked")
            _ = writeImmediately(wsi, refusal)
            return -1  // the unread body would be parsed as the next request: close
        }
        let contentLength = max(declaredLength ?? 0, 0)
        var exchange = HTTPExchange(wsi: UInt(bitPattern: wsi), method: method, path: path,
                                    query: RequestReader.query(wsi), headers: headers, contentLength: contentLength,
                                    bodyTooLarge: contentLength > configuration.maxRequestBodyBytes)
        // lws 4.1 waits for 100 MiB of body after such headers: the connection cannot carry another request.
        exchange.closeAfterAnswer = declaredLength == nil && ["POST", "PUT", "PATCH"].contains(method)
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
            guard let exchange = state.exchanges[id], let writer = exchange.response else { return .nothing }
            if !writer.headersSent {
                state.exchanges[id]!.response!.headersSent = true
                var response = writer.response
                if exchange.closeAfterAnswer, writer.stream == nil { response.headers.append(("Connection", "close")) }
                return .headers(response, omitBody: writer.omitBody, streamed: writer.stream != nil)
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
        let (stopping, exchange) = state.withLock { state in
            (state.stopRequested, state.exchanges.removeValue(forKey: id))
        }
        session.pointee = 0
        exchange?.written?(true)
        // While shutting down, close after the answer instead of waiting for the next request.
        if stopping || exchange?.closeAfterAnswer == true { return -1 }
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
    /// `Connection: close`, since its body ends with the connection). `upgrade`: the answer refuses a WebSocket
    /// upgrade, before lws has read the request's HTTP version (it would answer `HTTP/1.0`); an upgrade is HTTP/1.1.
    func writeHeaders(_ wsi: OpaquePointer, _ response: HTTPResponse, streamed: Bool = false,
                      upgrade: Bool = false) -> Bool {
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
            var fields = extra + (streamed ? [("Connection", "close"), ("Cache-Control", "no-cache")] : [])
            if upgrade {
                guard Self.addHeader(wsi, name: nil, value: response.statusLine, &cursor, end) else { return false }
                fields = [("Content-Type", contentType), ("Content-Length", "\(response.body.count)")] + fields
            } else {
                guard lws_add_http_common_headers(wsi, UInt32(response.status), contentType, length, &cursor, end) == 0
                else { return false }
            }
            for (name, value) in fields {
                guard Self.addHeader(wsi, name: name.lowercased() + ":", value: value, &cursor, end) else { return false }
            }
            return lws_finalize_write_http_header(wsi, start, &cursor, end) == 0
        }
    }

    /// Adds `name: value` to a header block (`name` `nil`: `value` is the status line).
    private static func addHeader(_ wsi: OpaquePointer, name: String?, value: String,
                                  _ cursor: inout UnsafeMutablePointer<UInt8>?, _ end: UnsafeMutablePointer<UInt8>) -> Bool {
        value.withCString { value in
            let bytes = UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self)
            guard let name else { return lws_add_http_header_by_name(wsi, nil, bytes, Int32(strlen(value)), &cursor, end) == 0 }
            return name.withCString { name in
                lws_add_http_header_by_name(wsi, UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self), bytes,
                                            Int32(strlen(value)), &cursor, end) == 0
            }
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
    func writeImmediately(_ wsi: OpaquePointer, _ response: HTTPResponse, upgrade: Bool = false) -> Bool {
        guard writeHeaders(wsi, response, upgrade: upgrade) else { return false }
        var chunk = [UInt8](repeating: 0, count: OutboundFrame.headroom) + response.body
        return response.body.isEmpty || writeBody(wsi, &chunk, isFinal: true)
    }
}
