import Foundation
import ShardClient
import ShardProtocol
import ShardTestSupport
import ShardTokenizers
import Testing

/// The SDK against real `shard-sidecar` processes on ephemeral loopback ports.
@Suite("Swift SDK against a real sidecar", .serialized, .timeLimit(.minutes(3)))
struct ShardClientTests {
    static let prompt = "And God said,"

    static func sidecar(_ extra: [String] = []) throws -> SidecarProcess {
        try SidecarProcess(["serve", "--port", "0"] + extra)
    }

    static func load(_ sidecar: SidecarProcess, transport: Transport = .httpPolling,
                     tokenizer: TokenizerChoice = .automatic, retry: RetryPolicy = .default) async throws
        -> ShardDistributedModel {
        try await ShardDistributedModel.fromPretrained(
            routerURL: sidecar.baseURL, websocketURL: "ws://127.0.0.1:\(sidecar.port)/ws/generate",
            tokenizer: tokenizer, transport: transport, retry: retry)
    }

    /// Reads a counter or gauge line of `/metrics`.
    static func metric(_ sidecar: SidecarProcess, _ line: String) throws -> Int? {
        let text = try RawSocket(port: sidecar.port).request("GET", "/metrics").text
        return text.split(separator: "\n").first { $0.hasPrefix(line + " ") }.flatMap { Int($0.split(separator: " ").last!) }
    }

    @Test(arguments: Transport.allCases)
    func bothTransportsStreamTheGreedyTextOfComplete(_ transport: Transport) async throws {
        let expected = try completeReference(prompt: Self.prompt, maxNewTokens: 24)
        let sidecar = try Self.sidecar()
        defer { sidecar.stop() }
        let model = try await Self.load(sidecar, transport: transport)
        var pieces: [String] = []
        for try await piece in model.streamGenerate(Self.prompt, maxNewTokens: 24) { pieces.append(piece) }
        #expect(pieces.count == 24, "one piece per token")
        #expect(pieces.joined() == expected)
        #expect(try await model.generate(Self.prompt, maxNewTokens: 24) == expected)
        var completion: Completion?
        for try await event in model.events(Self.prompt, maxNewTokens: 5) {
            if case let .done(done) = event { completion = done }
        }
        #expect(completion?.finishReason == .length)
        #expect(completion?.completionTokens == 5)
        #expect(completion?.requestID.hasPrefix("sdk-") == true)
    }

    /// The client's TCP connection is cut mid-stream (a relay resets it: no WebSocket close frame, no end of the
    /// HTTP answer). The SDK reconnects and resumes after the last token it passed on; the text equals an
    /// undisturbed run's, with no gap and no repeat. The only shard is frozen around the cut, so the cut falls
    /// while the request is still generating. SmolLM2 rather than the fixture, which generates all 120 tokens before a
    /// busy machine delivers the fifth.
    @Test(arguments: Transport.allCases)
    func aStreamCutMidwayResumesWithTheSameText(_ transport: Transport) async throws {
        let model = try RealModels.path("SmolLM2-135M-Instruct.Q4_1.gguf")
        let peer = try SidecarProcess(["peer", "--model", model, "--layers", "0:30", "--port", "0"])
        let sidecar = try Self.sidecar(["--model", model, "--local-shards", "0",
                                        "--peer", "ws://127.0.0.1:\(peer.port)/peer"])
        defer { sidecar.stop(); peer.stop() }
        let sampling = Sampling(minTokens: 120)
        let expected = try await Self.load(sidecar, transport: transport)
            .generate(Self.prompt, maxNewTokens: 120, sampling: sampling)
        let relay = try CuttingRelay(targetPort: sidecar.port)
        defer { relay.stop() }
        let retries = Counter()
        let client = try await ShardDistributedModel.fromPretrained(
            routerURL: "http://127.0.0.1:\(relay.port)", websocketURL: "ws://127.0.0.1:\(relay.port)/ws/generate",
            transport: transport, retry: RetryPolicy(onRetry: { _, _ in _ = retries.increment() }))
        // At the fifth token the shard is frozen; if the request is still running, the connection is cut while
        // the rest is yet to come. (When the request had already finished, that attempt cannot show a cut
        // mid-stream and the stream is run again.)
        var cutMidStream = false
        for _ in 0 ..< 5 where !cutMidStream {
            var indexes: [Int] = []
            var text = ""
            for try await event in client.events(Self.prompt, maxNewTokens: 120, sampling: sampling) {
                guard case let .token(chunk) = event else { continue }
                indexes.append(chunk.index)
                text += chunk.text
                if indexes.count == 5 {
                    peer.pause()
                    let state = try Self.json(sidecar, "/requests/\(chunk.requestID)").1["state"]
                    if state == .string("running") {
                        relay.cutAll()
                        cutMidStream = true
                    }
                    peer.resume()
                }
            }
            #expect(text == expected)
            #expect(indexes == Array(0 ..< 120), "no gap, no repeat")
        }
        #expect(cutMidStream, "the request always finished before the cut in 5 attempts")
        #expect(relay.connectionCount >= 2, "the stream went on over a new connection")
        if transport == .webSocket {
            // (libcurl itself re-sends a poll whose reused connection died before any answer byte, so a poll may not
            // surface the cut; an `after` read is idempotent, so that is safe.)
            #expect(retries.value >= 1, "the cut broke the socket, and the SDK resumed on a new one")
        }
    }

    @Test(arguments: Transport.allCases)
    func cancellingTheConsumerCancelsTheRequestOnTheSidecar(_ transport: Transport) async throws {
        // SmolLM2 rather than the fixture: the fixture writes all 250 tokens in about 60 ms, which a loaded machine
        // can take to deliver the first one, and the request would be over before the shard is frozen.
        let model = try RealModels.path("SmolLM2-135M-Instruct.Q4_1.gguf")
        let peer = try SidecarProcess(["peer", "--model", model, "--layers", "0:30", "--port", "0"])
        let sidecar = try Self.sidecar(["--model", model, "--local-shards", "0",
                                        "--peer", "ws://127.0.0.1:\(peer.port)/peer"])
        defer { sidecar.stop(); peer.stop() }
        let client = try await Self.load(sidecar, transport: transport)
        var requestID: String?
        for try await event in client.events("And", maxNewTokens: 250, sampling: Sampling(minTokens: 250)) {
            guard case let .token(chunk) = event else { continue }
            // Freeze the only shard: the request cannot finish, so only the cancellation can end it.
            peer.pause()
            requestID = chunk.requestID
            break  // dropping the stream cancels it
        }
        let id = try #require(requestID)
        #expect(try waitUntil {
            let status = try Self.json(sidecar, "/requests/\(id)").1
            return status["cancel_requested"] == .bool(true) || status["state"] == .string("cancelled")
        })
        peer.resume()
        #expect(try waitUntil { try Self.json(sidecar, "/requests/\(id)").1["state"] == .string("cancelled") })
        #expect(try Self.metric(sidecar, #"shard_requests{state="running"}"#) == 0)
        // Releases travel as frames and are applied in the peer's order of work: wait for it.
        #expect(try waitUntil {
            JSONValue.decode(try RawSocket(port: peer.port).request("GET", "/health").body)?["sequences"] == .int(0)
        }, "the shard freed the sequence")
    }

    @Test func noSidecarIsTheDocumentedError() async throws {
        let reserved = try ReservedPort()
        do {
            _ = try await ShardDistributedModel.fromPretrained(routerURL: "http://127.0.0.1:\(reserved.port)",
                                                               retry: .none)
            Issue.record("fromPretrained succeeded without a sidecar")
        } catch {
            #expect(error.kind == .noSidecar)
            #expect(error.message.contains("start it with `shard-sidecar`"))
            #expect(error.message.contains("127.0.0.1:\(reserved.port)"))
        }
    }

    static func peerAndSidecar(_ extra: [String] = []) throws -> (peer: SidecarProcess, sidecar: SidecarProcess) {
        let peer = try SidecarProcess(["peer", "--model", "Fixtures/kjv-tiny/model-q8_0.gguf", "--layers", "0:6",
                                       "--port", "0"])
        let sidecar = try Self.sidecar(["--model", "Fixtures/kjv-tiny/model-q8_0.gguf", "--local-shards", "0",
                                        "--peer", "ws://127.0.0.1:\(peer.port)/peer"] + extra)
        return (peer, sidecar)
    }

    @Test func aFullQueueIsRetriedUntilItRecovers() async throws {
        let (peer, sidecar) = try Self.peerAndSidecar(["--queue-capacity", "1"])
        defer { sidecar.stop(); peer.stop() }
        let retries = Counter()
        let port = sidecar.port
        let policy = RetryPolicy(maxAttempts: 30, initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(100)) { _, error in
            // The first refusal is the 503; freeing the queue lets a later attempt through.
            if retries.increment() == 1, error.httpStatus == 503 {
                _ = try? RawSocket(port: port).request("POST", "/requests/blocker/cancel")
                peer.resume()
            }
        }
        let retrying = try await Self.load(sidecar, retry: policy)
        // Fill the queue with a request held on the frozen shard (frozen first: it cannot finish on its own).
        peer.pause()
        let socket = try RawSocket(port: sidecar.port)
        let blocker = #"{"request_id": "blocker", "prompt_context": "And", "max_new_tokens": 250, "min_tokens": 250}"#
        #expect(try socket.request("POST", "/broadcast-work", headers: ["Content-Type": "application/json"],
                                   body: Array(blocker.utf8)).status == 202)
        #expect(try waitUntil { try Self.json(sidecar, "/requests/blocker").1["state"] == .string("running") })
        let text = try await retrying.generate(Self.prompt, maxNewTokens: 8)
        #expect(retries.value >= 1)
        #expect(text == (try completeReference(prompt: Self.prompt, maxNewTokens: 8)))
    }

    @Test func aServerErrorMidStreamThrowsWithTheRequestID() async throws {
        let peer = try SidecarProcess(["peer", "--model", "Fixtures/kjv-tiny/model-q8_0.gguf", "--layers", "0:6",
                                       "--port", "0"])
        let sidecar = try Self.sidecar(["--model", "Fixtures/kjv-tiny/model-q8_0.gguf", "--local-shards", "0",
                                        "--peer", "ws://127.0.0.1:\(peer.port)/peer", "--shard-outage-timeout", "1"])
        defer { sidecar.stop(); peer.stop() }
        let model = try await Self.load(sidecar, transport: .webSocket)
        // At the second token the shard is frozen; if the request still runs, the shard vanishes. (When the fast
        // fixture had already finished, the attempt shows nothing and runs again.)
        var vanished = false
        for _ in 0 ..< 5 where !vanished {
            var tokens = 0
            do {
                for try await event in model.events("And", maxNewTokens: 250, sampling: Sampling(minTokens: 250)) {
                    guard case let .token(chunk) = event else { continue }
                    tokens += 1
                    if tokens == 2 {
                        peer.pause()
                        if try Self.json(sidecar, "/requests/\(chunk.requestID)").1["state"] == .string("running") {
                            peer.kill()
                            vanished = true
                        } else {
                            peer.resume()
                        }
                    }
                }
                #expect(!vanished, "the stream ended without an error")
            } catch let error as ShardClientError {
                #expect(error.kind == .serverError)
                #expect(error.serverCode == "shards_unavailable")
                #expect(error.requestID?.hasPrefix("sdk-") == true)
                #expect(tokens >= 2)
            }
        }
        #expect(vanished, "the request always finished before the shard vanished in 5 attempts")
    }

    @Test func emojiAndCJKSurviveAndTheTokenizersAgree() async throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.stop() }
        let prompt = "Und Gott sprach: Es werde Licht — 光 🙏 café. And God said,"
        let automatic = try await Self.load(sidecar)
        let bytes = try await Self.load(sidecar, tokenizer: .utf8Bytes)
        let explicit = try await Self.load(sidecar, tokenizer: .sentencePiece(
            path: ExecutableRunner.repositoryRoot.appendingPathComponent("Fixtures/kjv-tiny/tokenizer.model").path))
        let (_, models) = try Self.json(sidecar, "/models")
        guard case let .array(entries)? = models["models"] else { Issue.record("no models"); return }
        #expect(automatic.tokenizerName == entries.first?["tokenizer"]?.stringValue)
        #expect(explicit.tokenizerName == automatic.tokenizerName)
        #expect(bytes.tokenizerName == "utf8-bytes")
        let viaSentencePiece = try await automatic.generate(prompt, maxNewTokens: 30)
        #expect(try await bytes.generate(prompt, maxNewTokens: 30) == viaSentencePiece)
        var joined = ""
        for try await piece in automatic.streamGenerate(prompt, maxNewTokens: 30) { joined += piece }
        #expect(joined == viaSentencePiece)
        // Seeded sampling through the SDK is reproducible.
        let sampled = try await automatic.generate(prompt, maxNewTokens: 60, sampling: Sampling(temperature: 1.5, seed: 3))
        #expect(try await automatic.generate(prompt, maxNewTokens: 60, sampling: Sampling(temperature: 1.5, seed: 3)) == sampled)
    }

    @Test func invalidRequestsFailBeforeAnyIO() async throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.stop() }
        let model = try await Self.load(sidecar)
        let invalid: [(String, Int, Sampling)] = [
            ("", 10, .greedy), ("x", 0, .greedy), ("x", 5000, .greedy), ("x", 10, Sampling(temperature: -1)),
            ("x", 10, Sampling(topP: 0)), ("x", 10, Sampling(topK: -2)), ("x", 10, Sampling(minTokens: 11)),
        ]
        for (prompt, maxNewTokens, sampling) in invalid {
            await #expect(throws: ShardClientError.self) {
                for try await _ in model.streamGenerate(prompt, maxNewTokens: maxNewTokens, sampling: sampling) {}
            }
            do {
                _ = try await model.submit(prompt, maxNewTokens: maxNewTokens, sampling: sampling)
                Issue.record("submit accepted an invalid request")
            } catch {
                #expect(error.kind == .invalidRequest)
            }
        }
        for state in ["queued", "running", "completed", "failed", "cancelled"] {
            #expect(try Self.metric(sidecar, "shard_requests{state=\"\(state)\"}") == 0, "\(state)")
        }
    }

    @Test func submitHandleReportsStatusAndWaits() async throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.stop() }
        let model = try await Self.load(sidecar)
        let handle = try await model.submit(Self.prompt, maxNewTokens: 12)
        let (text, completion) = try await handle.wait()
        #expect(text == (try completeReference(prompt: Self.prompt, maxNewTokens: 12)))
        #expect(completion.completionTokens == 12)
        #expect(try await handle.status().state == "completed")
        let long = try await model.submit("And", maxNewTokens: 250, sampling: Sampling(minTokens: 250))
        try await long.cancel()
        #expect(try await long.wait().completion.finishReason == .cancelled)
        #expect(try await model.health().status == "ok")
        #expect(try await model.ready().ready)
        #expect(try await model.peers().map(\.layers) == [0 ..< 3, 3 ..< 6])
    }

    @Test func shutdownStopsStreamsAndRefusesNewOnes() async throws {
        let (peer, sidecar) = try Self.peerAndSidecar()
        defer { sidecar.stop(); peer.stop() }
        let model = try await Self.load(sidecar, transport: .webSocket)
        let stream = model.streamGenerate("And", maxNewTokens: 250, sampling: Sampling(minTokens: 250))
        var iterator = stream.makeAsyncIterator()
        _ = try await iterator.next()
        peer.pause()  // the generation cannot finish on its own
        model.shutdown()
        peer.resume()
        await #expect(throws: (any Error).self) { while try await iterator.next() != nil {} }
        await #expect(throws: ShardClientError.self) { _ = try await model.generate("x", maxNewTokens: 2) }
    }

    static func json(_ sidecar: SidecarProcess, _ path: String) throws -> (Int, JSONValue) {
        let response = try RawSocket(port: sidecar.port).request("GET", path)
        return (response.status, JSONValue.decode(response.body) ?? .null)
    }
}

/// A thread-safe counter for callbacks.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    /// Adds one and returns the new value.
    func increment() -> Int { lock.withLock { count += 1; return count } }
    var value: Int { lock.withLock { count } }
}

