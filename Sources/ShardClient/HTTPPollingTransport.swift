import ShardProtocol

/// `POST /broadcast-work`, then `GET /pop-result` long-polls (`wait_ms`, `max`) on one reused libcurl connection.
struct HTTPPollingTransport: Sendable {
    let routerURL: String
    let apiKey: String?
    let retry: RetryPolicy
    /// How long one long-poll waits on the sidecar for events.
    static let pollWaitMilliseconds = 1000

    func stream(_ body: GenerationRequestBody, yield: @Sendable (StreamEvent) -> Void) async throws(ShardClientError) {
        let connection = SidecarConnection(routerURL: routerURL, apiKey: apiKey)
        defer { connection.shutdown() }
        let id = body.requestID
        _ = try await retry.run { () async throws(ShardClientError) in
            try await connection.post("/broadcast-work", json: body.json, requestID: id)
        }
        do throws(ShardClientError) {
            try await Self.readEvents(of: id, on: connection, retry: retry, yield: yield)
        } catch {
            if error.kind == .cancelled || Task.isCancelled { await Self.cancelOnSidecar(id, routerURL, apiKey) }
            throw error
        }
    }

    /// Long-polls `/pop-result` until the final event, passing every event to `yield`. Every read names the last
    /// token index received (`after`), so it is idempotent: a read lost with its connection is retried per the
    /// retry policy and continues exactly where the stream was, with no gap and no repeat.
    static func readEvents(of id: String, on connection: SidecarConnection, retry: RetryPolicy,
                           yield: (StreamEvent) -> Void) async throws(ShardClientError) {
        var after = -1
        while true {
            if Task.isCancelled { throw ShardClientError(.cancelled, "cancelled", requestID: id) }
            let path = "/pop-result?request_id=\(id)&max=64&wait_ms=\(pollWaitMilliseconds)&after=\(after)"
            let answer = try await retry.run { () async throws(ShardClientError) -> JSONValue in
                try await connection.get(path, timeout: .seconds(30), requestID: id).1
            }
            guard case let .array(results)? = answer["results"] else {
                throw ShardClientError(.protocolViolation, "pop-result without results", requestID: id)
            }
            for result in results {
                guard let event = try EventDecoder.decode(result, requestID: id) else { continue }
                if case let .token(token) = event { after = token.index }
                yield(event)
                if case .done = event { return }
            }
        }
    }

    /// Tells the sidecar to stop a request, on a fresh connection (the stream's may be mid-transfer).
    static func cancelOnSidecar(_ id: String, _ routerURL: String, _ apiKey: String?) async {
        let connection = SidecarConnection(routerURL: routerURL, apiKey: apiKey)
        defer { connection.shutdown() }
        // Best effort, from a task that is itself cancelled: run the request in a fresh, uncancelled task.
        await Task.detached {
            _ = try? await connection.post("/requests/\(id)/cancel", json: .object([:]), requestID: id)
        }.value
    }
}
