import Dispatch

/// A WebSocket client over libwebsockets (plain `ws://`), with its own service thread.
///
/// Messages arrive on ``messages`` in order; ``send(_:)`` and ``close(code:reason:)`` are thread-safe.
/// Releasing the client closes the connection (1001), so keep a reference while using ``messages``.
public final class WebSocketClient: Sendable {
    private let connection: ClientConnection

    private init(connection: ClientConnection) { self.connection = connection }

    deinit { connection.close(code: 1001, reason: "client released") }

    /// Connects to `url` (`ws://host:port/path?query`) sending `headers` with the upgrade request.
    ///
    /// - parameter maxMessageBytes: larger incoming messages close the connection with 1009.
    /// - throws: ``NetworkError/Kind/connectFailed`` with libwebsockets' reason (refused, upgrade answered with an
    ///   HTTP error...), ``NetworkError/Kind/invalidURL``, ``NetworkError/Kind/timeout`` after `timeout`,
    ///   ``NetworkError/Kind/cancelled`` when the task is cancelled.
    public static func connect(to url: String, headers: [String: String] = [:], maxMessageBytes: Int = 64 << 20,
                               timeout: Duration = .seconds(10)) async throws(NetworkError) -> WebSocketClient {
        let target = try WebSocketURL(parsing: url)
        let connection = ClientConnection(target: target, headers: headers, maxMessageBytes: maxMessageBytes)
        connection.start()
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let timer = DispatchWorkItem { [connection] in
            connection.abort(NetworkError(.timeout, "no connection to \(url) within \(timeout)"))
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: timer)
        defer { timer.cancel() }
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
                    connection.awaitConnection(waiter)
                }
            } onCancel: {
                connection.abort(NetworkError(.cancelled, "connecting to \(url) was cancelled"))
            }
        } catch let error as NetworkError {
            throw error
        } catch {
            throw NetworkError(.connectFailed, "\(error)")
        }
        return WebSocketClient(connection: connection)
    }

    /// Queues `message`. Thread-safe and non-blocking.
    ///
    /// - throws: ``NetworkError/Kind/closed(code:reason:)`` (or the error that ended the connection) once closed.
    public func send(_ message: WebSocketMessage) throws(NetworkError) {
        let frame = OutboundFrame(message)
        try connection.state.withLock { (state: inout ClientState) throws(NetworkError) in
            guard state.phase == .open, state.closeRequest == nil else {
                throw state.endError ?? .closed(code: 1006, reason: "not connected")
            }
            _ = state.outbox.push(frame)
            state.wakeServiceThread()
        }
    }

    /// Every message, in order. Finishes normally after a close this side asked for or a server close with 1000;
    /// throws ``NetworkError`` otherwise (`.closed(code, reason)`, 1006 on connection loss, `.messageTooLarge`,
    /// `.protocolViolation`). One consumer: every access returns the same stream.
    public var messages: AsyncThrowingStream<WebSocketMessage, any Error> { connection.messages }

    /// Delivers every binary message from now on to `handler`, on the connection's service thread, instead of to
    /// ``messages`` (text messages and the end of the connection still arrive there). This saves a thread hop per
    /// message; `handler` must return quickly and never block (hand heavy work to a queue).
    public func onBinaryMessage(_ handler: @escaping @Sendable ([UInt8]) -> Void) {
        connection.state.withLock { $0.binaryHandler = handler }
    }

    /// Closes with `code` and `reason` after the messages already queued. Idempotent.
    public func close(code: UInt16 = 1000, reason: String = "") {
        connection.close(code: code, reason: reason)
    }
}
