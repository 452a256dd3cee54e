#if canImport(Glibc)
import ShardTestSupport
import Glibc
#endif
import ShardNetworking
import Testing

@Suite("Backpressure, close and lifecycle")
struct LifecycleTests {
    /// The connection ID of the next WebSocket the handler sees opened (after `known` ones).
    private func openedConnection(_ fixture: TestServer, excluding known: Set<ConnectionID> = []) async -> ConnectionID? {
        guard case let .opened(id, _, _, _)? = await fixture.handler.log.first(where: {
            if case let .opened(id, _, _, _) = $0 { !known.contains(id) } else { false }
        }) else { return nil }
        return id
    }

    @Test("a client that never reads is closed with .overloaded; another client keeps working")
    func backpressure() async throws {
        let fixture = try TestServer { $0.maxQueuedBytesPerConnection = 512 << 10 }
        defer { fixture.server.shutdown() }
        let slow = try RawSocket(port: fixture.port, timeoutSeconds: 15)
        slow.setReceiveBuffer(4096)
        #expect(try slow.upgrade(path: "/ws/generate").status == 101)
        guard let slowID = await openedConnection(fixture) else { Issue.record("no open event"); return }

        let healthy = try await WebSocketClient.connect(to: fixture.webSocketURL)
        let chunk = WebSocketMessage.binary([UInt8](repeating: 42, count: 64 << 10))
        var results: [SendResult] = []
        // Paced by the healthy client's round trips, so the service thread keeps writing to the slow socket until
        // the kernel buffers are full and only then the outbox grows. At most 128 MB are offered.
        for _ in 0 ..< 2000 {
            let result = fixture.server.send(chunk, to: slowID)
            results.append(result)
            if result != .queued { break }
            try healthy.send(.text("still here \(results.count)"))
            #expect(try await healthy.receive(1) == [.text("still here \(results.count)")])
        }
        #expect(results.last == .overloaded)
        #expect(results.count > 8, "the kernel buffers absorbed data before the outbox filled")
        #expect(fixture.server.send(chunk, to: slowID) == .closed, "no sends after the overload")
        let closed = await fixture.handler.log.first { if case let .closed(id) = $0 { id == slowID } else { false } }
        #expect(closed != nil, "the slow connection is dropped")

        try healthy.send(.text("after"))
        #expect(try await healthy.receive(1) == [.text("after")])
        healthy.close()
    }

    @Test("server close(code:reason:) reaches the client: 1000 finishes the stream, other codes throw")
    func serverClose() async throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let first = try await WebSocketClient.connect(to: fixture.webSocketURL)
        guard let firstID = await openedConnection(fixture) else { Issue.record("no open event"); return }
        _ = fixture.server.send(.text("last words"), to: firstID)
        fixture.server.close(firstID, code: 4001, reason: "bye")
        #expect(try await first.receive(1) == [.text("last words")], "queued messages go out before the close")
        let end = try await first.end()
        #expect(end?.kind == .closed(code: 4001, reason: "bye"))

        let second = try await WebSocketClient.connect(to: fixture.webSocketURL)
        guard let secondID = await openedConnection(fixture, excluding: [firstID]) else {
            Issue.record("no open event"); return
        }
        fixture.server.close(secondID, code: 1000, reason: "done")
        #expect(try await second.end() == nil)
    }

    @Test("connecting to a port with nothing listening fails with the reason")
    func connectRefused() async throws {
        let reserved = try ReservedPort()
        let port = reserved.port
        do {
            _ = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(port)/ws", timeout: .seconds(10))
            Issue.record("connect succeeded")
        } catch {
            #expect(error.kind == .connectFailed)
            #expect(!error.message.isEmpty)
        }
        await #expect(throws: NetworkError(.invalidURL, "wss:// is not supported: wss://x/")) {
            _ = try await WebSocketClient.connect(to: "wss://x/")
        }
    }

    @Test("shutdown() with open connections returns, ends them, releases the port, and is idempotent")
    func shutdownWithOpenConnections() async throws {
        let fixture = try TestServer()
        let client = try await WebSocketClient.connect(to: fixture.webSocketURL)
        let pending = try RawSocket(port: fixture.port)
        try pending.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        let idle = try RawSocket(port: fixture.port)
        #expect(try idle.request("GET", "/echo").status == 200)
        _ = await fixture.handler.log.first { if case let .request(request) = $0 { request.path == "/slow" } else { false } }

        fixture.server.shutdown()  // returns (a hang here fails the run); the second call is a no-op
        fixture.server.shutdown()

        let end = try await client.end()
        #expect(end?.kind == .closed(code: 1001, reason: "server shutting down"))
        #expect(try pending.waitForClose())
        #expect(try idle.waitForClose())
        #expect(await fixture.handler.log.first(timeout: 10) { if case .httpClosed = $0 { true } else { false } } != nil)
        #expect(throws: NetworkError.self) { try client.send(.text("x")) }

        // The port is free again.
        var configuration = HTTPWebSocketServer.Configuration()
        configuration.port = fixture.port
        let again = HTTPWebSocketServer(configuration: configuration, handler: RecordingHandler())
        #expect(try again.start() == fixture.port)
        again.shutdown()
    }

    @Test("binding a port in use fails with bindFailed; start() twice is refused")
    func bindFailure() throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        var configuration = HTTPWebSocketServer.Configuration()
        configuration.port = fixture.port
        let second = HTTPWebSocketServer(configuration: configuration, handler: RecordingHandler())
        #expect { try second.start() } throws: { ($0 as? NetworkError)?.kind == .bindFailed }
        second.shutdown()
        #expect { try fixture.server.start() } throws: { ($0 as? NetworkError)?.kind == .invalidState }
    }
}

/// A port nothing listens on (bound, read back and closed).
