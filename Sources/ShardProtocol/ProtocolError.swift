/// A request the sidecar refuses, with the HTTP status and the body fields of PROTOCOL.md's error shape:
/// `{"ok": false, "error": {"code", "message", "field"?}, "request_id"?}`.
public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP status (400, 401, 404, 409, 411, 413, 429, 503, 500).
    public var status: Int
    /// Machine-readable code, such as `invalid_request` or `queue_full`.
    public var code: String
    /// Human-readable explanation.
    public var message: String
    /// The request field at fault, when there is one.
    public var field: String?
    /// The request the error concerns, when known.
    public var requestID: String?

    /// Creates an error.
    public init(status: Int, code: String, message: String, field: String? = nil, requestID: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.requestID = requestID
    }

    /// A 400 for a bad field.
    public static func invalid(_ field: String, _ message: String) -> ProtocolError {
        ProtocolError(status: 400, code: "invalid_request", message: message, field: field)
    }

    public var description: String { "\(status) \(code): \(message)" + (field.map { " (field \($0))" } ?? "") }

    /// The error body as JSON.
    public func body() -> JSONValue {
        var error: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let field { error["field"] = .string(field) }
        var body: [String: JSONValue] = ["ok": .bool(false), "error": .object(error)]
        if let requestID { body["request_id"] = .string(requestID) }
        return .object(body)
    }
}
