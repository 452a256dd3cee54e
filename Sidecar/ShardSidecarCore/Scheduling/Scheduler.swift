import Foundation
import ShardProtocol
import ShardTokenizers
import ShardSync

/// Continuous batching with pipeline parallelism, on a dedicated thread.
///
/// The running sequences are split into micro-batches, and several are in flight at once: while the stage of
/// layers `k` computes one, the stage after it computes the one before. A micro-batch's next step starts as soon
/// as its sampled tokens are back (a prefill chunk for the sequences that just joined, one token for the others).
/// New requests join between steps; finished and cancelled ones leave and free their KV caches on every shard.
/// With in-process shards only, one micro-batch runs at a time on this thread (the engine already uses every core).
///
/// When a shard fails mid-step, no token of the sequences it held has been emitted: they are released everywhere
/// and replayed from their known tokens (prompt and generated) as a prefill on the shards still up. Sampling
/// depends only on the seed and the token index, so the client sees no lost, repeated or changed token.
final class Scheduler: @unchecked Sendable {
    struct Configuration: Sendable {
        /// Most sequences running at once (over all micro-batches).
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
        /// Micro-batches in flight at once; 0 picks: one when every shard is in process, else one per layer range
        /// plus one (every stage has one to compute while another travels).
        var microBatches = 0
    }

    /// A running sequence: what to feed next, and where.
    private struct Active {
        var admission: RequestRegistry.Admission
        var position = 0
        var pending: [TokenID]
        var generated: [TokenID] = []
        /// Part of a micro-batch on its way through the shards.
        var inFlight = false
        /// Cancelled while in flight: leaves when its step is back.
        var cancelled = false
        var sequence: UInt64 { admission.sequence }
    }

    /// A micro-batch's step, back from the pipeline (or refused by it), waiting for the scheduler thread.
    private struct Landed {
        var sequences: [UInt64]
        var chunks: [Int]
        /// ``failureEpoch`` when it was launched.
        var epoch: Int
        var started: UInt64
        var outcome: Result<ShardPipeline.StepOutcome, PipelineFailure>
    }

    private let registry: RequestRegistry
    private let pipeline: ShardPipeline
    private let configuration: Configuration
    private let contextLength: Int
    let metrics: SchedulerMetrics
    /// Guards `wakeups`, `stopping` and `landed`; the thread waits on it.
    private let condition = ConditionLock()
    private var wakeups = 0
    private var stopping = false
    private var landed: [Landed] = []
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// Scheduler-thread state.
    private var active: [Active] = []
    private var inFlight = 0
    private var outageSince: Date?
    private var consecutiveFailures = 0
    /// Counts failures taken into account: a step launched before the last one (the same outage) is not another.
    private var failureEpoch = 0
    /// Some layers have no shard while steps are still out: nothing launches until one lands (or a wake-up).
    private var awaitingLanding = false

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
            let launchable = !awaitingLanding && (queued || (inFlight < depth() && active.contains { !$0.inFlight }))
            let (shouldStop, arrived) = condition.withLock { () -> (Bool, [Landed]) in
                while !stopping, wakeups == 0, landed.isEmpty, !launchable { condition.wait() }
                wakeups = 0
                defer { landed = [] }
                return (stopping, landed)
            }
            if shouldStop { break }
            awaitingLanding = false
            for step in arrived { take(step) }
            cycle()
        }
        for sequence in active {
            registry.finish(sequence.admission.id, reason: .cancelled, error: nil)
        }
        pipeline.release(active.map(\.sequence))
        active.removeAll()
    }

    /// Micro-batches in flight at once.
    private func depth() -> Int {
        if configuration.microBatches > 0 { return configuration.microBatches }
        // One per stage keeps every stage busy; one more covers the time a micro-batch spends on the links and
        // in the sidecar between two of its steps (measured: +2-18 % at 16 streams on direct links, +18-47 % with
        // 5 ms links; docs/performance.md).
        return pipeline.isInProcess ? 1 : max(1, pipeline.stageCount()) + 1
    }

    /// Cancellations, admissions, then as many micro-batches as may be in flight.
    private func cycle() {
        let cancelled = registry.takeCancellations()
        if !cancelled.isEmpty {
            for index in active.indices where cancelled.contains(active[index].admission.id) {
                active[index].cancelled = true
            }
            removeCancelled()
        }
        for admission in registry.admit(limit: max(0, sequenceLimit() - active.count)) {
            active.append(Active(admission: admission, pending: admission.promptIDs))
        }
        let depth = depth()
        guard active.contains(where: { !$0.inFlight }), inFlight < depth else { return }
        if !pipeline.missingLayers().isEmpty {
            // Steps still out will land (and fail); wait for shards only once they have.
            if inFlight == 0 { waitForShards() } else { awaitingLanding = true }
            return
        }
        outageSince = nil
        var ready = active.indices.filter { !active[$0].inFlight }[...]
        let sizes = Self.microBatchSizes(ready: ready.count, free: depth - inFlight,
                                         largest: (active.count + depth - 1) / depth)
        for size in sizes {
            launch(Array(ready.prefix(size)))
            ready = ready.dropFirst(size)
        }
    }

    /// The sizes of the micro-batches to launch from `ready` sequences with `free` slots in flight, none larger
    /// than `largest` (the running sequences over the depth): as many as are needed, as equal as can be. Equal
    /// micro-batches take equal time on every stage, so none waits behind a bigger one (16 streams in 3: 6, 5, 5
    /// rather than 6, 6, 4). Sequences beyond `free * largest` wait for a slot.
    static func microBatchSizes(ready: Int, free: Int, largest: Int) -> [Int] {
        let largest = max(1, largest)
        let taken = min(ready, max(0, free) * largest)
        guard taken > 0 else { return [] }
        let count = (taken + largest - 1) / largest
        return (0 ..< count).map { taken / count + ($0 < taken % count ? 1 : 0) }
    }

    /// Ends (and frees) the cancelled sequences that are not in flight.
    private func removeCancelled() {
        let leaving = active.filter { $0.cancelled && !$0.inFlight }
        guard !leaving.isEmpty else { return }
        pipeline.release(leaving.map(\.sequence))
        for sequence in leaving { registry.finish(sequence.admission.id, reason: .cancelled, error: nil) }
        active.removeAll { $0.cancelled && !$0.inFlight }
    }

    /// Starts a step of the sequences at `indices` (those with nothing to run this step stay ready).
    private func launch(_ indices: [Int]) {
        let chunks = Self.chunkSizes(pending: indices.map { active[$0].pending.count }, budget: configuration.maxStepTokens)
        let members = indices.indices.filter { chunks[$0] > 0 }
        guard !members.isEmpty else { return }
        let work = members.map { member in
            let sequence = active[indices[member]]
            let request = sequence.admission.request
            return SequenceWork(
                sequence: sequence.sequence, startPosition: sequence.position,
                tokens: Array(sequence.pending.prefix(chunks[member])),
                sampling: SliceSampling(sampling: request.sampling.seeded(sequence.admission.seed),
                                        generatedCount: sequence.generated.count))
        }
        for member in members { active[indices[member]].inFlight = true }
        inFlight += 1
        let (sequences, sizes, epoch) = (work.map(\.sequence), members.map { chunks[$0] }, failureEpoch)
        let started = DispatchTime.now().uptimeNanoseconds
        let landing: @Sendable (Result<ShardPipeline.StepOutcome, PipelineFailure>) -> Void = { [self] outcome in
            land(Landed(sequences: sequences, chunks: sizes, epoch: epoch, started: started, outcome: outcome))
        }
        do throws(PipelineFailure) {
            try pipeline.launch(work) { landing(.success($0)) }
        } catch {
            landing(.failure(error))
        }
    }

    /// Queues a step's outcome for the scheduler thread (called from any thread).
    private func land(_ step: Landed) {
        condition.withLock {
            landed.append(step)
            condition.signal()
        }
    }

    /// Takes in a step's outcome: tokens to the registry, failed sequences replayed, finished ones freed.
    private func take(_ step: Landed) {
        inFlight -= 1
        metrics.recordStep(seconds: Double(DispatchTime.now().uptimeNanoseconds - step.started) / 1e9)
        var position: [UInt64: Int] = [:]
        for (index, sequence) in active.enumerated() { position[sequence.sequence] = index }
        // Sequences that left meanwhile (failed, shut down) are ignored.
        let members = step.sequences.indices.filter { position[step.sequences[$0]] != nil }
        for member in members { active[position[step.sequences[member]]!].inFlight = false }
        let sampled: [TokenID?]
        switch step.outcome {
        case let .failure(failure):
            metrics.recordFailure()
            guard replay(members.map { position[step.sequences[$0]]! }, after: failure, epoch: step.epoch) else { return }
            sampled = []
        case let .success(outcome):
            sampled = outcome.sampled
            if let failure = outcome.failures.first {
                // Only the sequences on the failed shards are replayed; the others got their token.
                metrics.recordFailure()
                let failed = members.filter { outcome.sampled[$0] == nil }.map { position[step.sequences[$0]]! }
                guard replay(failed, after: failure, epoch: step.epoch) else { return }
            } else if step.epoch == failureEpoch {
                consecutiveFailures = 0
            }
        }
        var finished: Set<Int> = []
        for member in members where member < sampled.count {
            guard let token = sampled[member] else { continue }
            let index = position[step.sequences[member]]!
            var sequence = active[index]
            defer { active[index] = sequence }
            guard !sequence.cancelled else { continue }
            let chunk = step.chunks[member]
            sequence.position += chunk
            sequence.pending.removeFirst(chunk)
            // Part of a prompt: the token sampled from its last row is not the next one; the rest comes next step.
            guard sequence.pending.isEmpty else { continue }
            let contextFull = sequence.position >= contextLength
            switch registry.accept(token, for: sequence.admission.id, contextFull: contextFull) {
            case .finished:
                pipeline.release([sequence.sequence])
                finished.insert(index)
            case .proceed:
                sequence.generated.append(token)
                sequence.pending = [token]
            }
        }
        if !finished.isEmpty { active = active.indices.filter { !finished.contains($0) }.map { active[$0] } }
        removeCancelled()
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

    /// Shards failed for the sequences at `indices`: free them everywhere and rebuild them from their tokens (in
    /// chunks, in the next steps). A failure counts once per outage (`epoch`: steps launched before the last
    /// failure was seen fail with it); after ``Configuration/maxConsecutiveFailures`` in a row, every request is
    /// failed instead (`shards_failing`) and `false` is returned.
    private func replay(_ indices: [Int], after failure: PipelineFailure, epoch: Int) -> Bool {
        if epoch == failureEpoch {
            consecutiveFailures += 1
            failureEpoch += 1
        }
        if consecutiveFailures >= configuration.maxConsecutiveFailures {
            Log.error("\(consecutiveFailures) steps failed in a row; failing \(active.count) requests: \(failure)")
            let error = ProtocolError(status: 503, code: "shards_failing",
                                      message: "\(consecutiveFailures) steps failed in a row; last: \(failure)")
            for sequence in active { registry.finish(sequence.admission.id, reason: .error, error: error) }
            pipeline.release(active.map(\.sequence))
            active.removeAll()
            consecutiveFailures = 0
            return false
        }
        Log.warning("step failed, replaying \(indices.count) sequences: \(failure)")
        pipeline.release(indices.map { active[$0].sequence })
        for index in indices {
            active[index].pending = active[index].admission.promptIDs + active[index].generated
            active[index].position = 0
        }
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
            pipeline.release(active.map(\.sequence))
            active.removeAll()
            outageSince = nil
            return
        }
        condition.withLock {
            if wakeups == 0, !stopping { _ = condition.wait(until: Date().addingTimeInterval(0.5)) }
        }
    }
}
