import ShardProtocol

/// A request submitted without streaming: ask its status, cancel it, or wait for its text.
/// Always uses the HTTP routes (`/requests/ID`, `/requests/ID/cancel`, `/pop-result`), whatever the transport.
public struct GenerationHandle: Sendable {
    /// The request's id.
    public let requestID: String
    let routerURL: String
    let apiKey: String?
    let retry: RetryPolicy

    /// A snapshot of the request on the sidecar.
    public struct Status: Sendable, Equatable {
        /// `queued`, `running`, `completed`, `failed` or `cancelled`.
        public var state: String
        /// Tokens generated so far.
        public var tokens: Int
        /// The finish reason once finished.
        public var finishReason: String?
    }

    /// The request's state (`GET /requests/ID`).
    public func status() async throws(ShardClientError) -> Status {
        let connection = SidecarConnection(routerURL: routerURL, apiKey: apiKey)
        defer { connection.shutdown() }
        let (_, answer, _) = try await connection.get("/requests/\(requestID)", requestID: requestID)
        return Status(state: answer["state"]?.stringValue ?? "?", tokens: answer["tokens"]?.intValue ?? 0,
                      finishReason: answer["finish_reason"]?.stringValue)
    }

    /// Asks the sidecar to stop the request; it ends with finish reason `cancelled`.
    public func cancel() async throws(ShardClientError) {
        let connection = SidecarConnection(routerURL: routerURL, apiKey: apiKey)
        defer { connection.shutdown() }
        _ = try await connection.post("/requests/\(requestID)/cancel", json: .object([:]), requestID: requestID)
    }

    /// Waits for the end and returns the whole completion. Reads from the first event each time (it can be called
    /// again, from another process too, until the request expires) and resumes across dropped connections.
    ///
    /// - Throws: ``ShardClientError`` `.serverError` with the request id when the generation failed.
    public func wait() async throws(ShardClientError) -> (text: String, completion: Completion) {
        let connection = SidecarConnection(routerURL: routerURL, apiKey: apiKey)
        defer { connection.shutdown() }
        var text = ""
        var completion: Completion?
        try await HTTPPollingTransport.readEvents(of: requestID, on: connection, retry: retry) { event in
            switch event {
            case let .token(chunk): text += chunk.text
            case let .done(done): completion = done
            }
        }
        guard let completion else {
            throw ShardClientError(.protocolViolation, "the event log ended without a final event", requestID: requestID)
        }
        return (text, completion)
    }
}

extension ShardDistributedModel {
    /// Submits a request without streaming it (`POST /broadcast-work`, retried per ``retry``).
    public func submit(_ prompt: String, maxNewTokens: Int = 128, sampling: Sampling = .greedy,
                       stop: [String] = []) async throws(ShardClientError) -> GenerationHandle {
        let body = try GenerationRequestBody(input: .text(prompt), maxNewTokens: maxNewTokens, sampling: sampling,
                                             stop: stop, model: modelID, tokenizer: tokenizer,
                                             wireTokenizer: tokenizerName)
        let routerURL = self.routerURL, apiKey = self.apiKey
        _ = try await retry.run { () async throws(ShardClientError) in
            let connection = SidecarConnection(routerURL: routerURL, apiKey: apiKey)
            defer { connection.shutdown() }
            return try await connection.post("/broadcast-work", json: body.json, requestID: body.requestID).0
        }
        return GenerationHandle(requestID: body.requestID, routerURL: routerURL, apiKey: apiKey, retry: retry)
    }
}
