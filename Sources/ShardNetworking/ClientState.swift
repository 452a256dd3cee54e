internal import CLibWebSockets

/// Everything a ``WebSocketClient``'s service thread shares with its callers; lives in `ClientConnection.state`
/// (a ``Locked`` box) and is only touched with the lock held. Pointers are bit patterns, dereferenced on the service thread
/// only (`lws_cancel_service` is called with the lock held while ``context`` is non-zero).
struct ClientState: Sendable {
    /// The connection's life.
    enum Phase: Sendable, Equatable {
        /// Handshake in progress.
        case connecting
        /// Established: sends are accepted.
        case open
        /// Gone; ``endError`` says why when it was not a normal close.
        case closed
    }

    var phase = Phase.connecting
    /// The `lws_context` while the service loop runs, else 0.
    var context: UInt = 0
    /// The established connection, else 0.
    var wsi: UInt = 0
    /// Frames to send, one per WRITEABLE callback.
    var outbox = Outbox(limit: .max)
    /// A close to perform after the outbox drains.
    var closeRequest: CloseRequest?
    /// Whether the fallback drop timer of ``closeRequest`` is set.
    var closeTimerArmed = false
    /// Whether a `lws_cancel_service` is already on its way.
    var wakePending = false
    /// Set by `close()` or a timeout/cancel while connecting: the service loop exits and destroys the context.
    var abortError: NetworkError?
    /// Why the message stream ends with an error (set by this side: too large, bad UTF-8), if it does.
    var localFailure: NetworkError?
    /// Whether this side started the close (then the stream finishes normally).
    var closedLocally = false
    /// The close code and reason the server sent.
    var peerClose: (code: UInt16, reason: String)?
    /// The error `send` throws once closed.
    var endError: NetworkError?
    /// The message being reassembled.
    var partial: [UInt8] = []
    var partialIsBinary = false
    /// The task waiting in `connect`, until the handshake ends either way.
    var connectWaiter: CheckedContinuation<Void, any Error>?
    /// The handshake's outcome, kept in case it arrives before the waiter.
    var connectOutcome: Result<Void, NetworkError>?
    /// Tells the service loop to stop.
    var finished = false
    /// Takes binary messages on the service thread instead of the stream, once set.
    var binaryHandler: (@Sendable ([UInt8]) -> Void)?

    /// Interrupts `lws_service` so `LWS_CALLBACK_EVENT_WAIT_CANCELLED` runs.
    mutating func wakeServiceThread() {
        guard !wakePending, context != 0 else { return }
        wakePending = true
        lws_cancel_service(OpaquePointer(bitPattern: context))
    }

    /// Records the handshake's outcome and returns the waiter to resume (outside the lock), if any.
    mutating func settleConnect(_ outcome: Result<Void, NetworkError>) -> CheckedContinuation<Void, any Error>? {
        guard connectOutcome == nil else { return nil }
        connectOutcome = outcome
        defer { connectWaiter = nil }
        return connectWaiter
    }
}

extension Result where Success == Void, Failure == NetworkError {
    /// Resumes `waiter` with this outcome.
    func resume(_ waiter: CheckedContinuation<Void, any Error>?) {
        switch self {
        case .success: waiter?.resume()
        case let .failure(error): waiter?.resume(throwing: error)
        }
    }
}
