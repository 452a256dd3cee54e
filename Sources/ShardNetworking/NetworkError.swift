/// An error from the networking layer: a ``Kind`` that callers can match on and a message for humans.
///
/// HTTP status codes are data (``HTTPResponse/status``), not errors; this type covers transport failures only.
public struct NetworkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as a value callers can switch on.
    public enum Kind: Sendable, Equatable {
        /// The server could not create its listening socket (port in use, bad address...).
        case bindFailed
        /// A client connection could not be established; ``NetworkError/message`` carries libwebsockets' reason.
        case connectFailed
        /// The URL given to the client is not a `ws://host:port/path` URL.
        case invalidURL
        /// The WebSocket was closed with this close code and reason (1006 when the connection was lost).
        case closed(code: UInt16, reason: String)
        /// A received message exceeded the configured size limit (the connection is closed with 1009).
        case messageTooLarge
        /// The peer broke the WebSocket protocol (for example invalid UTF-8 in a text message, closed with 1007).
        case protocolViolation
        /// The operation did not finish in time.
        case timeout
        /// The waiting task was cancelled.
        case cancelled
        /// The object is in the wrong state for the call (for example `start()` twice).
        case invalidState
    }

    /// What went wrong.
    public let kind: Kind
    /// Human-readable detail, for logs.
    public let message: String

    /// Creates an error of `kind` with a human-readable `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// A closed-connection error with the WebSocket close `code` and `reason`.
    public static func closed(code: UInt16, reason: String) -> NetworkError {
        NetworkError(.closed(code: code, reason: reason),
                     reason.isEmpty ? "connection closed (\(code))" : "connection closed (\(code)): \(reason)")
    }

    /// `kind: message`, for logs.
    public var description: String {
        switch kind {
        case .bindFailed: "bind failed: \(message)"
        case .connectFailed: "connect failed: \(message)"
        case .invalidURL: "invalid URL: \(message)"
        case .closed: message
        case .messageTooLarge: "message too large: \(message)"
        case .protocolViolation: "protocol violation: \(message)"
        case .timeout: "timed out: \(message)"
        case .cancelled: "cancelled: \(message)"
        case .invalidState: "invalid state: \(message)"
        }
    }
}
