import ShardNetworking
import ShardProtocol

extension HTTPResponse {
    /// A JSON response.
    static func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: value.encoded())
    }

    /// PROTOCOL.md's error shape; 429 and 503 carry `Retry-After`.
    static func error(_ error: ProtocolError) -> HTTPResponse {
        let retry: [(String, String)] = error.status == 429 || error.status == 503 ? [("Retry-After", "1")] : []
        return json(error.status, error.body(), headers: retry)
    }
}
