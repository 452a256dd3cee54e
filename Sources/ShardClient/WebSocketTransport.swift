import ShardNetworking
import ShardProtocol

/// One `/ws/generate` connection per stream; cancelling sends the cancel message and closes the socket.
///
/// A connection that drops mid-stream is replaced: the transport reconnects (per the retry policy, counting
/// failures since the last event received) and sends `{"event": "resume", "request_id", "after"}` with the index of
/// the last token it passed on, so the stream continues with no gap and no repeat.
struct WebSocketTransport: Sendable {
    let websocketURL: String
    let apiKey: String?
    let retry: RetryPolicy

    func stream(_ body: GenerationRequestBody, yield: @Sendable (StreamEvent) -> Void) async throws(ShardClientError) {
        let id = body.requestID
        var after = -1
        var resume = false
        var failures = 0
        while true {
            let opening = resume ? Self.resumeMessage(id, after: after) : body.json.encodedString()
            let before = after
            do {
                try await session(opening: opening, id: id, after: &after, yield: yield)
                return
            } catch {
                if after != before { failures = 0 }
                failures += 1
                if resume, after == -1, error.serverCode == "unknown_request" {
                    // The request never reached the sidecar before the connection dropped: submit it again.
                    resume = false
                    continue
                }
                guard failures < retry.maxAttempts, retry.allowsRetry(of: error), !Task.isCancelled else { throw error }
                retry.onRetry?(failures, error)
                do { try await Task.sleep(for: retry.backoff(after: failures)) } catch {
                    throw ShardClientError(.cancelled, "cancelled while waiting to resume", requestID: id)
                }
                resume = true
            }
        }
    }

    /// One connection: connects, sends `opening` (the request or a resume) and passes events on until the final
    /// one. `after` tracks the last token index passed on.
    private func session(opening: String, id: String, after: inout Int,
                         yield: @Sendable (StreamEvent) -> Void) async throws(ShardClientError) {
        let headers = apiKey.map { ["Authorization": "Bearer \($0)"] } ?? [:]
        let url = websocketURL
        let client = try await retry.run { () async throws(ShardClientError) -> WebSocketClient in
            do throws(NetworkError) { return try await WebSocketClient.connect(to: url, headers: headers) } catch {
                throw Self.map(error, url: url, requestID: id)
            }
        }
        defer { client.close() }
        do throws(NetworkError) { try client.send(.text(opening)) } catch {
            throw Self.map(error, url: url, requestID: id)
        }
        do {
            for try await message in client.messages {
                guard case let .text(text) = message, let value = JSONValue.decode(Array(text.utf8)) else {
                    throw ShardClientError(.protocolViolation, "the sidecar sent a non-JSON message", requestID: id)
                }
                if let other = value["request_id"]?.stringValue, other != id { continue }
                guard let event = try EventDecoder.decode(value, requestID: id) else { continue }
                if case let .token(token) = event {
                    // A resumed stream starts after `after`; anything at or before it was passed on already.
                    guard token.index > after else { continue }
                    after = token.index
                }
                yield(event)
                if case .done = event { return }
            }
        } catch let error as ShardClientError {
            throw error
        } catch let error as NetworkError {
            throw Self.map(error, url: url, requestID: id)
        } catch {
            throw ShardClientError(.transport, "\(error)", requestID: id)
        }
        if Task.isCancelled {
            try? client.send(.text(JSONValue.object(["event": .string("cancel"), "request_id": .string(id)])
                .encodedString()))
            throw ShardClientError(.cancelled, "cancelled", requestID: id)
        }
        throw ShardClientError(.transport, "the WebSocket closed before the final event", requestID: id)
    }

    static func resumeMessage(_ id: String, after: Int) -> String {
        JSONValue.object(["event": .string("resume"), "request_id": .string(id), "after": .int(Int64(after))])
            .encodedString()
    }

    static func map(_ error: NetworkError, url: String, requestID: String) -> ShardClientError {
        switch error.kind {
        case .connectFailed:
            ShardClientError(.noSidecar, "no sidecar at \(url): start it with `shard-sidecar` (\(error.message))",
                             requestID: requestID)
        case .timeout: ShardClientError(.timeout, error.message, requestID: requestID)
        case .cancelled: ShardClientError(.cancelled, error.message, requestID: requestID)
        case let .closed(code, reason) where code == 1008 || code == 4401:
            ShardClientError(.clientError, "the sidecar closed the stream: \(reason)", requestID: requestID)
        default: ShardClientError(.transport, error.message, requestID: requestID)
        }
    }
}
