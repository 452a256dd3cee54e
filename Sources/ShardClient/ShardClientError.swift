/// The one error type of the SDK. It carries what went wrong (``kind``), the request it concerns, the HTTP status
/// and the server's own code and message when there was an answer.
///
/// Kinds are a struct of static values rather than an enum so new kinds can be added without breaking users.
public struct ShardClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The request was rejected before any I/O (empty prompt, out-of-range values).
        public static let invalidRequest = Kind("invalid request")
        /// The sidecar refused the request (4xx): bad input, unknown model, conflict, authentication.
        public static let clientError = Kind("client error")
        /// The sidecar failed (5xx), or a generation failed after it started.
        public static let serverError = Kind("server error")
        /// No sidecar answered at the router URL.
        public static let noSidecar = Kind("no sidecar")
        /// The connection failed or broke.
        public static let transport = Kind("transport")
        /// A deadline passed.
        public static let timeout = Kind("timeout")
        /// The caller cancelled.
        public static let cancelled = Kind("cancelled")
        /// The sidecar sent something that does not follow the protocol.
        public static let protocolViolation = Kind("protocol violation")

        public var description: String { name }
    }

    /// What went wrong.
    public var kind: Kind
    /// Human-readable explanation (the server's message when there is one).
    public var message: String
    /// The request concerned, when known.
    public var requestID: String?
    /// The HTTP status, when the sidecar answered.
    public var httpStatus: Int?
    /// The server's error code (`queue_full`, `invalid_request`, ...), when it sent one.
    public var serverCode: String?

    /// Creates an error.
    public init(_ kind: Kind, _ message: String, requestID: String? = nil, httpStatus: Int? = nil,
                serverCode: String? = nil) {
        self.kind = kind
        self.message = message
        self.requestID = requestID
        self.httpStatus = httpStatus
        self.serverCode = serverCode
    }

    public var description: String {
        var text = "\(kind): \(message)"
        if let httpStatus { text += " (HTTP \(httpStatus)" + (serverCode.map { ", \($0)" } ?? "") + ")" }
        if let requestID { text += " [request \(requestID)]" }
        return text
    }
}
