import ShardTestSupport
import ShardNetworking
import Testing

@Suite("WebSocket")
struct WebSocketTests {
    @Test("text and binary messages are echoed; the handler sees path, query and headers")
    func echo() async throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let client = try await WebSocketClient.connect(to: fixture.webSocketURL + "?model=tiny&n=2",
                                                       headers: ["X-API-Key": "k1"])
        try client.send(.text("héllo 👋"))
        try client.send(.binary([0, 1, 2, 255]))
        try client.send(.text(""))
        #expect(try await client.receive(3) == [.text("héllo 👋"), .binary([0, 1, 2, 255]), .text("")])
        guard case let .opened(_, path, query, headers)? = await fixture.handler.log.first(where: {
            if case .opened = $0 { true } else { false }
        }) else { Issue.record("no open event"); return }
        #expect(path == "/ws/generate")
        #expect(query == ["model": "tiny", "n": "2"])
        #expect(headers["x-api-key"] == "k1")
        client.close()
        #expect(try await client.end() == nil, "a local close ends the stream normally")
        #expect(await fixture.handler.log.first { if case .closed = $0 { true } else { false } } != nil)
    }

    /// Reliability issue, defect 7: no connection cap, and large unauthenticated reassembly.
    @Test("past the connection cap an upgrade gets 503; the first messages are held to the initial limit until raised")
    func connectionCapAndInitialMessageLimit() throws {
        let fixture = try TestServer {
            $0.maxWebSocketConnections = 2
            $0.initialWebSocketMessageBytes = 1024
        }
        defer { fixture.server.shutdown() }
        let first = try RawSocket(port: fixture.port), second = try RawSocket(port: fixture.port)
        #expect(try first.upgrade(path: "/ws/generate").status == 101)
        #expect(try second.upgrade(path: "/ws/generate").status == 101)
        let third = try RawSocket(port: fixture.port)
        #expect(try third.upgrade(path: "/ws/generate").status == 503)
        // Over the initial limit before the handler raised it: closed with 1009.
        try first.sendFrame(opcode: 2, [UInt8](repeating: 7, count: 2048))
        #expect(try first.readCloseCode() == 1009)
        // Once the second connection closed, a new one gets in.
        try second.sendFrame(opcode: 8, [0x03, 0xE8])
        #expect(waitUntil { (try? RawSocket(port: fixture.port).upgrade(path: "/ws/generate").status) == 101 })
    }

    @Test("a 300 KB message round-trips")
    func largeMessage() async throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let client = try await WebSocketClient.connect(to: fixture.webSocketURL)
        let payload = (0 ..< 300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try client.send(.binary(payload))
        let text = String(repeating: "abcdé", count: 60_000)
        try client.send(.text(text))
        #expect(try await client.receive(2) == [.binary(payload), .text(text)])
        client.close()
    }

    @Test("fragmented messages from a raw client are reassembled")
    func fragments() throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let socket = try RawSocket(port: fixture.port)
        #expect(try socket.upgrade(path: "/ws/generate").status == 101)
        try socket.sendFrame(opcode: 1, Array("Hel".utf8), fin: false)
        try socket.sendFrame(opcode: 9, Array("ping".utf8))  // control frames may interleave
        try socket.sendFrame(opcode: 0, Array("lo w".utf8), fin: false)
        try socket.sendFrame(opcode: 0, Array("orld".utf8), fin: true)
        try socket.sendFrame(opcode: 2, [1, 2], fin: false)
        try socket.sendFrame(opcode: 0, [UInt8](repeating: 7, count: 70_000), fin: true)
        var frames: [(UInt8, [UInt8])] = []
        while frames.count < 2 {
            let frame = try socket.readFrame()
            if frame.opcode != 10 { frames.append((frame.opcode, frame.payload)) }  // skip the pong
        }
        #expect(frames[0].0 == 1 && frames[0].1 == Array("Hello world".utf8))
        #expect(frames[1].0 == 2 && frames[1].1 == [1, 2] + [UInt8](repeating: 7, count: 70_000))
    }

    @Test("a message over the limit closes the connection with 1009")
    func tooLarge() async throws {
        let fixture = try TestServer { $0.maxWebSocketMessageBytes = 1000 }
        defer { fixture.server.shutdown() }
        let client = try await WebSocketClient.connect(to: fixture.webSocketURL)
        try client.send(.binary([UInt8](repeating: 1, count: 1000)))
        #expect(try await client.receive(1).first?.byteCount == 1000)
        try client.send(.binary([UInt8](repeating: 1, count: 1001)))
        let end = try await client.end()
        guard case let .closed(code, _)? = end?.kind else { Issue.record("expected a close, got \(String(describing: end))"); return }
        #expect(code == 1009)
        #expect(throws: NetworkError.self) { try client.send(.text("late")) }
    }

    @Test("invalid UTF-8 in a text message closes with 1007")
    func invalidUTF8() throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let socket = try RawSocket(port: fixture.port)
        #expect(try socket.upgrade(path: "/ws/generate").status == 101)
        try socket.sendFrame(opcode: 1, [0x68, 0xFF, 0xFE, 0x69])
        #expect(try socket.readCloseCode() == 1007)
        #expect(!fixture.handler.log.events.contains { if case .message = $0 { true } else { false } })
    }

    @Test("an upgrade on an unknown path gets 404; acceptWebSocket can refuse with 401")
    func refusedUpgrades() async throws {
        let fixture = try TestServer { configuration in
            configuration.acceptWebSocket = { path, headers in
                path == "/ws/other" && headers["authorization"] != "Bearer ok" ? 401 : nil
            }
        }
        defer { fixture.server.shutdown() }
        let unknownSocket = try RawSocket(port: fixture.port)
        let unknown = try unknownSocket.upgrade(path: "/nope")
        #expect(unknown.status == 404)
        // Answered in the request's HTTP version (lws alone would say HTTP/1.0 here), with the JSON error body.
        #expect(unknownSocket.lastStatusLine == "HTTP/1.1 404 Not Found")
        let length = try #require(unknown.headers["content-length"].flatMap { Int($0) })
        #expect(String(decoding: try unknownSocket.read(exactly: length), as: UTF8.self).contains(#""code": "not_found""#))
        let refused = try RawSocket(port: fixture.port)
        #expect(try refused.upgrade(path: "/ws/other").status == 401)
        #expect(refused.lastStatusLine == "HTTP/1.1 401 Unauthorized")
        #expect(try RawSocket(port: fixture.port).upgrade(path: "/ws/other", headers: ["Authorization": "Bearer ok"])
            .status == 101)
        await #expect(throws: NetworkError.self) {
            _ = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(fixture.port)/nope", timeout: .seconds(5))
        }
        #expect(!fixture.handler.log.events.contains { if case .opened(_, path: "/nope", _, _) = $0 { true } else { false } })
    }

    @Test("200 concurrent clients each echo 5 messages")
    func manyClients() async throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let url = fixture.webSocketURL
        try await withDeadline(60) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0 ..< 200 {
                    group.addTask {
                        let client = try await WebSocketClient.connect(to: url)
                        let sent = (0 ..< 5).map { WebSocketMessage.text("client \(index) message \($0)") }
                        for message in sent { try client.send(message) }
                        let received = try await client.receive(5, within: 50)
                        #expect(received == sent)
                        client.close()
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}
