import ShardTestSupport
import Dispatch
import ShardNetworking
import Testing

@Suite("HTTP server")
struct HTTPServerTests {
    @Test("GET and POST are echoed with Content-Type and Content-Length; query and headers are decoded")
    func getAndPost() throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let socket = try RawSocket(port: fixture.port)

        let get = try socket.request("GET", "/echo?name=a%20b&x=1%262&empty", headers: ["X-API-Key": "secret",
                                                                                         "Authorization": "Bearer t"])
        #expect(get.status == 200)
        #expect(get.headers["content-type"] == "text/plain")
        #expect(get.headers["x-echo"] == "1")
        #expect(get.headers["content-length"] == String(get.body.count))
        let lines = get.text.split(separator: "\n").map(String.init)
        #expect(lines.first == "GET /echo")
        #expect(lines.contains("q:name=a b"))
        #expect(lines.contains("q:x=1&2"))
        #expect(lines.contains("q:empty="))
        #expect(lines.contains("h:x-api-key=secret"))
        #expect(lines.contains("h:authorization=Bearer t"))

        let body = Array("{\"hello\": \"world\"}".utf8)
        let post = try RawSocket(port: fixture.port).request("POST", "/echo", body: body)
        #expect(post.status == 200)
        #expect(post.text.hasPrefix("POST /echo"))
        #expect(post.body.suffix(body.count).elementsEqual(body))

        let delete = try RawSocket(port: fixture.port).request("DELETE", "/echo")
        #expect(delete.text.hasPrefix("DELETE /echo"))
    }

    @Test("keep-alive: several requests on one connection")
    func keepAlive() throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let socket = try RawSocket(port: fixture.port)
        for index in 0 ..< 3 {
            let response = try socket.request("POST", "/echo?n=\(index)", body: Array("body \(index)".utf8))
            #expect(response.status == 200)
            #expect(response.text.contains("q:n=\(index)"))
            #expect(response.text.hasSuffix("body \(index)"))
        }
        let ids = fixture.handler.log.events.compactMap { event -> ConnectionID? in
            if case let .request(request) = event { return request.connection } else { return nil }
        }
        #expect(Set(ids).count == 3, "each request has its own ConnectionID")
    }

    @Test("HEAD gets the headers and Content-Length but no body")
    func head() throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let socket = try RawSocket(port: fixture.port)
        try socket.send("HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try socket.readHead()
        #expect(head.status == 200)
        #expect(Int(head.headers["content-length"] ?? "") ?? 0 > 0)
        let next = try socket.request("GET", "/echo")
        #expect(next.status == 200 && next.text.hasPrefix("GET /echo"), "no stray body before the next response")
    }

    @Test("an oversized body gets 413 body_too_large without reaching the handler; the server keeps serving")
    func bodyTooLarge() throws {
        let fixture = try TestServer { $0.maxRequestBodyBytes = 1024 }
        defer { fixture.server.shutdown() }
        let socket = try RawSocket(port: fixture.port)
        let response = try socket.request("POST", "/echo", body: [UInt8](repeating: 65, count: 200_000))
        #expect(response.status == 413)
        #expect(response.headers["content-type"] == "application/json")
        #expect(response.text.contains(#""code": "body_too_large""#))
        #expect(response.text.contains(#""ok": false"#))
        #expect(fixture.handler.log.events.isEmpty)

        // Same connection still usable, and a new one too.
        #expect(try socket.request("GET", "/echo").status == 200)
        #expect(try RawSocket(port: fixture.port).request("POST", "/echo", body: [1, 2, 3]).status == 200)
    }

    @Test("a POST with neither Content-Length nor a body (curl -X POST) is answered; its connection then closes")
    func postWithoutContentLength() throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let socket = try RawSocket(port: fixture.port)
        try socket.send("POST /echo?empty=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try socket.readResponse()
        #expect(response.status == 200)
        #expect(response.text.contains("q:empty=1"))
        #expect(response.headers["connection"] == "close")
        #expect(try socket.readUntilClose().isEmpty, "lws would read what follows as this request's body: closed")
        #expect(try RawSocket(port: fixture.port).request("GET", "/echo").status == 200, "the server goes on")
    }

    @Test("a chunked POST without Content-Length gets 411 length_required at once")
    func lengthRequired() throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let socket = try RawSocket(port: fixture.port)
        try socket.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        let response = try socket.readResponse()
        #expect(response.status == 411)
        #expect(response.text.contains(#""code": "length_required""#))
        #expect(fixture.handler.log.events.isEmpty)
    }

    @Test("a streamed answer: head, pieces from another thread, end by closing; no Content-Length")
    func streamedAnswer() throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let socket = try RawSocket(port: fixture.port)
        try socket.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try socket.readHead()
        #expect(head.status == 200)
        #expect(head.headers["content-type"] == "text/event-stream")
        #expect(head.headers["content-length"] == nil)
        #expect(String(decoding: try socket.readUntilClose(), as: UTF8.self) == "abc")
        #expect(try RawSocket(port: fixture.port).request("GET", "/echo").status == 200, "the server goes on")
    }

    /// Regression: pieces queued before the head was written waited for a later piece that never came.
    @Test("a streamed answer whose pieces and end are all queued before the head is written arrives whole")
    func streamedAnswerQueuedAtOnce() throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let socket = try RawSocket(port: fixture.port, timeoutSeconds: 5)
        try socket.send("GET /stream-at-once HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try socket.readHead().status == 200)
        #expect(String(decoding: try socket.readUntilClose(), as: UTF8.self) == "abc")
    }

    @Test("handlers run on the service thread, which says so; other threads are not it")
    func serviceThreadIsKnown() throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        #expect(try RawSocket(port: fixture.port).request("GET", "/echo").text.contains("t:service"))
        #expect(!HTTPWebSocketServer.isServiceThread)
    }

    @Test("long-poll: respond() from another thread 200 ms later")
    func delayedRespond() async throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let socket = try RawSocket(port: fixture.port)
        try socket.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        guard case let .request(request)? = await fixture.handler.log.first(where: {
            if case .request = $0 { true } else { false }
        }) else { Issue.record("the handler never saw the request"); return }
        let server = fixture.server
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) {
            server.respond(.json(200, #"{"late": true}"#), to: request.connection)
            server.respond(.json(500, "{}"), to: request.connection)  // a second answer is ignored
        }
        let response = try socket.readResponse()
        #expect(response.status == 200)
        #expect(response.text == #"{"late": true}"#)
        #expect(try socket.request("GET", "/echo").status == 200, "the connection stays usable")
    }

    @Test("httpConnectionClosed when the client goes away while waiting")
    func clientGoesAway() async throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        var socket: RawSocket? = try RawSocket(port: fixture.port)
        try socket?.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        guard case let .request(request)? = await fixture.handler.log.first(where: {
            if case .request = $0 { true } else { false }
        }) else { Issue.record("the handler never saw the request"); return }
        socket = nil  // closes the socket
        let closed = await fixture.handler.log.first {
            if case let .httpClosed(id) = $0 { id == request.connection } else { false }
        }
        #expect(closed != nil)
        fixture.server.respond(.json(200, "{}"), to: request.connection)  // ignored, must not crash
    }
}

@Suite("HTTP long-poll beyond libwebsockets' 5 s timeout")
struct LongPollTests {
    @Test("an unanswered request survives 6 s, then respond() still reaches the client")
    func survivesTransactionTimeout() async throws {
        let fixture = try TestServer()
        defer { fixture.server.shutdown() }
        let socket = try RawSocket(port: fixture.port, timeoutSeconds: 20)
        try socket.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        guard case let .request(request)? = await fixture.handler.log.first(where: {
            if case .request = $0 { true } else { false }
        }) else { Issue.record("the handler never saw the request"); return }
        let closed = await fixture.handler.log.first(timeout: 6) { if case .httpClosed = $0 { true } else { false } }
        #expect(closed == nil, "lws must not drop a pending long-poll")
        fixture.server.respond(.json(200, #"{"done": true}"#), to: request.connection)
        #expect(try socket.readResponse().status == 200)
    }
}
