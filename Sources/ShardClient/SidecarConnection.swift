import ShardHTTPClient
import ShardProtocol

/// JSON over HTTP to one sidecar, with the SDK's error mapping. One libcurl connection per instance.
struct SidecarConnection: Sendable {
    let routerURL: String
    let apiKey: String?
    let client: CurlHTTPClient

    init(routerURL: String, apiKey: String?) {
        self.routerURL = routerURL.hasSuffix("/") ? String(routerURL.dropLast()) : routerURL
        self.apiKey = apiKey
        self.client = CurlHTTPClient()
    }

    var headers: [String: String] {
        var headers = ["Accept": "application/json"]
        if let apiKey { headers["Authorization"] = "Bearer \(apiKey)" }
        return headers
    }

    /// GETs `path`; non-2xx answers become errors unless `accepting` lists them.
    func get(_ path: String, accepting: Set<Int> = [], timeout: Duration? = nil,
             requestID: String? = nil) async throws(ShardClientError) -> (Int, JSONValue, [UInt8]) {
        let response: HTTPClientResponse
        do { response = try await client.get(routerURL + path, headers: headers, timeout: timeout) } catch {
            throw Self.map(error, url: routerURL, requestID: requestID)
        }
        return try Self.check(response, accepting: accepting, requestID: requestID)
    }

    /// POSTs a JSON body to `path`.
    func post(_ path: String, json: JSONValue, accepting: Set<Int> = [],
              requestID: String? = nil) async throws(ShardClientError) -> (Int, JSONValue, [UInt8]) {
        var headers = self.headers
        headers["Content-Type"] = "application/json"
        let response: HTTPClientResponse
        do { response = try await client.post(routerURL + path, body: json.encoded(), headers: headers) } catch {
            throw Self.map(error, url: routerURL, requestID: requestID)
        }
        return try Self.check(response, accepting: accepting, requestID: requestID)
    }

    static func check(_ response: HTTPClientResponse, accepting: Set<Int>,
                      requestID: String?) throws(ShardClientError) -> (Int, JSONValue, [UInt8]) {
        let json = JSONValue.decode(response.body) ?? .null
        if (200 ..< 300).contains(response.status) || accepting.contains(response.status) {
            return (response.status, json, response.body)
        }
        let error = json["error"]
        throw ShardClientError(
            response.status >= 500 ? .serverError : .clientError,
            error?["message"]?.stringValue ?? "HTTP \(response.status)",
            requestID: json["request_id"]?.stringValue ?? requestID, httpStatus: response.status,
            serverCode: error?["code"]?.stringValue)
    }

    static func map(_ error: HTTPClientError, url: String, requestID: String?) -> ShardClientError {
        switch error.kind {
        case .couldNotConnect:
            ShardClientError(.noSidecar, "no sidecar at \(url): start it with `shard-sidecar`", requestID: requestID)
        case .timeout: ShardClientError(.timeout, error.message, requestID: requestID)
        case .cancelled: ShardClientError(.cancelled, "cancelled", requestID: requestID)
        default: ShardClientError(.transport, error.message, requestID: requestID)
        }
    }

    func shutdown() { client.shutdown() }
}
