import Foundation
import ShardProtocol
import ShardTokenizers

/// Continuous batching on a dedicated thread: every step sends one batched frame through the shard pipeline with
/// every running sequence (a prefill for those that just joined, one token for the others), then hands each
/// sampled token to the registry. New requests join between steps; finished and cancelled ones leave and free
/// their KV caches on every shard.
///
/// When a shard fails mid-step, no token of that step has been emitted: every sequence of the step is released
/// everywhere and replayed from its known tokens (prompt and generated) as a prefill on the shards still up.
/// Sampling depends only on the seed and the token index, so the client sees no lost, repeated or changed token.
final class Scheduler: @unchecked Sendable {
    struct Configuration: Sendable {
        /// Most sequences in one step.
        var maxBatchSequences = 64
        /// How long requests wait for a missing layer range to come back before they fail.
        var shardOutageTimeout: TimeInterval = 30
        /// Most prompt tokens one step carries (chunked prefill). Decoding sequences always take their one token;
        /// prompts (and replays) share what is left, oldest first, in chunks, so a long prompt neither stalls the
        /// running streams nor makes a frame larger than a peer accepts.
        var maxStepTokens = 512
        /// Steps that fail in a row (each replayed) before the requests in them fail with `shards_failing`: a
        /// step that cannot succeed must not be replayed forever.
        var maxConsecutiveFailures = 4
    }

    /// A running sequence: what to feed next, and where.
    private struct Active {
        var admission: RequestRegistry.Admission
        var position = 0
        var pending: [TokenID]
        var generated: [TokenID] = []
    }

    private let registry: RequestRegistry
    private let pipeline: ShardPipeline
    private let configuration: Configuration
    private let contextLength: Int
    let metrics: SchedulerMetrics
    /// Guards `wakeups` and `stopping`; the thread waits on it.
    private let condition = NSCondition()
    private var wakeups = 0
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// Scheduler-thread state.
    private var active: [Active] = []
    private var outageSince: Date?
    private var consecutiveFailures = 0

    init(registry: RequestRegistry, pipeline: ShardPipeline, configuration: Configuration, contextLength: Int,
         metrics: SchedulerMetrics) {
        self.registry = registry
        self.pipeline = pipeline
        self.configuration = configuration
        self.contextLength = contextLength
        self.metrics = metrics
    }

    func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "shard-scheduler"
        self.thread = thread
        thread.start()
    }

    /// Wakes the loop (new work, a cancellation, a shard back).
    func wake() {
        condition.withLock {
            wakeups += 1
            condition.signal()
        }
    }

    /// Ends every running request with a final `cancelled` event, frees the shards and stops the thread.
    func stop() {
        condition.withLock {
            stopping = true
            condition.signal()
        }
        if thread != nil { finished.wait() }
    }

    private func run() {
        while true {
            // Admission runs whenever capacity is free and work is queued, not only on a wake-up: when every
            // running sequence finishes in one step, the queue must not wait for an unrelated request.
            let queued = active.count < sequenceLimit() && registry.hasQueued
            let shouldStop = condition.withLock { () -> Bool in
                while !stopping, wakeups == 0, active.isEmpty, !queued { condition.wait() }
                wakeups = 0
                return stopping
            }
            if shouldStop { break }
            step()
        }
        for sequence in active {
            registry.finish(sequence.admission.id, reason: .cancelled, error: nil)
        }
        pipeline.release(active.map(\.admission.sequence))
        active.removeAll()
    }

    private func step() {
        let cancelled = registry.takeCancellations()
        if !cancelled.isEmpty {
            let leaving = active.filter { cancelled.contains($0.admission.id) }
            pipeline.release(leaving.map(\.admission.sequence))
            for sequence in leaving { registry.finish(sequence.admission.id, reason: .cancelled, error: nil) }
            active.removeAll { cancelled.contains($0.admission.id) }
        }
        for admission in registry.admit(limit: max(0, sequenceLimit() - active.count)) {
            active.append(Active(admission: admission, pending: admission.promptIDs))
        }
        guard !active.isEmpty else { return }
        if !pipeline.missingLayers().isEmpty {
            waitForShards()
            return
        }
        outageSince = nil
        let chunks = Self.chunkSizes(pending: active.map(\.pending.count), budget: configuration.maxStepTokens)
        let members = active.indices.filter { chunks[$0] > 0 }
        let work = members.map { index in
            let sequence = active[index]
            let request = sequence.admission.request
            return SequenceWork(
                sequence: sequence.admission.sequence, startPosition: sequence.position,
                tokens: Array(sequence.pending.prefix(chunks[index])),
                sampling: SliceSampling(parameters: request.sampling(seed: sequence.admission.seed),
                                        generatedCount: sequence.generated.count))
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let outcome: ShardPipeline.StepOutcome
        do {
            outcome = try pipeline.step(work)
        } catch {
            metrics.recordFailure()
            replayAll(after: error)
            return
        }
        metrics.recordStep(seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        var finished: Set<Int> = []
        if let failure = outcome.failures.first {
            // Only the sequences on the failed shards are replayed; the others got their token.
            metrics.recordFailure()
            let failed = zip(members, outcome.sampled).filter { $0.1 == nil }.map(\.0)
            guard replay(failed, after: failure) else { return }
        } else {
            consecutiveFailures = 0
        }
        for (index, sampledToken) in zip(members, outcome.sampled) {
            guard let token = sampledToken else { continue }
            var sequence = active[index]
            sequence.position += chunks[index]
            sequence.pending.removeFirst(chunks[index])
            defer { active[index] = sequence }
            // Part of a prompt: the token sampled from its last row is not the next one; the rest comes next step.
            guard sequence.pending.isEmpty else { continue }
            let contextFull = sequence.position >= contextLength
            switch registry.accept(token, for: sequence.admission.id, contextFull: contextFull) {
            case .finished:
                pipeline.release([sequence.admission.sequence])
                finished.insert(index)
            case .proceed:
                sequence.generated.append(token)
                sequence.pending = [token]
            }
        }
        active = active.indices.filter { !finished.contains($0) }.map { active[$0] }
    }

    /// Most sequences running at once: `--max-batch`, and no more than the shards can hold.
    private func sequenceLimit() -> Int {
        min(configuration.maxBatchSequences, pipeline.sequenceCapacity() ?? .max)
    }

    /// How many of its pending tokens each sequence runs this step: every decoding sequence (one pending token)
    /// its one; prompts share what is left of `budget`, in order, so the earliest admitted finish first.
    static func chunkSizes(pending: [Int], budget: Int) -> [Int] {
        var left = max(0, budget - pending.filter { $0 == 1 }.count)
        return pending.map { count in
            if count <= 1 { return count }
            let chunk = min(count, left)
            left -= chunk
            return chunk
        }
    }

    /// The pipeline could not run: free every sequence everywhere and rebuild them from their tokens.
    private func replayAll(after failure: PipelineFailure) {
        _ = replay(Array(active.indices), after: failure)
    }

    /// Shards failed for the sequences at `indices`: free them everywhere and rebuild them from their tokens (in
    /// chunks, in the next steps). After ``Configuration/maxConsecutiveFailures`` failing steps in a row, every
    /// request is failed instead (`shards_failing`) and `false` is returned.
    private func replay(_ indices: [Int], after failure: PipelineFailure) -> Bool {
        consecutiveFailures += 1
        if consecutiveFailures >= configuration.maxConsecutiveFailures {
            Log.error("\(consecutiveFailures) steps failed in a row; failing \(active.count) requests: \(failure)")
            let error = ProtocolError(status: 503, code: "shards_failing",
                                      message: "\(consecutiveFailures) steps failed in a row; last: \(failure)")
            for sequence in active { registry.finish(sequence.admission.id, reason: .error, error: error) }
            pipeline.release(active.map(\.admission.sequence))
            active.removeAll()
            consecutiveFailures = 0
            return false
        }
        Log.warning("step failed, replaying \(indices.count) sequences: \(failure)")
        pipeline.release(indices.map { active[$0].admission.sequence })
        for index in indices {
            active[index].pending = active[index].admission.promptIDs + active[index].generated
            active[index].position = 0
        }
        if !pipeline.missingLayers().isEmpty { waitForShards() }
        return true
    }

    /// Some layers have no ready shard: wait (woken when one comes back), and fail everything past the timeout.
    private func waitForShards() {
        let since = outageSince ?? Date()
        outageSince = since
        let missing = pipeline.missingLayers()
        if Date().timeIntervalSince(since) > configuration.shardOutageTimeout {
            let error = ProtocolError(status: 503, code: "shards_unavailable",
                                      message: "no shard serves layers \(missing.map { "\($0.lowerBound)..<\($0.upperBound)" })")
            for sequence in active { registry.finish(sequence.admission.id, reason: .error, error: error) }
            pipeline.release(active.map(\.admission.sequence))
            active.removeAll()
            outageSince = nil
            return
        }
        condition.withLock {
            if wakeups == 0, !stopping { _ = condition.wait(until: Date().addingTimeInterval(0.5)) }
        }
    }
}
