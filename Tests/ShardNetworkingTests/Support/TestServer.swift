import ShardNetworking

/// A started server with a ``RecordingHandler``; `shutdown()` it at the end of the test.
struct TestServer {
    let server: HTTPWebSocketServer
    let handler: RecordingHandler
    let port: Int

    init(_ configure: (inout HTTPWebSocketServer.Configuration) -> Void = { _ in }) throws {
        var configuration = HTTPWebSocketServer.Configuration()
        configuration.webSocketPaths = ["/ws/generate", "/ws/other"]
        configure(&configuration)
        handler = RecordingHandler()
        server = HTTPWebSocketServer(configuration: configuration, handler: handler)
        port = try server.start()
    }

    var webSocketURL: String { "ws://127.0.0.1:\(port)/ws/generate" }
}

/// The operation did not finish before its deadline.
struct DeadlineExceeded: Error {}

/// Runs `body`, failing with ``DeadlineExceeded`` after `seconds` (the body is cancelled).
func withDeadline<T: Sendable>(_ seconds: Double = 10, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

extension WebSocketClient {
    /// The next `count` messages, within `seconds`.
    func receive(_ count: Int = 1, within seconds: Double = 10) async throws -> [WebSocketMessage] {
        let stream = messages
        return try await withDeadline(seconds) {
            var received: [WebSocketMessage] = []
            for try await message in stream {
                received.append(message)
                if received.count == count { break }
            }
            return received
        }
    }

    /// How the message stream ends (nil when it finishes normally), within `seconds`; messages are skipped.
    func end(within seconds: Double = 10) async throws -> NetworkError? {
        let stream = messages
        return try await withDeadline(seconds) {
            do {
                for try await _ in stream {}
                return nil
            } catch let error as NetworkError {
                return error
            }
        }
    }
}
