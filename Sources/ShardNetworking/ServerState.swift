#if canImport(Glibc)
import Glibc
#endif
internal import CLibWebSockets

/// Everything the service thread and the public methods share. Lives in `HTTPWebSocketServer.state`
/// (a ``Locked`` box); every access holds that lock, and the lock is never held while calling the handler.
///
/// Connection pointers (`wsi`) and the context pointer are stored as bit patterns: they are only dereferenced on the
/// service thread, except `lws_cancel_service`, which is called with the lock held so the context cannot be destroyed
/// meanwhile (the service thread clears ``phase`` under the lock before destroying it).
struct ServerState: Sendable {
    /// Where the server is in its life.
    enum Phase: Sendable, Equatable {
        /// `start()` not called yet.
        case idle
        /// The service thread is creating the context.
        case starting
        /// Serving; `context` is the `lws_context` bit pattern, safe for `lws_cancel_service` under the lock.
        case running(context: UInt)
        /// The context is gone (or never existed).
        case stopped
    }

    var phase = Phase.idle
    /// Set by `shutdown()`; the service thread drains and exits when it sees it.
    var stopRequested = false
    /// The service thread, so `shutdown()` called from a callback does not join itself.
    var serviceThread: pthread_t?
    /// Next ``ConnectionID`` raw value.
    var nextID: UInt64 = 1
    /// HTTP requests in progress, by ID.
    var exchanges: [UInt64: HTTPExchange] = [:]
    /// Open WebSocket connections, by ID.
    var webSockets: [UInt64: WebSocketSession] = [:]
    /// IDs with output or a close for the service thread to act on.
    var wakeups: Set<UInt64> = []
    /// Whether a `lws_cancel_service` is already on its way (coalesces wakeups).
    var wakePending = false
    /// Connections the front door accepted, for the service thread to hand to libwebsockets.
    var adoptions: [Adoption] = []

    /// A fresh ID.
    mutating func allocateID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    /// Schedules `id` for the service thread and wakes it (once per batch).
    mutating func requestService(for id: UInt64) {
        wakeups.insert(id)
        wakeServiceThread()
    }

    /// Interrupts `lws_service` so `LWS_CALLBACK_EVENT_WAIT_CANCELLED` runs soon.
    mutating func wakeServiceThread() {
        guard !wakePending, case let .running(context) = phase else { return }
        wakePending = true
        lws_cancel_service(OpaquePointer(bitPattern: context))
    }
}

/// A connection whose first request head checked out, with the bytes read from it so far.
struct Adoption: Sendable {
    let socket: Int32
    let bytes: [UInt8]
}

/// One HTTP request, from its headers to the last byte of its response.
struct HTTPExchange: Sendable {
    /// The connection (bit pattern; service thread only).
    let wsi: UInt
    let method: String
    let path: String
    let query: [String: String]
    let headers: [String: String]
    /// Declared `Content-Length` (0 without a body).
    let contentLength: Int
    /// Body bytes collected so far.
    var body: [UInt8] = []
    /// The body went past the limit: the rest is discarded and the answer is 413.
    var bodyTooLarge = false
    /// Handed to the handler; only then may `respond` answer it.
    var dispatched = false
    /// The connection closes after the answer (a POST without `Content-Length`: lws still expects a body).
    var closeAfterAnswer = false
    /// The answer being written, once there is one.
    var response: ResponseWriter?
    /// Told whether the answer's last byte was written (`respond(_:to:written:)`).
    var written: (@Sendable (Bool) -> Void)?
}

/// Progress of writing one response: headers first, then the body in chunks, one per WRITEABLE callback.
struct ResponseWriter: Sendable {
    let response: HTTPResponse
    /// A `HEAD` request: headers (with the body's length) only.
    var omitBody = false
    var headersSent = false
    var bodyOffset = 0
    /// Set for a streamed answer (``HTTPWebSocketServer/respondStream(_:to:closed:)``).
    var stream: StreamState?

    /// Largest body chunk per `lws_write`.
    static let chunkBytes = 64 << 10
}

/// One open WebSocket connection.
struct WebSocketSession: Sendable {
    /// The connection (bit pattern; service thread only).
    let wsi: UInt
    /// Frames waiting to be written.
    var outbox: Outbox
    /// The message being reassembled from fragments.
    var partial: [UInt8] = []
    /// Whether ``partial`` belongs to a binary message.
    var partialIsBinary = false
    /// A close to perform once the outbox is empty; the session refuses new sends from then on.
    var closeRequest: CloseRequest?
    /// Whether the fallback kill timer for ``closeRequest`` is set.
    var closeTimerArmed = false
    /// The client sent a close frame (a deliberate close, not a dropped connection).
    var closedByClient = false
    /// Largest message accepted from this connection now.
    var messageLimit: Int
}

/// A WebSocket close the service thread should perform.
struct CloseRequest: Sendable {
    let code: UInt16
    let reason: String
    /// Seconds to wait for the connection to become writable before dropping it without a close frame.
    let graceSeconds: Int32
}

/// The body of a streamed HTTP answer still to write: chunks in order, then the end (the connection closes).
struct StreamState: Sendable {
    var chunks: [[UInt8]] = []
    var queuedBytes = 0
    var ended = false
    /// Called when the client goes away before the end.
    let closed: (@Sendable () -> Void)?
}
