@testable import ShardHTTPClient
import Testing

@Suite("CurlHTTPClient failures", .timeLimit(.minutes(1)))
struct FailureTests {
    @Test("nothing listening: .couldNotConnect")
    func couldNotConnect() async {
        let refusing = RefusingPort()
        let client = CurlHTTPClient(connectTimeout: .seconds(2))
        defer { client.shutdown() }
        let error = await failure { () async throws(HTTPClientError) in
            try await client.get("http://127.0.0.1:\(refusing.port)/echo")
        }
        #expect(error?.kind == .couldNotConnect)
        #expect(error?.message.contains("127.0.0.1:\(refusing.port)/echo") == true)
        withExtendedLifetime(refusing) {}
    }

    @Test("a handler that never answers + 300 ms timeout: .timeout; the client keeps working")
    func timeout() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = CurlHTTPClient()
        defer { client.shutdown() }
        let error = await failure { () async throws(HTTPClientError) in
            try await client.get(fixture.url("/hang"), timeout: .milliseconds(300))
        }
        #expect(error?.kind == .timeout)

        let next = try await client.get(fixture.url("/echo?after=timeout"))
        #expect(next.status == 200)
    }

    @Test("cancelling the task aborts a hanging request promptly with .cancelled; the client keeps working")
    func cancellation() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = CurlHTTPClient()
        defer { client.shutdown() }
        var arrivals = fixture.handler.hangs.makeAsyncIterator()

        let task = Task {
            try await client.get(fixture.url("/hang"))
        }
        _ = await arrivals.next()   // the request reached the server: the transfer is in flight
        // (a cancel that did not abort the transfer would hang here until the suite time limit fails it)
        task.cancel()
        let error = await thrown(by: task)
        #expect(error?.kind == .cancelled)

        let next = try await client.get(fixture.url("/echo?after=cancel"))
        #expect(next.status == 200)
        #expect(next.text.contains("q:after=cancel"))
    }

    @Test("a queued request cancelled before it starts never runs")
    func cancelWhileQueued() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = CurlHTTPClient()
        defer { client.shutdown() }
        var arrivals = fixture.handler.hangs.makeAsyncIterator()

        let blocker = Task {
            try await client.get(fixture.url("/hang"))
        }
        _ = await arrivals.next()   // the client's only thread is busy
        let queued = Task {
            try await client.get(fixture.url("/echo?queued=1"))
        }
        while client.queuedRequests == 0 { await Task.yield() }   // queued behind the hanging request
        queued.cancel()
        #expect(await thrown(by: queued)?.kind == .cancelled)
        blocker.cancel()
        #expect(await thrown(by: blocker)?.kind == .cancelled)

        let next = try await client.get(fixture.url("/echo?after=1"))
        #expect(next.status == 200)
        #expect(fixture.handler.requests == ["/hang?", "/echo?after=1"])
    }

    @Test("an already-cancelled task throws .cancelled without sending anything")
    func alreadyCancelled() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = CurlHTTPClient()
        defer { client.shutdown() }

        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await client.get(fixture.url("/echo?never=1"))
        }
        #expect(await thrown(by: task)?.kind == .cancelled)
        _ = try await client.get(fixture.url("/echo?after=1"))
        #expect(fixture.handler.requests == ["/echo?after=1"])
    }

    @Test("shutdown: later calls throw .shutdown; a request in flight ends with .shutdown; idempotent")
    func shutdown() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = CurlHTTPClient()
        var arrivals = fixture.handler.hangs.makeAsyncIterator()

        let inFlight = Task {
            try await client.get(fixture.url("/hang"))
        }
        _ = await arrivals.next()
        client.shutdown()
        #expect(await thrown(by: inFlight)?.kind == .shutdown)

        let error = await failure { () async throws(HTTPClientError) in
            try await client.get(fixture.url("/echo"))
        }
        #expect(error?.kind == .shutdown)
        client.shutdown()
        let posted = await failure { () async throws(HTTPClientError) in
            try await client.post(fixture.url("/echo"), body: [1])
        }
        #expect(posted?.kind == .shutdown)
    }

    @Test("malformed URL: .invalidURL; bad header: transport error; the client keeps working")
    func invalidInput() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = CurlHTTPClient()
        defer { client.shutdown() }

        let malformed = await failure { () async throws(HTTPClientError) in
            try await client.get("http://127.0.0.1:99999/")
        }
        #expect(malformed?.kind == .invalidURL)

        let injected = await failure { () async throws(HTTPClientError) in
            try await client.get(fixture.url("/echo"), headers: ["X-Test": "a\r\nX-Evil: 1"])
        }
        #expect(injected?.kind == .transport(code: 43))

        let next = try await client.get(fixture.url("/echo"), headers: ["X-Test": ""])
        #expect(next.status == 200)
    }
}
