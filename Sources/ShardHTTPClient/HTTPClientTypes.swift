/// A complete HTTP response. Every status code (404, 503, ...) arrives here as data, never as an error.
public struct HTTPClientResponse: Sendable {
    /// The HTTP status code (`CURLINFO_RESPONSE_CODE`).
    public let status: Int
    /// Response headers with lowercased names; for a repeated header the last value wins.
    public let headers: [String: String]
    /// The response body, as received (no decoding).
    public let body: [UInt8]

    /// The body decoded as UTF-8 (invalid sequences become U+FFFD).
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Creates a response (the client builds these; public for tests and fakes).
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// One request as the worker thread performs it.
struct TransferRequest: Sendable {
    /// The HTTP methods the client sends.
    enum Method: String, Sendable { case get = "GET", post = "POST" }

    let method: Method
    let url: String
    let headers: [String: String]
    /// The POST body (empty for GET).
    let body: [UInt8]
    /// The whole-transfer limit (`CURLOPT_TIMEOUT_MS`), at least 1 (0 would mean "no limit" to libcurl).
    let timeoutMilliseconds: Int

    /// `GET http://...`, used in error messages.
    var summary: String { "\(method.rawValue) \(url)" }
}

extension Duration {
    /// Whole milliseconds for a libcurl timeout: rounded up, at least 1 (libcurl reads 0 as "never time out"), at
    /// most `Int32.max` (about 24 days).
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 else { return 1 }
        guard seconds < Int64(Int32.max) / 1000 else { return Int(Int32.max) }
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(max(1, millis))
    }
}
