import ShardProtocol

/// Plain JSON requests to a sidecar's routes (its OpenAI-compatible ones included), with the SDK's error mapping
/// and ``RetryPolicy``: what `shard batch` sends its lines with.
///
/// ```swift
/// let routes = SidecarRoutes(routerURL: "http://127.0.0.1:9091")
/// let (status, body) = try await routes.post("/v1/chat/completions", json: .object([
///     "messages": .array([.object(["role": .string("user"), "content": .string("Hi")])]),
/// ]))
/// ```
public struct SidecarRoutes: Sendable {
    /// The sidecar's HTTP base URL.
    public let routerURL: String
    /// API key, sent as `Authorization: Bearer`.
    public let apiKey: String?
    /// Retries of refused connections and of the policy's statuses (503 when the queue is full, ...).
    public let retry: RetryPolicy

    /// Requests to the sidecar at `routerURL`.
    public init(routerURL: String, apiKey: String? = nil, retry: RetryPolicy = .default) {
        self.routerURL = routerURL
        self.apiKey = apiKey
        self.retry = retry
    }

    /// POSTs `json` to `path` and returns the status and the decoded body, whatever the status (an error answer is
    /// data to report) except those the retry policy retries, which are retried and thrown when they persist.
    ///
    /// - Throws: ``ShardClientError`` for a sidecar that cannot be reached, persistent retryable statuses, timeouts.
    public func post(_ path: String, json: JSONValue) async throws(ShardClientError) -> (status: Int, body: JSONValue) {
        let routerURL = self.routerURL, apiKey = self.apiKey
        let accepted = Set(200 ..< 600).subtracting(retry.retryableStatuses)
        return try await retry.run { () async throws(ShardClientError) -> (status: Int, body: JSONValue) in
            let connection = SidecarConnection(routerURL: routerURL, apiKey: apiKey)
            defer { connection.shutdown() }
            let (status, body, _) = try await connection.post(path, json: json, accepting: accepted)
            return (status, body)
        }
    }
}
