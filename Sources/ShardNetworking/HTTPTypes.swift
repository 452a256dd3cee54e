/// A complete HTTP request as the handler sees it.
public struct HTTPRequest: Sendable {
    /// Which exchange to answer with ``HTTPWebSocketServer/respond(_:to:)``.
    public let connection: ConnectionID
    /// `GET`, `POST`, `DELETE`, ...
    public let method: String
    /// The path, percent-decoded, without the query string.
    public let path: String
    /// Query arguments, percent-decoded; a repeated name keeps its last value.
    public let query: [String: String]
    /// Request headers with lowercased names.
    ///
    /// libwebsockets 4.1 cannot enumerate unknown headers: only the headers it knows and those listed in
    /// ``HTTPWebSocketServer/Configuration/extraHeaderNames`` appear here.
    public let headers: [String: String]
    /// The body (at most ``HTTPWebSocketServer/Configuration/maxRequestBodyBytes``).
    public let body: [UInt8]

    /// Creates a request (the server builds these; public for handler tests).
    public init(connection: ConnectionID, method: String, path: String, query: [String: String] = [:],
                headers: [String: String] = [:], body: [UInt8] = []) {
        self.connection = connection
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// An HTTP response. The server always sends `Content-Type` (default `application/octet-stream`) and `Content-Length`;
/// a `Content-Length` in ``headers`` is ignored.
public struct HTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Extra headers, in order; `Content-Type` here replaces the default.
    public var headers: [(String, String)]
    /// The body.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// An `application/json` response whose body is already encoded JSON.
    public static func json(_ status: Int, _ body: [UInt8], headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    /// An `application/json` response whose body is a JSON document in a string.
    public static func json(_ status: Int, _ body: String, headers: [(String, String)] = []) -> HTTPResponse {
        json(status, Array(body.utf8), headers: headers)
    }

    /// `HTTP/1.1 <status> <reason>`, for the answers the server writes itself (libwebsockets writes the others).
    var statusLine: String { "HTTP/1.1 \(status) \(Self.reasonPhrase(status))" }

    /// The reason phrase of a status line (RFC 9110's, for the codes this server and its handlers send).
    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 202: "Accepted"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }

    /// The error shape the server uses for its own answers (413, 411, 404...):
    /// `{"ok": false, "error": {"code": ..., "message": ...}}`.
    static func failure(_ status: Int, code: String, message: String) -> HTTPResponse {
        json(status, #"{"ok": false, "error": {"code": "\#(jsonEscaped(code))", "message": "\#(jsonEscaped(message))"}}"#)
    }

    /// The `Content-Type` to send: the caller's, or the default.
    var contentType: String {
        headers.last { $0.0.lowercased() == "content-type" }?.1 ?? "application/octet-stream"
    }
}

/// Escapes `text` for use inside a JSON string literal.
func jsonEscaped(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

private extension String {
    /// `\u00XX` for a control character.
    init(format value: UInt32) {
        let hex = String(value, radix: 16)
        self = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}
