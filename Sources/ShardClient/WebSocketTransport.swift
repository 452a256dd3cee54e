import ShardNetworking
import ShardProtocol

/// One `/ws/generate` connection per stream; cancelling sends the cancel message and closes the socket.
struct WebSocketTransport: Sendable {
    let websocketURL: String
    let apiKey: String?
    let retry: RetryPolicy

    func stream(_ body: GenerationRequestBody, yield: @Sendable (StreamEvent) -> Void) async throws(ShardClientError) {
        let id = body.requestID
        let headers = apiKey.map { ["Authorization": "Bearer \($0)"] } ?? [:]
        let url = websocketURL
        let client = try await retry.run { () async throws(ShardClientError) -> WebSocketClient in
            do throws(NetworkError) { return try await WebSocketClient.connect(to: url, headers: headers) } catch {
                throw Self.map(error, url: url, requestID: id)
            }
        }
        defer { client.close() }
        do throws(NetworkError) { try client.send(.text(body.json.encodedString())) } catch {
            throw Self.map(error, url: url, requestID: id)
        }
        do {
            for try await message in client.messages {
                guard case let .text(text) = message, let value = JSONValue.decode(Array(text.utf8)) else {
                    throw ShardClientError(.protocolViolation, "the sidecar sent a non-JSON message", requestID: id)
                }
                if let other = value["request_id"]?.stringValue, other != id { continue }
                guard let event = try EventDecoder.decode(value, requestID: id) else { continue }
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
