import Foundation
import ShardProtocol
@testable import ShardSidecarCore
import ShardTestSupport
import ShardTokenizers
import Testing

/// The scheduler, registry and pipeline in one process, on fake shards that fail, answer wrongly or refuse at a
/// chosen step: every request must still get exactly its text (nothing lost, repeated or changed), and a fault
/// must cost only the sequences it touched.
@Suite("Scheduler with faulty shards, in process")
struct SchedulerFaultTests {
    /// A running scheduler over `shards` (4 layers).
    final class Harness: @unchecked Sendable {
        let registry: RequestRegistry
        let scheduler: Scheduler
        let metrics = SchedulerMetrics()
        private var next = 0

        /// `start` false: the scheduler starts with ``start()``, so that requests submitted before are admitted together.
        init(_ shards: [any ShardRunner], maxStepTokens: Int = 512, maxBatch: Int = 64, microBatches: Int = 0,
             start: Bool = true) {
            var registryConfiguration = RegistryConfiguration()
            registryConfiguration.queueCapacity = 1000
            registry = RequestRegistry(configuration: registryConfiguration)
            var configuration = Scheduler.Configuration()
            configuration.maxStepTokens = maxStepTokens
            configuration.maxBatchSequences = maxBatch
            configuration.microBatches = microBatches
            configuration.shardOutageTimeout = 5
            scheduler = Scheduler(registry: registry, pipeline: ShardPipeline(runners: shards, blockCount: 4),
                                  configuration: configuration, contextLength: 100_000,
                                  metrics: metrics)
            registry.onWork = { [scheduler] in scheduler.wake() }
            if start { scheduler.start() }
        }

        /// Starts a scheduler made with `start: false`.
        func start() { scheduler.start() }

        deinit { scheduler.stop() }

        /// Submits a prompt of `promptLength` tokens asking for `tokens` tokens; returns its id and the socket
        /// that streams it.
        func submit(promptLength: Int, tokens: Int) throws -> (RequestID, FakeSocket) {
            next += 1
            let id = RequestID("r\(next)")!
            var request = GenerationRequest(requestID: id, prompt: "p")
            request.maxNewTokens = tokens
            request.minTokens = tokens
            _ = try registry.submit(id: id, request: request, promptIDs: Array(repeating: 120, count: promptLength),
                                    tokenizer: UTF8ByteTokenizer())
            let socket = FakeSocket()
            _ = registry.subscribe(id, token: UInt64(next), send: socket.send)
            return (id, socket)
        }

        /// The text a request must get: one letter per position after its prompt.
        static func expected(promptLength: Int, tokens: Int) -> String {
            String((0 ..< tokens).map { Character(UnicodeScalar(UInt8(FakeShard.letter(at: promptLength + $0)))) })
        }
    }

    static func text(_ socket: FakeSocket) -> String {
        socket.events.compactMap { if case let .token(text, _, _) = $0 { text } else { nil } }.joined()
    }

    static func finished(_ sockets: [FakeSocket]) -> Bool {
        waitUntil(timeout: 30) { sockets.allSatisfy { $0.events.last?.isFinal == true } }
    }

    @Test func aShardFailingMidStreamLosesNoToken() throws {
        let front = FakeShard("front", layers: 0 ..< 2, isLast: false)
        let back = FakeShard("back", layers: 2 ..< 4, isLast: true)
        back.fail(calls: [3, 7])
        front.answerWrong(calls: [5])
        let harness = Harness([front, back])
        let requests = try (0 ..< 5).map { try harness.submit(promptLength: 3 + $0, tokens: 12) }
        #expect(Self.finished(requests.map(\.1)))
        for (index, (_, socket)) in requests.enumerated() {
            #expect(Self.text(socket) == Harness.expected(promptLength: 3 + index, tokens: 12))
            #expect(socket.events.compactMap { if case let .token(_, _, index) = $0 { index } else { nil } } == Array(0 ..< 12))
        }
        #expect(harness.metrics.snapshot().failures >= 3)
    }

    /// Micro-batches: the running sequences are split into disjoint groups, each stepping on its own, several in
    /// flight on shards that answer from their own threads (as peers do). Faults then hit steps of different
    /// micro-batches; every request must still get exactly its text.
    @Test func severalMicroBatchesInFlightLoseNoTokenWhenShardsFail() throws {
        let front = FakeShard("front", layers: 0 ..< 2, isLast: false)
        let back = FakeShard("back", layers: 2 ..< 4, isLast: true)
        back.fail(calls: [5, 6, 14])
        front.answerWrong(calls: [9])
        let harness = Harness([AsyncShard(front), AsyncShard(back)], microBatches: 3)
        let requests = try (0 ..< 9).map { try harness.submit(promptLength: 2 + $0, tokens: 16) }
        #expect(Self.finished(requests.map(\.1)))
        for (index, (_, socket)) in requests.enumerated() {
            #expect(Self.text(socket) == Harness.expected(promptLength: 2 + index, tokens: 16))
        }
        // Decoding steps carry one micro-batch each: never more than a third of the nine sequences.
        let decodeFrames = front.recordedFrames.filter { $0.values.allSatisfy { $0 == 1 } }
        #expect(!decodeFrames.isEmpty)
        #expect(decodeFrames.allSatisfy { $0.count <= 3 })
        #expect(harness.metrics.snapshot().failures >= 2)
    }

    @Test func aFailingReplicaCostsOnlyItsOwnSequences() throws {
        let healthy = FakeShard("healthy", layers: 0 ..< 4, isLast: true)
        let failing = FakeShard("failing", layers: 0 ..< 4, isLast: true)
        failing.fail(calls: [4])
        // All six are admitted together (three per replica), whatever the machine's speed.
        let harness = Harness([healthy, failing], start: false)
        let requests = try (0 ..< 6).map { _ in try harness.submit(promptLength: 5, tokens: 10) }
        harness.start()
        #expect(Self.finished(requests.map(\.1)))
        for (_, socket) in requests { #expect(Self.text(socket) == Harness.expected(promptLength: 5, tokens: 10)) }
        // The healthy replica prefilled each of its 3 sequences once: nothing of it was replayed. The failed
        // replica's 3 were prefilled again (on the least loaded replica: itself, recovered).
        let prefills = { (shard: FakeShard) in shard.recordedFrames.flatMap { $0.values.filter { $0 > 1 } }.count }
        #expect(prefills(healthy) == 3)
        #expect(prefills(failing) == 6)
    }

    @Test func aStepThatKeepsFailingEndsItsRequestsInsteadOfLooping() throws {
        let broken = FakeShard("broken", layers: 0 ..< 4, isLast: true)
        broken.fail(from: 2)
        let harness = Harness([broken])
        let (id, socket) = try harness.submit(promptLength: 4, tokens: 50)
        #expect(Self.finished([socket]))
        guard case let .done(reason, _, error)? = socket.events.last else { Issue.record("no final event"); return }
        #expect(reason == .error)
        #expect(error?.code == "shards_failing")
        #expect(harness.registry.snapshot(id)?.state == .failed)
        #expect(broken.callCount < 10, "gave up after a few replays")
    }

    @Test func longPromptsArePrefilledInChunksWhileStreamsGoOn() throws {
        let shard = FakeShard("only", layers: 0 ..< 4, isLast: true)
        let harness = Harness([shard], maxStepTokens: 64)
        // A stream that is decoding (and would go on for a long time) when a 300-token prompt arrives.
        let (streamID, streaming) = try harness.submit(promptLength: 2, tokens: 100_000)
        #expect(waitUntil { streaming.events.count >= 2 })
        let (_, long) = try harness.submit(promptLength: 300, tokens: 5)
        #expect(Self.finished([long]))
        harness.registry.cancel(streamID)
        #expect(Self.finished([streaming]))
        #expect(Self.text(long) == Harness.expected(promptLength: 300, tokens: 5))
        let streamed = Self.text(streaming)
        #expect(streamed == String(Harness.expected(promptLength: 2, tokens: 100_000).prefix(streamed.count)))
        let frames = shard.recordedFrames
        #expect(frames.allSatisfy { $0.values.reduce(0, +) <= 64 + 1 }, "no step carries more than the budget")
        let chunked = frames.filter { ($0.values.max() ?? 0) > 1 && $0.count == 2 }
        #expect(chunked.count >= 4, "the stream took a token in every step of the long prompt's prefill")
    }

    @Test func noMoreSequencesRunThanTheShardsHold() throws {
        let first = FakeShard("a", layers: 0 ..< 4, isLast: true, capacity: 2)
        let second = FakeShard("b", layers: 0 ..< 4, isLast: true, capacity: 1)
        let harness = Harness([first, second])
        let requests = try (0 ..< 7).map { _ in try harness.submit(promptLength: 3, tokens: 6) }
        #expect(Self.finished(requests.map(\.1)))
        for (_, socket) in requests { #expect(Self.text(socket) == Harness.expected(promptLength: 3, tokens: 6)) }
        #expect(first.mostCached <= 2 && second.mostCached <= 1)
        #expect(harness.metrics.snapshot().failures == 0)
    }
}
