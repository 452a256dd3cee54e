import Foundation
import ShardNetworking
import ShardProtocol
import ShardTestSupport
import Testing

/// Peers under load and abuse: defects 5, 7, 8 and 10 of the reliability issue, each against real processes.
@Suite("Peers: bounded frames, authentication first, capacity, shared peers", .serialized, .timeLimit(.minutes(3)))
struct PeerRobustnessTests {
    static let model = SidecarEndToEndTests.model

    static func metric(_ client: SidecarClient, _ name: String) throws -> Int? {
        let text = try client.request("GET", "/metrics").text
        return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            .flatMap { Int($0.split(separator: " ").last!) }
    }

    /// Streams `count` WebSocket requests at once; returns how many ended with `length` and the expected count.
    static func streamAll(_ client: SidecarClient, count: Int, prompt: @escaping @Sendable (Int) -> String,
                          tokens: Int) async throws -> Int {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0 ..< count {
                group.addTask {
                    let result = try await client.generateByWebSocket(
                        requestBody(prompt(index), maxNewTokens: tokens, extra: ["min_tokens": .int(Int64(tokens))]))
                    return result.finishReason == "length" && result.tokenIDs.count == tokens
                }
            }
            var completed = 0
            for try await ok in group where ok { completed += 1 }
            return completed
        }
    }

    /// A peer's `/health` counts decode steps (one row per sequence) apart from prefill steps, so that a step's
    /// time can be compared with what decoding alone computes (the benchmark's overhead per hop).
    @Test func healthCountsDecodeStepsApartFromPrefill() async throws {
        let peer = try SidecarEndToEndTests.peer(layers: "0:6")
        defer { peer.stop() }
        let (sidecar, client) = try SidecarEndToEndTests.sidecar(peers: [peer])
        defer { sidecar.stop() }
        try client.waitUntilReady()
        let tokens = 12
        #expect(try await Self.streamAll(client, count: 1, prompt: { _ in "And God said, Let there be light" },
                                         tokens: tokens) == 1)
        let health = try RawSocket(port: peer.port).request("GET", "/health")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any])
        let steps = try #require(object["steps"] as? Int), decodeSteps = try #require(object["decode_steps"] as? Int)
        let compute = try #require(object["compute_seconds"] as? Double)
        let decodeCompute = try #require(object["decode_compute_seconds"] as? Double)
        // One prefill step gives the first token; every later token is one decode step.
        #expect(steps == tokens)
        #expect(decodeSteps == tokens - 1)
        #expect(decodeCompute > 0)
        #expect(decodeCompute < compute)
    }

    /// Defect 5: 64 requests with ~200-token prompts made one step's reply larger than the peer's send queue; the
    /// link closed, the replay failed the same way, forever. Prompts are now prefilled in bounded chunks.
    @Test func manyLongPromptsThroughPeersAllComplete() async throws {
        let front = try SidecarEndToEndTests.peer(layers: "0:3"), back = try SidecarEndToEndTests.peer(layers: "3:6")
        defer { front.stop(); back.stop() }
        let (sidecar, client) = try SidecarEndToEndTests.sidecar(peers: [front, back])
        defer { sidecar.stop() }
        try client.waitUntilReady()
        let verse = "And God said, Let there be light: and there was light. And God saw the light, that it was good. "
        let text = String(repeating: verse, count: 6)
        let completed = try await Self.streamAll(client, count: 64, prompt: { index in
            String(text.prefix(560 + index % 7)) + "\(index)"
        }, tokens: 4)
        #expect(completed == 64)
        #expect(try Self.metric(client, "shard_step_failures_total") == 0, "no link dropped, nothing replayed")
    }

    /// Defect 7: a peer reassembled messages of up to 64 MiB before checking authentication. Now a link that has
    /// not authenticated may send 64 KiB, and only so many links may be open.
    @Test func anUnauthenticatedLinkCannotMakeThePeerBuffer() async throws {
        let peer = try SidecarEndToEndTests.peer(layers: "0:6", extra: ["--secret", "s3cret"])
        defer { peer.stop() }
        let intruder = try RawSocket(port: peer.port)
        try intruder.upgrade(path: "/peer")
        // A binary message of 1 MiB in fragments, never authenticated: closed at 64 KiB with 1009.
        let chunk = [UInt8](repeating: 0x41, count: 32 << 10)
        do {
            try intruder.sendFrame(opcode: 2, chunk, fin: false)
            for _ in 0 ..< 31 { try intruder.sendFrame(opcode: 0, chunk, fin: false) }
        } catch {}  // the peer may close before every fragment is written
        #expect(try intruder.readCloseCode() == 1009)
        let health = try RawSocket(port: peer.port).request("GET", "/health")
        #expect(health.status == 200, "the peer still serves")
    }

    /// Defect 8: the peer's announced capacity was not enforced. The sidecar now runs no more sequences than
    /// its shards can hold, and the peer refuses any beyond it.
    @Test func aPeersCapacityLimitsTheRunningSequences() async throws {
        let peer = try SidecarEndToEndTests.peer(layers: "0:6", extra: ["--capacity", "2"])
        defer { peer.stop() }
        let (sidecar, client) = try SidecarEndToEndTests.sidecar(peers: [peer])
        defer { sidecar.stop() }
        try client.waitUntilReady()
        let completed = try await Self.streamAll(client, count: 8, prompt: { "The LORD is \($0)" }, tokens: 20)
        #expect(completed == 8)
        #expect(try Self.metric(client, "shard_step_failures_total") == 0, "the peer never had to refuse")
        // A link that asks for three sequences at once is refused (the frame is not run) and closed with 4400.
        let link = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(peer.port)/peer")
        var messages = link.messages.makeAsyncIterator()
        _ = try await messages.next()  // hello
        try link.send(.text(#"{"type": "auth", "nonce": "n", "mac": ""}"#))
        _ = try await messages.next()  // ready
        let frame = PeerFrame(kind: .forward, dtype: .tokens, step: 1,
                              slices: (1 ... 3).map { PeerFrame.Slice(sequence: $0, startPosition: 0, count: 1) },
                              tokens: [1, 2, 3])
        try link.send(.binary(frame.encoded()))
        do {
            while try await messages.next() != nil { Issue.record("the peer answered a frame past its capacity") }
        } catch let error as NetworkError {
            #expect(error.kind == .closed(code: 4400, reason: "the peer holds its capacity of 2 sequences"))
        }
    }

    /// A routed frame a peer cannot run (here: it continues a sequence the peer does not hold, as a late frame of a
    /// released sequence would) is answered with `failed` on the sidecar's link, and takes no place in the peer's
    /// capacity: a capacity-1 peer still runs the next sequence.
    @Test func aRefusedRoutedFrameFailsItsStepAndHoldsNoCapacity() async throws {
        let peer = try SidecarEndToEndTests.peer(layers: "0:6", extra: ["--capacity", "1"])
        defer { peer.stop() }
        let link = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(peer.port)/peer")
        defer { link.close() }
        var messages = link.messages.makeAsyncIterator()
        _ = try await messages.next()  // hello
        try link.send(.text(#"{"type": "auth", "nonce": "n", "mac": ""}"#))
        _ = try await messages.next()  // ready
        let sampling = [SliceSampling(sampling: Sampling(seed: 1, minTokens: 0), generatedCount: 0)]
        let route = PeerFrame.Route(link: 0, hops: [])
        for (step, sequence) in [(1, 7), (2, 8), (3, 9)] as [(UInt64, UInt64)] {
            let late = PeerFrame(kind: .forward, dtype: .tokens, step: step,
                                 slices: [PeerFrame.Slice(sequence: sequence, startPosition: 5, count: 1)],
                                 sampling: sampling, tokens: [1], route: route)
            try link.send(.binary(late.encoded()))
            guard case let .binary(bytes)? = try await messages.next() else { Issue.record("no answer"); return }
            let answer = try PeerFrame.decode(bytes)
            #expect(answer.kind == .failed)
            #expect(answer.step == step)
        }
        let fresh = PeerFrame(kind: .forward, dtype: .tokens, step: 4,
                              slices: [PeerFrame.Slice(sequence: 10, startPosition: 0, count: 2)],
                              sampling: sampling, tokens: [1, 2], route: route)
        try link.send(.binary(fresh.encoded()))
        guard case let .binary(bytes)? = try await messages.next() else { Issue.record("no answer"); return }
        let answer = try PeerFrame.decode(bytes)
        #expect(answer.kind == .sampled, "the refused frames left no sequence behind")
        #expect(answer.step == 4)
    }

    /// Defect 10: two sidecars sharing peers used the same sequence ids and corrupted each other's caches. Each
    /// link now has its own sequence namespace on the peer.
    @Test func twoSidecarsSharingPeersGetTheirOwnTokens() async throws {
        let expected = try completeReference(prompt: SidecarEndToEndTests.prompt, maxNewTokens: 16)
        let front = try SidecarEndToEndTests.peer(layers: "0:3"), back = try SidecarEndToEndTests.peer(layers: "3:6")
        defer { front.stop(); back.stop() }
        let (first, firstClient) = try SidecarEndToEndTests.sidecar(peers: [front, back])
        let (second, secondClient) = try SidecarEndToEndTests.sidecar(peers: [front, back])
        defer { first.stop(); second.stop() }
        try firstClient.waitUntilReady()
        try secondClient.waitUntilReady()
        let body = requestBody(SidecarEndToEndTests.prompt, maxNewTokens: 16)
        try await withThrowingTaskGroup(of: String.self) { group in
            for round in 0 ..< 6 {
                let client = round % 2 == 0 ? firstClient : secondClient
                group.addTask { try await client.generateByWebSocket(body).text }
            }
            for try await text in group { #expect(text == expected) }
        }
        #expect(try Self.metric(firstClient, "shard_step_failures_total") == 0)
        #expect(try Self.metric(secondClient, "shard_step_failures_total") == 0)
    }

    /// Defect 9: `/peers` showed `connecting` for a peer with the wrong secret, another model or nobody listening.
    @Test func peersThatCannotServeShowDownWithTheReason() async throws {
        let locked = try SidecarEndToEndTests.peer(layers: "0:6", extra: ["--secret", "other"])
        let otherModel = try SidecarProcess(["peer", "--model", "Fixtures/kjv-tiny/model-f32.gguf", "--layers", "0:6",
                                             "--port", "0"])
        let nobody = try ReservedPort()
        defer { locked.stop(); otherModel.stop() }
        let (sidecar, client) = try SidecarEndToEndTests.sidecar(
            ["--model", Self.model, "--peer-secret", "mine",
             "--peer", "ws://127.0.0.1:\(locked.port)/peer", "--peer", "ws://127.0.0.1:\(otherModel.port)/peer",
             "--peer", "ws://127.0.0.1:\(nobody.port)/peer"])
        defer { sidecar.stop() }
        let reasons = { () -> [String] in
            guard case let .array(list)? = try? client.json("GET", "/peers").1["peers"] else { return [] }
            return list.filter { $0["name"]?.stringValue?.hasPrefix("ws://") == true }
                .map { "\($0["state"]?.stringValue ?? "?"): \($0["detail"]?.stringValue ?? "")" }
        }
        #expect(waitUntil(timeout: 30) { reasons().count == 3 && reasons().allSatisfy { $0.hasPrefix("down: ") } },
                "\(reasons())")
        let text = reasons().joined(separator: "\n")
        #expect(text.contains("authentication"), "\(text)")
        #expect(text.contains("serves model"), "\(text)")
        #expect(try client.request("GET", "/ready").status == 200, "the local shards still serve")
    }

    /// Defect 9: a stopped (SIGSTOP) replica stayed `ready` for the whole 30 s step timeout and stalled the
    /// sequences of its healthy twin. Replicas now run at the same time, a stall is noticed after a few seconds
    /// (ten times the link's measured time per row, at least 3 s, whatever `--peer-step-timeout`), and only the
    /// stalled replica's sequences are replayed, on the twin, with the same tokens.
    @Test func aStoppedReplicaIsTakenOutWithoutStallingItsTwin() async throws {
        let first = try SidecarEndToEndTests.peer(layers: "0:6"), second = try SidecarEndToEndTests.peer(layers: "0:6")
        defer { first.resume(); first.stop(); second.stop() }
        let (sidecar, client) = try SidecarEndToEndTests.sidecar(peers: [first, second], ["--peer-step-timeout", "600"])
        defer { sidecar.stop() }
        try client.waitUntilReady()
        let body = requestBody(SidecarEndToEndTests.prompt, maxNewTokens: 60, extra: ["min_tokens": .int(60)])
        // Both replicas serve (and are timed) first.
        let expected = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0 ..< 4 { group.addTask { try await client.generateByWebSocket(body).text } }
            var texts: Set<String> = []
            for try await text in group { texts.insert(text) }
            return texts
        }
        #expect(expected.count == 1)
        first.pause()
        let texts = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0 ..< 6 { group.addTask { try await client.generateByWebSocket(body).text } }
            var texts: [String] = []
            for try await text in group { texts.append(text) }
            return texts
        }
        #expect(texts.count == 6 && Set(texts) == expected, "the twin finished every stream with the same tokens")
        guard case let .array(list)? = try client.json("GET", "/peers").1["peers"] else { Issue.record("no peers"); return }
        let states = list.compactMap { $0["state"]?.stringValue }
        #expect(states.filter { $0 == "ready" }.count == 1, "the stopped replica is out of rotation: \(states)")
    }
}
