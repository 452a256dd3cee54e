import ShardSync
import Foundation
import ShardNetworking
import ShardProtocol
import ShardTestSupport
import Testing

/// End-to-end tests against real `shard-sidecar` processes on ephemeral loopback ports.
@Suite("Sidecar end to end", .serialized, .timeLimit(.minutes(3)))
struct SidecarEndToEndTests {
    static let model = "Fixtures/kjv-tiny/model-q8_0.gguf"
    static let prompt = "And God said,"

    static func sidecar(_ extra: [String] = []) throws -> (SidecarProcess, SidecarClient) {
        let process = try SidecarProcess(["serve", "--port", "0"] + extra)
        return (process, SidecarClient(port: process.port))
    }

    /// A sidecar with no in-process shard, whose layers are all served by `peers`.
    static func sidecar(peers: [SidecarProcess], _ extra: [String] = []) throws -> (SidecarProcess, SidecarClient) {
        try sidecar(["--model", model, "--local-shards", "0"]
            + peers.flatMap { ["--peer", "ws://127.0.0.1:\($0.port)/peer"] } + extra)
    }

    /// A peer serving `layers`. On loopback it sends f32 hidden states (the sidecar asks so), and its tokens equal
    /// those of one process bit for bit.
    static func peer(layers: String, extra: [String] = []) throws -> SidecarProcess {
        try SidecarProcess(["peer", "--model", model, "--layers", layers, "--port", "0"] + extra)
    }

    @Test func twoPeerProcessesGiveTheTokensOfComplete() async throws {
        let expected = try completeReference(prompt: Self.prompt, maxNewTokens: 24)
        let first = try Self.peer(layers: "0:2"), second = try Self.peer(layers: "2:6")
        defer { first.stop(); second.stop() }
        let (sidecar, client) = try Self.sidecar(peers: [first, second])
        defer { sidecar.stop() }
        try client.waitUntilReady()
        let polled = try client.generateByPolling(requestBody(Self.prompt, maxNewTokens: 24))
        let streamed = try await client.generateByWebSocket(requestBody(Self.prompt, maxNewTokens: 24))
        #expect(!expected.isEmpty)
        #expect(polled.text == expected)
        #expect(streamed.text == expected)
        #expect(polled.tokenIDs == streamed.tokenIDs)
        let (_, peers) = try client.json("GET", "/peers")
        guard case let .array(list)? = peers["peers"] else { Issue.record("no peers list"); return }
        #expect(list.count == 2)
        #expect(list.allSatisfy { $0["state"] == .string("ready") })
        // The first peer passed its hidden states straight to the second.
        #expect(try SidecarClient(port: first.port).json("GET", "/health").1["forwarded"]?.intValue ?? 0 > 0)
    }

    @Test func withoutForwardingEveryHopGoesThroughTheSidecarWithTheSameTokens() async throws {
        let expected = try completeReference(prompt: Self.prompt, maxNewTokens: 24)
        let first = try Self.peer(layers: "0:2"), second = try Self.peer(layers: "2:6")
        defer { first.stop(); second.stop() }
        let (sidecar, client) = try Self.sidecar(peers: [first, second], ["--no-peer-forwarding"])
        defer { sidecar.stop() }
        try client.waitUntilReady()
        #expect(try await client.generateByWebSocket(requestBody(Self.prompt, maxNewTokens: 24)).text == expected)
        #expect(try SidecarClient(port: first.port).json("GET", "/health").1["forwarded"]?.intValue == 0)
    }

    /// A peer that cannot reach the next stage (the sidecar can: here only its own connection passes the relay in
    /// front of the second peer) answers `failed`; the sidecar replays the step through itself and the stream ends
    /// with exactly the tokens of one process.
    @Test func aPeerThatCannotReachTheNextStageFailsOverToTheSidecar() async throws {
        let body = requestBody(Self.prompt, maxNewTokens: 40, extra: ["min_tokens": .int(40)])
        let (reference, referenceClient) = try Self.sidecar()
        try referenceClient.waitUntilReady()
        let expected = try await Self.stream(reference.port, body).ids
        reference.stop()
        let first = try Self.peer(layers: "0:3"), second = try Self.peer(layers: "3:6")
        defer { first.stop(); second.stop() }
        let onlyTheSidecar = try CuttingRelay(targetPort: second.port, maxConnections: 1)
        defer { onlyTheSidecar.stop() }
        let (sidecar, client) = try Self.sidecar(["--model", Self.model, "--local-shards", "0",
                                                  "--peer", "ws://127.0.0.1:\(first.port)/peer",
                                                  "--peer", "ws://127.0.0.1:\(onlyTheSidecar.port)/peer"])
        defer { sidecar.stop() }
        try client.waitUntilReady()
        let got = try await Self.stream(sidecar.port, body)
        #expect(got.ids == expected)
        #expect(got.indices == Array(0 ..< 40))
        #expect(try SidecarClient(port: first.port).json("GET", "/health").1["forwarded"]?.intValue ?? 0 > 0,
                "the first peer tried to pass a step on")
        let metrics = try client.request("GET", "/metrics").text
        #expect(!metrics.contains("shard_step_failures_total 0\n"), "the routed step failed and was replayed")
    }

    /// A routed step that stalls somewhere on its path (here the middle of three peers) cannot say which peer is at
    /// fault: the path's links are reset, steps go through the sidecar for a while (where the stalled peer shows),
    /// and once it is back the stream ends with exactly the tokens of one process. SmolLM2 rather than the fixture,
    /// which generates all 120 tokens before a busy machine delivers the fifth.
    @Test func aStallInTheMiddleOfARoutedPathLosesNoToken() async throws {
        let model = try RealModels.path("SmolLM2-135M-Instruct.Q4_1.gguf")
        let body = requestBody(Self.prompt, maxNewTokens: 120, extra: ["min_tokens": .int(120)])
        let (reference, referenceClient) = try Self.sidecar(["--model", model])
        try referenceClient.waitUntilReady()
        let expected = try await Self.stream(reference.port, body).ids
        reference.stop()
        let peers = try ["0:10", "10:20", "20:30"].map {
            try SidecarProcess(["peer", "--model", model, "--layers", $0, "--port", "0"])
        }
        let middle = peers[1]
        defer { peers.forEach { $0.stop() } }
        let (sidecar, client) = try Self.sidecar(["--model", model, "--local-shards", "0", "--peer-step-timeout", "30"]
            + peers.flatMap { ["--peer", "ws://127.0.0.1:\($0.port)/peer"] })
        defer { sidecar.stop() }
        try client.waitUntilReady()
        let stalled = Locked(false)
        for attempt in 0 ..< 5 where !stalled.withLock({ $0 }) {
            var request = body
            request["request_id"] = .string("stall-\(attempt)")
            let got = try await Self.stream(sidecar.port, request) { count in
                guard count == 5 else { return }
                middle.pause()
                guard try client.json("GET", "/requests/stall-\(attempt)").1["state"] == .string("running") else {
                    middle.resume()
                    return
                }
                stalled.withLock { $0 = true }
                // The stall is noticed (the path is reset: the middle peer cannot finish a handshake while
                // stopped), then the peer comes back.
                #expect(waitUntil(timeout: 30) {
                    guard case let .array(list)? = (try? client.json("GET", "/peers"))?.1["peers"] else { return false }
                    return list.contains { $0["state"] != .string("ready") }
                })
                middle.resume()
            }
            #expect(got.ids == expected)
            #expect(got.indices == Array(0 ..< 120))
        }
        #expect(stalled.withLock { $0 }, "the middle peer never stalled mid-stream in 5 attempts")
    }

    @Test func halfPrecisionHiddenStatesTravelBetweenPeers() async throws {
        let first = try Self.peer(layers: "0:3", extra: ["--hidden-dtype", "f16"])
        let second = try Self.peer(layers: "3:6", extra: ["--hidden-dtype", "f16"])
        defer { first.stop(); second.stop() }
        let (sidecar, client) = try Self.sidecar(peers: [first, second])
        defer { sidecar.stop() }
        try client.waitUntilReady()
        let result = try await client.generateByWebSocket(requestBody(Self.prompt, maxNewTokens: 16,
                                                                      extra: ["min_tokens": .int(16)]))
        #expect(result.tokenIDs.count == 16)
        #expect(result.finishReason == "length")
        // Rounding hidden states to half precision between stages barely moves a greedy continuation.
        let reference = try completeReference(prompt: Self.prompt, maxNewTokens: 16)
        #expect(result.text.prefix(8) == reference.prefix(8))
    }

    @Test func theScaffoldClientStreamsInBothModes() throws {
        let expected = try completeReference(prompt: Self.prompt, maxNewTokens: 20)
        let (sidecar, client) = try Self.sidecar()
        defer { sidecar.stop() }
        try client.waitUntilReady()
        for mode in ["http_poll", "websocket"] {
            let result = try ExecutableRunner.runTool("/usr/bin/python3", [
                "Tests/SidecarTests/Scripts/scaffold_client.py", mode, "http://127.0.0.1:\(sidecar.port)",
                Self.prompt, "20",
            ])
            #expect(result.status == 0, "\(mode): \(result.standardError)")
            #expect(result.standardOutput == expected, "\(mode)")
        }
    }

    @Test func manyConcurrentStreamsAndPollersAllComplete() async throws {
        let (sidecar, client) = try Self.sidecar(["--max-batch", "64"])
        defer { sidecar.stop() }
        try client.waitUntilReady()
        let exact: [String: JSONValue] = ["min_tokens": .int(6)]
        try await withThrowingTaskGroup(of: Int?.self) { group in
            for index in 0 ..< 100 {
                group.addTask {
                    let result = try await client.generateByWebSocket(
                        requestBody("Blessed are the \(index % 7)", maxNewTokens: 6, extra: exact))
                    return result.finishReason == "length" && result.tokenIDs.count == 6 ? result.completionTokens : nil
                }
            }
            for index in 0 ..< 50 {
                group.addTask {
                    let result = try await Task.detached {
                        try client.generateByPolling(requestBody("The LORD is \(index % 5)", maxNewTokens: 6, extra: exact))
                    }.value
                    return result.finishReason == "length" && result.tokenIDs.count == 6 ? result.completionTokens : nil
                }
            }
            var completed = 0
            for try await tokens in group where tokens == 6 { completed += 1 }
            #expect(completed == 150)
        }
    }

    @Test func malformedInputGetsTheDocumentedErrorsAndNothingElseIsHarmed() async throws {
        let (sidecar, client) = try Self.sidecar(["--max-body-bytes", "4096"])
        defer { sidecar.stop() }
        try client.waitUntilReady()
        // A stream in flight must survive everything below.
        async let survivor = client.generateByWebSocket(requestBody(Self.prompt, maxNewTokens: 40,
                                                                  extra: ["min_tokens": .int(40)]))
        let cases: [(String, String, String?, Int, String)] = [
            ("POST", "/broadcast-work", "{not json", 400, "invalid_json"),
            ("POST", "/broadcast-work", #"{"request_id": "a", "prompt_context": 7}"#, 400, "invalid_request"),
            ("POST", "/broadcast-work", #"{"prompt_context": "x"}"#, 400, "invalid_request"),
            ("POST", "/broadcast-work", #"{"request_id": "\#(String(repeating: "x", count: 200))", "prompt_context": "x"}"#, 400, "invalid_request"),
            ("POST", "/broadcast-work", #"{"request_id": "b", "prompt_context": ""}"#, 400, "invalid_request"),
            ("POST", "/broadcast-work", #"{"request_id": "c", "input_token_ids": [1, 99999]}"#, 400, "invalid_request"),
            ("POST", "/broadcast-work", #"{"request_id": "d", "input_token_ids": [1, -4]}"#, 400, "invalid_request"),
            ("POST", "/broadcast-work", #"{"request_id": "e", "prompt_context": "x", "max_new_tokens": 0}"#, 400, "invalid_request"),
            ("POST", "/broadcast-work", #"{"request_id": "f", "prompt_context": "x", "max_new_tokens": 5000}"#, 400, "invalid_request"),
            ("POST", "/broadcast-work", #"{"request_id": "g", "prompt_context": "x", "model": "gpt-9"}"#, 404, "unknown_model"),
            ("POST", "/broadcast-work", #"{"request_id": "k", "prompt_context": "x", "top_k": 1e10}"#, 400, "invalid_request"),
            ("POST", "/broadcast-work", #"{"request_id": "k", "prompt_context": "x", "top_k": 4294967296}"#, 400, "invalid_request"),
            ("POST", "/broadcast-work", #"{"request_id": "h", "prompt_context": "\#(String(repeating: "y", count: 5000))"}"#, 413, "body_too_large"),
            ("GET", "/pop-result?request_id=never-submitted", nil, 404, "unknown_request"),
            ("GET", "/pop-result", nil, 400, "invalid_request"),
            ("GET", "/requests/nope", nil, 404, "unknown_request"),
            ("POST", "/requests/nope/cancel", nil, 404, "unknown_request"),
            ("GET", "/no/such/route", nil, 404, "not_found"),
            ("GET", "/broadcast-work", nil, 405, "method_not_allowed"),
        ]
        for (method, path, body, status, code) in cases {
            let response = try client.request(method, path, body: body)
            #expect(response.status == status, "\(method) \(path) \(body ?? ""): \(response.text)")
            #expect(JSONValue.decode(response.body)?["error"]?["code"]?.stringValue == code, "\(path): \(response.text)")
            #expect(JSONValue.decode(response.body)?["ok"] == .bool(false))
        }
        // A cancel sent as `curl -X POST` does (no Content-Length, no body) is answered, not refused with 411.
        let bodyless = try RawSocket(port: sidecar.port)
        try bodyless.send("POST /requests/nope/cancel HTTP/1.1\r\nHost: x\r\n\r\n")
        let answer = try bodyless.readResponse()
        #expect(answer.status == 404 && answer.text.contains("unknown_request"), "\(answer.text)")
        // A POST without a length (chunked) is refused at once.
        let chunked = try RawSocket(port: sidecar.port)
        try chunked.send("POST /broadcast-work HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        #expect(try chunked.readResponse().status == 411)
        // Repeating a live id with the same body is safe; with another body it conflicts.
        let body = #"{"request_id": "dup", "prompt_context": "x", "max_new_tokens": 3}"#
        #expect(try client.request("POST", "/broadcast-work", body: body).status == 202)
        #expect(try client.request("POST", "/broadcast-work", body: body).status == 202)
        #expect(try client.request("POST", "/broadcast-work",
                                   body: #"{"request_id": "dup", "prompt_context": "y"}"#).status == 409)
        // WebSocket: binary and garbage frames get error events, the connection keeps working.
        let socket = try RawSocket(port: sidecar.port)
        #expect(try socket.upgrade(path: "/ws/generate").status == 101)
        try socket.sendFrame(opcode: 2, [0, 1, 2, 3])
        #expect(try Self.readEvent(socket)["error"]?["code"] == .string("invalid_message"))
        try socket.sendFrame(opcode: 1, Array("{{{ garbage".utf8))
        #expect(try Self.readEvent(socket)["error"]?["code"] == .string("invalid_json"))
        try socket.sendFrame(opcode: 1, Array(#"{"prompt": "x", "max_new_tokens": -1}"#.utf8))
        #expect(try Self.readEvent(socket)["error"]?["field"] == .string("max_new_tokens"))
        try socket.sendFrame(opcode: 1, Array(#"{"prompt": "And", "max_new_tokens": 2, "min_tokens": 2}"#.utf8))
        var events: [JSONValue] = []
        repeat { events.append(try Self.readEvent(socket)) } while events.last?["event"] == nil
        #expect(events.last?["event"] == .string("done"))
        #expect(events.count == 3)
        let finished = try await survivor
        #expect(finished.completionTokens == 40)
        #expect(finished.finishReason == "length")
    }

    /// Regression for defect 3: a long-poll whose client hung up stayed registered; the next events were handed to
    /// it, counted as read, and lost (one aborted poll lost 1-13 tokens in 20 of 20 trials). Now the events wait for
    /// a live poll, and `after` resumes from any index.
    @Test func anAbortedLongPollLosesNoToken() async throws {
        let peer = try Self.peer(layers: "0:6")
        defer { peer.stop() }
        let (sidecar, client) = try Self.sidecar(peers: [peer])
        defer { sidecar.stop() }
        try client.waitUntilReady()
        peer.pause()  // no event can exist until the aborted poll is gone
        let body = #"{"request_id": "abort-1", "prompt_context": "And", "max_new_tokens": 40, "min_tokens": 40}"#
        #expect(try client.request("POST", "/broadcast-work", body: body).status == 202)
        for _ in 0 ..< 3 {
            let poll = try RawSocket(port: sidecar.port)
            try poll.send("GET /pop-result?request_id=abort-1&max=64&wait_ms=20000 HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = try client.request("GET", "/requests/abort-1")  // the poll above is being served by now
            Glibc.shutdown(poll.fd, Int32(SHUT_RDWR))
        }
        peer.resume()
        var indexes: [Int] = []
        var done = false
        while !done {
            let (status, answer) = try client.json("GET", "/pop-result?request_id=abort-1&max=64&wait_ms=10000")
            #expect(status == 200)
            guard case let .array(events)? = answer["results"] else { Issue.record("no results"); return }
            for event in events {
                if let index = event["index"]?.intValue { indexes.append(index) }
                if event["done"] == .bool(true) { done = true }
            }
        }
        #expect(indexes == Array(0 ..< 40), "every token once, in order")
        // Any part can be read again with `after`.
        let (_, again) = try client.json("GET", "/pop-result?request_id=abort-1&max=5&after=29")
        guard case let .array(tail)? = again["results"] else { Issue.record("no results"); return }
        #expect(tail.compactMap { $0["index"]?.intValue } == [30, 31, 32, 33, 34])
        #expect(try client.request("GET", "/pop-result?request_id=abort-1&after=-2").status == 400)
        #expect(try client.request("GET", "/pop-result?request_id=abort-1&after=99999999999999999999").status == 400)
    }

    /// Regression: submitting over HTTP, polling once, then resending the same id and body over a WebSocket
    /// (the documented safe retry) killed the process with an overflow. The retried stream now carries the whole
    /// completion from its first token (a retrying client has nothing it can trust yet).
    @Test func aRequestRetriedOnAWebSocketAfterAPollStreamsItWhole() async throws {
        let expected = try completeReference(prompt: Self.prompt, maxNewTokens: 12)
        let (sidecar, client) = try Self.sidecar()
        defer { sidecar.stop() }
        try client.waitUntilReady()
        let body = requestBody(Self.prompt, maxNewTokens: 12, extra: ["request_id": .string("retry-1"),
                                                                      "min_tokens": .int(12)])
        let encoded = JSONValue.object(body).encodedString()
        #expect(try client.request("POST", "/broadcast-work", body: encoded).status == 202)
        let (status, first) = try client.json("GET", "/pop-result?request_id=retry-1&max=1&wait_ms=10000")
        #expect(status == 200)
        // With max=1 the protocol answers a single event as "result".
        guard let head = first["result"], head["token"] != nil else { Issue.record("no first event: \(first)"); return }
        let whole = try await client.generateByWebSocket(body)
        #expect(head["token"]?.stringValue.map { expected.hasPrefix($0) } == true)
        #expect(whole.text == expected)
        #expect(whole.finishReason == "length")
        #expect(try client.request("GET", "/health").status == 200, "the sidecar must still be up")
    }

    /// Regression: when every running sequence finished in the same step, queued requests waited for an unrelated
    /// request to arrive (with `--max-batch 1`, three of four stayed queued).
    @Test func queuedRequestsAreAdmittedWhenTheBatchEmpties() throws {
        let (sidecar, client) = try Self.sidecar(["--max-batch", "1"])
        defer { sidecar.stop() }
        try client.waitUntilReady()
        let ids = (0 ..< 4).map { "stall-\($0)" }
        for id in ids {
            let body = #"{"request_id": "\#(id)", "prompt_context": "And God", "max_new_tokens": 3, "min_tokens": 3}"#
            #expect(try client.request("POST", "/broadcast-work", body: body).status == 202)
        }
        for id in ids {
            var done = false
            // Each long-poll returns within 5 s; a request stuck in the queue never completes.
            for _ in 0 ..< 6 where !done {
                let (status, answer) = try client.json("GET", "/pop-result?request_id=\(id)&max=64&wait_ms=5000")
                #expect(status == 200)
                if case let .array(events)? = answer["results"] { done = events.contains { $0["done"] == .bool(true) } }
            }
            #expect(done, "\(id) never finished")
        }
    }

    @Test func cancellingByRouteMessageOrClosedSocketFreesEveryShard() async throws {
        let front = try Self.peer(layers: "0:3"), back = try Self.peer(layers: "3:6")
        defer { front.stop(); back.stop() }
        let (sidecar, client) = try Self.sidecar(peers: [front, back], ["--resume-grace", "0.5"])
        defer { sidecar.stop() }
        try client.waitUntilReady()
        // Each request is submitted while the back shard is frozen: it is running (admitted, its first step held on
        // that shard) and cannot finish, so only the cancellation can end it, however fast the fixture is.
        // By route.
        back.pause()
        let body = #"{"request_id": "long-1", "prompt_context": "And", "max_new_tokens": 250, "min_tokens": 250}"#
        #expect(try client.request("POST", "/broadcast-work", body: body).status == 202)
        try Self.waitForState("running", id: "long-1", client: client)
        #expect(try client.request("POST", "/requests/long-1/cancel").status == 200)
        #expect(Self.cancellationArrived("long-1", client))
        back.resume()
        try Self.waitForState("cancelled", id: "long-1", client: client)
        let (_, rest) = try client.json("GET", "/pop-result?request_id=long-1&max=1000")
        guard case let .array(events)? = rest["results"] else { Issue.record("no events"); return }
        #expect(events.last?["finish_reason"] == .string("cancelled"))
        try Self.expectShardsEmpty(client, peers: [front, back])
        // By WebSocket message.
        back.pause()
        let stream = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(sidecar.port)/ws/generate")
        try stream.send(.text(#"{"request_id": "long-2", "prompt": "And", "max_new_tokens": 250, "min_tokens": 250}"#))
        try Self.waitForState("running", id: "long-2", client: client)
        try stream.send(.text(#"{"event": "cancel", "request_id": "long-2"}"#))
        #expect(waitUntil { Self.cancellationArrived("long-2", client) })
        back.resume()
        var final: JSONValue?
        for try await message in stream.messages {
            guard case let .text(text) = message, let event = JSONValue.decode(Array(text.utf8)) else { continue }
            if event["event"] != nil {
                final = event
                break
            }
        }
        stream.close()
        #expect(final?["finish_reason"] == .string("cancelled"))
        try Self.expectShardsEmpty(client, peers: [front, back])
        // By a client vanishing mid-stream: nobody resumes it within the grace period.
        back.pause()
        let vanishing = try RawSocket(port: sidecar.port)
        try vanishing.upgrade(path: "/ws/generate")
        try vanishing.sendFrame(opcode: 1, Array(#"{"request_id": "gone", "prompt": "x", "max_new_tokens": 250, "min_tokens": 250}"#.utf8))
        try Self.waitForState("running", id: "gone", client: client)
        Glibc.shutdown(vanishing.fd, Int32(SHUT_RDWR))
        #expect(waitUntil { Self.cancellationArrived("gone", client) })
        back.resume()
        try Self.waitForState("cancelled", id: "gone", client: client)
        try Self.expectShardsEmpty(client, peers: [front, back])
    }

    @Test func apiKeyIsRequiredEverywhereButHealth() async throws {
        let (sidecar, client) = try Self.sidecar(["--api-key", "s3cret"])
        defer { sidecar.stop() }
        #expect(try client.request("GET", "/health").status == 200)
        for path in ["/ready", "/peers", "/models", "/metrics", "/pop-result?request_id=x"] {
            let response = try client.request("GET", path)
            #expect(response.status == 401, "\(path)")
            #expect(JSONValue.decode(response.body)?["error"]?["code"] == .string("unauthorized"))
        }
        var bearer = client
        bearer.headers = ["Authorization": "Bearer s3cret"]
        try bearer.waitUntilReady()
        var header = client
        header.headers = ["X-API-Key": "s3cret"]
        #expect(try header.request("GET", "/models").status == 200)
        let socket = try RawSocket(port: sidecar.port)
        #expect(try socket.upgrade(path: "/ws/generate").status == 401)
        let result = try await bearer.generateByWebSocket(requestBody(Self.prompt, maxNewTokens: 3))
        #expect(result.finishReason != nil)
    }

    @Test func aPeerWithoutTheSecretIsRefused() throws {
        let honest = try Self.peer(layers: "0:6", extra: ["--secret", "right"])
        defer { honest.stop() }
        let (refusing, refusingClient) = try Self.sidecar(peers: [honest], ["--peer-secret", "wrong"])
        defer { refusing.stop() }
        let (accepting, acceptingClient) = try Self.sidecar(peers: [honest], ["--peer-secret", "right"])
        defer { accepting.stop() }
        try acceptingClient.waitUntilReady()
        #expect(try refusingClient.request("GET", "/ready").status == 503)
        // Frames before authentication are refused and the peer keeps serving its sidecar.
        let intruder = try RawSocket(port: honest.port)
        #expect(try intruder.upgrade(path: "/peer").status == 101)
        try intruder.sendFrame(opcode: 2, Array(repeating: 0xAB, count: 64))
        #expect(try intruder.readCloseCode() == 4401)
        let result = try acceptingClient.generateByPolling(requestBody(Self.prompt, maxNewTokens: 8))
        #expect(result.tokenIDs.count == 8)
    }

    @Test func aVanishingReplicaLosesNoToken() async throws {
        let request = requestBody(Self.prompt, maxNewTokens: 200, extra: ["min_tokens": .int(200)])
        // The reference: the same request on in-process shards, with no failure.
        let (reference, referenceClient) = try Self.sidecar()
        try referenceClient.waitUntilReady()
        let expected = try await referenceClient.generateByWebSocket(request)
        reference.stop()
        #expect(expected.tokenIDs.count == 200)

        let front = try Self.peer(layers: "0:3"), backA = try Self.peer(layers: "3:6"), backB = try Self.peer(layers: "3:6")
        defer { front.stop(); backA.stop(); backB.stop() }
        let (sidecar, client) = try Self.sidecar(peers: [front, backA, backB])
        defer { sidecar.stop() }
        // Ready needs one replica per range; wait for all three so the sequence lands on the first replica.
        #expect(waitUntil {
            guard case let .array(list)? = (try? client.json("GET", "/peers"))?.1["peers"] else { return false }
            return list.filter { $0["state"] == .string("ready") }.count == 3
        })
        // The sequence sits on the first replica of layers 3..<6 (both are empty when it starts). When the client
        // has seen 5 tokens, that replica is frozen; if the (fast) fixture had already finished by then, the
        // attempt cannot show a failover and is run again, else the frozen replica is killed.
        var vanished = false
        for attempt in 0 ..< 5 where !vanished {
            var body = request
            body["request_id"] = .string("vanish-\(attempt)")
            let stream = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(sidecar.port)/ws/generate")
            try stream.send(.text(JSONValue.object(body).encodedString()))
            var text = ""
            var indices: [Int] = []
            var ids: [Int] = []
            for try await message in stream.messages {
                guard case let .text(event) = message, let event = JSONValue.decode(Array(event.utf8)) else { continue }
                if event["event"] != nil { break }
                text += event["token"]?.stringValue ?? ""
                indices.append(event["index"]?.intValue ?? -1)
                ids.append(event["token_id"]?.intValue ?? -1)
                if indices.count == 5 {
                    backA.pause()
                    if try client.json("GET", "/requests/vanish-\(attempt)").1["state"] == .string("running") {
                        backA.kill()
                        vanished = true
                    } else {
                        backA.resume()
                    }
                }
            }
            stream.close()
            #expect(ids == expected.tokenIDs)
            #expect(text == expected.text)
            #expect(indices == Array(0 ..< 200))
        }
        #expect(vanished, "the replica never vanished mid-stream in 5 attempts")
        let metrics = try client.request("GET", "/metrics").text
        #expect(!metrics.contains("shard_step_failures_total 0\n"), "a step failed and was replayed")
        let (_, peers) = try client.json("GET", "/peers")
        guard case let .array(list)? = peers["peers"] else { Issue.record("no peers"); return }
        #expect(list.filter { $0["state"] == .string("ready") }.count == 2)
    }

    /// Streams `body` on a new WebSocket; `onToken` hears the count of tokens received so far.
    static func stream(_ port: Int, _ body: [String: JSONValue],
                       onToken: @Sendable (Int) throws -> Void = { _ in }) async throws -> (ids: [Int], indices: [Int]) {
        let stream = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(port)/ws/generate")
        defer { stream.close() }
        try stream.send(.text(JSONValue.object(body).encodedString()))
        var ids: [Int] = [], indices: [Int] = []
        for try await message in stream.messages {
            guard case let .text(event) = message, let event = JSONValue.decode(Array(event.utf8)) else { continue }
            if event["event"] != nil { break }
            ids.append(event["token_id"]?.intValue ?? -1)
            indices.append(event["index"]?.intValue ?? -1)
            try onToken(ids.count)
        }
        return (ids, indices)
    }

    /// Pipeline parallelism keeps several micro-batches in flight through the peers; a replica that vanishes then
    /// fails steps of several of them at once. Every stream must still get exactly the tokens of in-process shards.
    @Test func aVanishingReplicaWithSeveralStepsInFlightLosesNoToken() async throws {
        let prompts = (0 ..< 6).map { "And God said, let there be \($0)" }
        let bodies = prompts.map { requestBody($0, maxNewTokens: 150, extra: ["min_tokens": .int(150)]) }
        let (reference, referenceClient) = try Self.sidecar()
        try referenceClient.waitUntilReady()
        var expected: [[Int]] = []
        for body in bodies { expected.append(try await Self.stream(reference.port, body).ids) }
        reference.stop()

        let front = try Self.peer(layers: "0:3"), backA = try Self.peer(layers: "3:6"), backB = try Self.peer(layers: "3:6")
        defer { front.stop(); backA.stop(); backB.stop() }
        let (sidecar, client) = try Self.sidecar(peers: [front, backA, backB], ["--micro-batches", "3"])
        defer { sidecar.stop() }
        #expect(waitUntil {
            guard case let .array(list)? = (try? client.json("GET", "/peers"))?.1["peers"] else { return false }
            return list.filter { $0["state"] == .string("ready") }.count == 3
        })
        // The six sequences spread over both replicas of layers 3..<6, in three micro-batches. When the first
        // stream has seen 5 tokens, replica A is frozen; if every request had already finished (the fixture is
        // fast), the attempt cannot show a failover and is run again, else A is killed.
        let vanished = Locked(false)
        for attempt in 0 ..< 5 where !vanished.withLock({ $0 }) {
            let ids = (0 ..< bodies.count).map { "inflight-\(attempt)-\($0)" }
            let results = try await withThrowingTaskGroup(of: (Int, [Int], [Int]).self) { group in
                for (index, body) in bodies.enumerated() {
                    var body = body
                    body["request_id"] = .string(ids[index])
                    group.addTask {
                        let got = try await Self.stream(sidecar.port, body) { count in
                            guard index == 0, count == 5 else { return }
                            backA.pause()
                            let running = try ids.filter {
                                try client.json("GET", "/requests/\($0)").1["state"] == .string("running")
                            }
                            if running.count >= 2 {
                                backA.kill()
                                vanished.withLock { $0 = true }
                            } else {
                                backA.resume()
                            }
                        }
                        return (index, got.ids, got.indices)
                    }
                }
                var all: [(Int, [Int], [Int])] = []
                for try await result in group { all.append(result) }
                return all.sorted { $0.0 < $1.0 }
            }
            for (index, ids, indices) in results {
                #expect(ids == expected[index], "stream \(index) differs from in-process shards")
                #expect(indices == Array(0 ..< 150))
            }
        }
        #expect(vanished.withLock { $0 }, "the replica never vanished mid-stream in 5 attempts")
        let metrics = try client.request("GET", "/metrics").text
        #expect(!metrics.contains("shard_step_failures_total 0\n"), "a step failed and was replayed")
    }

    @Test func sigtermEndsInFlightRequestsAndExitsZero() async throws {
        let peer = try Self.peer(layers: "0:6")
        defer { peer.stop() }
        let (sidecar, client) = try Self.sidecar(peers: [peer])
        try client.waitUntilReady()
        // Hold the generation on the frozen shard while the signal arrives, then let it go on. If the (fast)
        // fixture had already finished when the client saw the first token, that attempt shows nothing: again.
        var final: JSONValue?
        var signalled = false
        for attempt in 0 ..< 5 where !signalled {
            let stream = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(sidecar.port)/ws/generate")
            try stream.send(.text(#"{"request_id": "term-\#(attempt)", "prompt": "And", "max_new_tokens": 250, "min_tokens": 250}"#))
            for try await message in stream.messages {
                guard case let .text(body) = message, let event = JSONValue.decode(Array(body.utf8)) else { continue }
                if event["index"] == .int(0) {
                    peer.pause()
                    if try client.json("GET", "/requests/term-\(attempt)").1["state"] == .string("running") {
                        sidecar.process.terminate()
                        signalled = true
                    }
                    peer.resume()
                }
                if event["event"] != nil {
                    final = event
                    break
                }
            }
            stream.close()
        }
        #expect(signalled, "the request always finished before the signal in 5 attempts")
        #expect(final?["finish_reason"] == .string("cancelled"))
        #expect(sidecar.stop() == 0)
    }

    /// Regression: at SIGTERM only running requests got a final event; queued ones got none and pollers could not
    /// come back for it.
    @Test func sigtermGivesQueuedAndRunningRequestsAFinalEventThatPollersCollect() async throws {
        let peer = try Self.peer(layers: "0:6")
        defer { peer.stop() }
        let (sidecar, client) = try Self.sidecar(peers: [peer], ["--max-batch", "1"])
        try client.waitUntilReady()
        let ids = ["term-0", "term-1", "term-2"]
        peer.pause()  // term-0 is admitted and held on the frozen shard; nothing can finish before the signal
        for id in ids {
            let body = #"{"request_id": "\#(id)", "prompt_context": "And", "max_new_tokens": 200, "min_tokens": 200}"#
            #expect(try client.request("POST", "/broadcast-work", body: body).status == 202)
        }
        let socket = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(sidecar.port)/ws/generate")
        try socket.send(.text(#"{"request_id": "term-ws", "prompt": "And", "max_new_tokens": 5}"#))
        // term-0 runs (one sequence at a time); the others wait in the queue.
        #expect(waitUntil(timeout: 30) { (try? client.json("GET", "/requests/term-0").1["state"]) == .string("running") })
        #expect(waitUntil(timeout: 30) { (try? client.json("GET", "/requests/term-ws").1["state"]) == .string("queued") })
        sidecar.process.terminate()
        peer.resume()
        for id in ids {
            var final: JSONValue?
            for _ in 0 ..< 20 where final == nil {
                let (status, answer) = try client.json("GET", "/pop-result?request_id=\(id)&max=256&wait_ms=2000")
                #expect(status == 200, "\(id): \(answer)")
                if case let .array(events)? = answer["results"] { final = events.first { $0["done"] == .bool(true) } }
            }
            #expect(final?["finish_reason"] == .string("cancelled"), "\(id)")
        }
        var wsFinal: JSONValue?
        for try await message in socket.messages {
            guard case let .text(body) = message, let event = JSONValue.decode(Array(body.utf8)) else { continue }
            if event["event"] != nil { wsFinal = event; break }
        }
        #expect(wsFinal?["finish_reason"] == .string("cancelled"))
        #expect(sidecar.stop() == 0)
    }

    // MARK: helpers

    static func readEvent(_ socket: RawSocket) throws -> JSONValue {
        let frame = try socket.readFrame()
        return JSONValue.decode(frame.payload) ?? .null
    }

    /// The sidecar has the cancellation: pending (`cancel_requested`) or already carried out.
    static func cancellationArrived(_ id: String, _ client: SidecarClient) -> Bool {
        guard let status = try? client.json("GET", "/requests/\(id)").1 else { return false }
        return status["cancel_requested"] == .bool(true) || status["state"] == .string("cancelled")
    }

    static func waitForState(_ state: String, id: String, client: SidecarClient) throws {
        let reached = try waitUntil { try client.json("GET", "/requests/\(id)").1["state"] == .string(state) }
        #expect(reached, "request \(id) did not reach \(state)")
    }

    /// Every in-process shard (`/peers`) and every peer process (`/health`) holds no sequence, and nothing runs.
    static func expectShardsEmpty(_ client: SidecarClient, peers processes: [SidecarProcess] = []) throws {
        let (_, peers) = try client.json("GET", "/peers")
        guard case let .array(list)? = peers["peers"] else { Issue.record("no peers"); return }
        #expect(!list.isEmpty)
        #expect(list.allSatisfy { $0["sequences"] == nil || $0["sequences"] == .int(0) }, "\(list)")
        for process in processes {
            let health = try SidecarClient(port: process.port).json("GET", "/health").1
            #expect(waitUntil { (try? SidecarClient(port: process.port).json("GET", "/health").1["sequences"]) == .int(0) },
                    "peer \(process.port): \(health)")
        }
        let metrics = try client.request("GET", "/metrics").text
        #expect(metrics.contains("shard_requests{state=\"running\"} 0\n"))
        #expect(metrics.contains("shard_requests{state=\"queued\"} 0\n"))
    }
}
