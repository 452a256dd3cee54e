/// Streamed HTTP answers (server-sent events): the head now, the body in pieces as they come, the end by closing
/// the connection (no `Content-Length`). Thread-safe, like ``HTTPWebSocketServer/respond(_:to:written:)``.
extension HTTPWebSocketServer {
    /// Starts a streamed answer to `connection` with `head`'s status and headers (its body, if any, is the first
    /// piece). `closed` is called (on the service thread) if the client goes away before ``streamEnd(_:)``.
    ///
    /// - Returns: whether the answer was taken: `false` when the client is gone or the request was answered.
    @discardableResult
    public func respondStream(_ head: HTTPResponse, to connection: ConnectionID,
                              closed: (@Sendable () -> Void)? = nil) -> Bool {
        state.withLock { state in
            guard let exchange = state.exchanges[connection.rawValue], exchange.dispatched,
                  exchange.response == nil else { return false }
            var writer = ResponseWriter(response: HTTPResponse(status: head.status, headers: head.headers))
            writer.stream = StreamState(chunks: head.body.isEmpty ? [] : [head.body], queuedBytes: head.body.count,
                                        closed: closed)
            state.exchanges[connection.rawValue]?.response = writer
            state.requestService(for: connection.rawValue)
            return true
        }
    }

    /// Queues the next piece of a streamed answer. Returns `false` when the client is gone or reads so slowly that
    /// more than ``Configuration/maxQueuedBytesPerConnection`` would be waiting (then stop streaming to it).
    public func streamWrite(_ bytes: [UInt8], to connection: ConnectionID) -> Bool {
        state.withLock { state in
            let id = connection.rawValue
            guard let stream = state.exchanges[id]?.response?.stream, !stream.ended,
                  stream.queuedBytes + bytes.count <= configuration.maxQueuedBytesPerConnection else { return false }
            state.exchanges[id]!.response!.stream!.chunks.append(bytes)
            state.exchanges[id]!.response!.stream!.queuedBytes += bytes.count
            state.requestService(for: id)
            return true
        }
    }

    /// Ends a streamed answer: the connection closes once everything queued was written.
    public func streamEnd(_ connection: ConnectionID) {
        state.withLock { state in
            let id = connection.rawValue
            guard state.exchanges[id]?.response?.stream != nil else { return }
            state.exchanges[id]!.response!.stream!.ended = true
            state.requestService(for: id)
        }
    }
}
