/// One logical connection: requests run one at a time on a dedicated thread that owns one curl easy handle
/// (keep-alive reuse).
///
/// Concurrent calls on one client queue up behind each other; use several clients for parallel requests.
/// HTTP status codes are data: a 404 or 503 returns a response. Cancelling the awaiting task aborts its transfer
/// promptly (or drops it from the queue) and the call throws ``HTTPClientError/Kind/cancelled``.
///
/// - warning: Bodies are buffered whole in memory; there is no streaming and no size limit.
public final class CurlHTTPClient: Sendable {
    private let queue: WorkQueueThread
    private let defaultTimeout: Duration

    /// Starts the client's thread.
    /// - Parameters:
    ///   - connectTimeout: limit for establishing a connection (`CURLOPT_CONNECTTIMEOUT_MS`).
    ///   - defaultTimeout: limit for a whole request when the call gives none (`CURLOPT_TIMEOUT_MS`).
    public init(connectTimeout: Duration = .seconds(5), defaultTimeout: Duration = .seconds(60)) {
        queue = WorkQueueThread(connectTimeoutMilliseconds: connectTimeout.curlMilliseconds)
        self.defaultTimeout = defaultTimeout
    }

    deinit {
        queue.shutdown()
    }

    /// Sends a GET request.
    /// - Parameters:
    ///   - url: an absolute `http://` or `https://` URL, query included.
    ///   - headers: extra request headers (names and values must not contain CR or LF).
    ///   - timeout: limit for the whole request; nil uses the client's default.
    /// - Returns: the response, whatever its status code.
    /// - Throws: ``HTTPClientError`` for transport failures, timeouts, cancellation and shutdown.
    public func get(_ url: String, headers: [String: String] = [:],
                    timeout: Duration? = nil) async throws(HTTPClientError) -> HTTPClientResponse {
        try await perform(TransferRequest(method: .get, url: url, headers: headers, body: [],
                                          timeoutMilliseconds: (timeout ?? defaultTimeout).curlMilliseconds))
    }

    /// Sends a POST request with `body` (`Content-Type: application/json` unless `headers` names one; an empty
    /// `Expect:` so no `100-continue` round trip happens).
    /// - Parameters:
    ///   - url: an absolute `http://` or `https://` URL.
    ///   - body: the request body, sent as is with a `Content-Length`.
    ///   - headers: extra request headers (names and values must not contain CR or LF).
    ///   - timeout: limit for the whole request; nil uses the client's default.
    /// - Returns: the response, whatever its status code.
    /// - Throws: ``HTTPClientError`` for transport failures, timeouts, cancellation and shutdown.
    public func post(_ url: String, body: [UInt8], headers: [String: String] = [:],
                     timeout: Duration? = nil) async throws(HTTPClientError) -> HTTPClientResponse {
        try await perform(TransferRequest(method: .post, url: url, headers: headers, body: body,
                                          timeoutMilliseconds: (timeout ?? defaultTimeout).curlMilliseconds))
    }

    /// New connections opened so far (`CURLINFO_NUM_CONNECTS`, summed over finished requests): stays 1 while
    /// keep-alive reuses the connection.
    public var connectionsOpened: Int { queue.connectionsOpened }

    /// Requests waiting behind the one in flight; lets tests cancel a request known to be queued.
    var queuedRequests: Int { queue.queuedJobs }

    /// Ends the thread and frees the curl handle (closing the connection). A request in flight and queued ones
    /// throw ``HTTPClientError/Kind/shutdown``, and so do later calls. Idempotent; returns without waiting for the
    /// thread.
    public func shutdown() {
        queue.shutdown()
    }

    /// Queues the request and suspends (never blocking a pool thread) until the worker thread answers.
    private func perform(_ request: TransferRequest) async throws(HTTPClientError) -> HTTPClientResponse {
        let job = TransferJob(request: request)
        let queue = self.queue
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                guard job.install(continuation) else { return }
                if !queue.submit(job) { job.stop(.shutdown) }
            }
        } onCancel: {
            queue.stop(job, .cancelled)
        }
        return try outcome.get()
    }
}
