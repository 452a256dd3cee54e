import Foundation
import ShardEngine
import ShardNetworking
import ShardProtocol
import ShardTokenizers
import ShardSync

/// One sequence's share of a pipeline step.
struct SequenceWork: Sendable {
    var sequence: UInt64
    var startPosition: Int
    var tokens: [TokenID]
    var sampling: SliceSampling
}

/// A step failed on a shard; every sequence of the step must be rebuilt by replaying its tokens.
struct PipelineFailure: Error, Sendable, CustomStringConvertible {
    var error: ShardError
    var description: String { error.description }
}

/// The shards that together cover every layer: for each layer range, one or more replicas.
///
/// Ranges come from the shards themselves (a peer announces its range when it connects), so the grouping is
/// recomputed at each step. Each sequence sticks to one replica per range, where its KV cache lives; a new sequence
/// goes to the ready replica holding the fewest. A step (``PipelineStep``) runs the ranges in order: token ids into
/// the first, hidden states between, sampled ids out of the last.
final class ShardPipeline: @unchecked Sendable {
    let runners: [any ShardRunner]
    let blockCount: Int
    /// Guards `assignment`.
    private let lock = Lock()
    /// Sequence -> the runner serving it, per range start.
    private var assignment: [UInt64: [Int: ObjectIdentifier]] = [:]

    /// A serial queue per in-process shard, when some shards are peers.
    private let localQueues: [ObjectIdentifier: DispatchQueue]
    /// Whether peers pass hidden states straight to the next stage's peer (see ``PipelineStep``); set before
    /// the first step.
    nonisolated(unsafe) var forwarding = true
    /// Until when (uptime nanoseconds) steps go through this process instead, after a routed step failed, so
    /// that a failing peer is found; guarded by `lock`.
    private var routingPausedUntil: UInt64 = 0

    init(runners: [any ShardRunner], blockCount: Int) {
        self.runners = runners
        self.blockCount = blockCount
        let mixed = runners.contains { $0.isRemote }
        localQueues = mixed ? Dictionary(uniqueKeysWithValues: runners.filter { !$0.isRemote }.enumerated().map {
            (ObjectIdentifier($0.element), DispatchQueue(label: "shard-local-\($0.offset)"))
        }) : [:]
    }

    /// Ready runners grouped by range, in layer order, when they tile `0 ..< blockCount`; `nil` otherwise.
    private func readyGroups() -> [[any ShardRunner]]? {
        var byRange: [Range<Int>: [any ShardRunner]] = [:]
        for runner in runners where runner.status.state == .ready && !runner.layers.isEmpty {
            byRange[runner.layers, default: []].append(runner)
        }
        var groups: [[any ShardRunner]] = []
        var next = 0
        while next < blockCount {
            guard let range = byRange.keys.filter({ $0.lowerBound == next }).max(by: { $0.count < $1.count }) else {
                return nil
            }
            groups.append(byRange[range]!)
            next = range.upperBound
        }
        return groups
    }

    /// Most sequences the ready shards can hold at once: per layer range, the sum of its replicas' capacities;
    /// the smallest over the ranges. `nil` when no shard has a limit (or the pipeline is incomplete).
    func sequenceCapacity() -> Int? {
        guard let groups = readyGroups() else { return nil }
        let limits = groups.compactMap { group -> Int? in
            let capacities = group.map(\.capacity)
            return capacities.contains { $0 == nil } ? nil : capacities.reduce(0) { $0 + $1! }
        }
        return limits.min()
    }

    /// Layer ranges no ready shard serves, merged; empty when the pipeline is complete.
    func missingLayers() -> [Range<Int>] {
        if readyGroups() != nil { return [] }
        var covered = [Bool](repeating: false, count: blockCount)
        for runner in runners where runner.status.state == .ready {
            for layer in runner.layers where layer < blockCount { covered[layer] = true }
        }
        var missing: [Range<Int>] = []
        var start: Int?
        for layer in 0 ... blockCount {
            let isCovered = layer < blockCount ? covered[layer] : true
            if !isCovered, start == nil { start = layer }
            if isCovered, let begin = start {
                missing.append(begin ..< layer)
                start = nil
            }
        }
        return missing.isEmpty ? [0 ..< blockCount] : missing
    }

    /// What a step gave: per work item, its sampled token, or `nil` when a shard of its path failed (the item must
    /// be replayed); and the failures.
    struct StepOutcome: Sendable {
        var sampled: [TokenID?]
        var failures: [PipelineFailure]
    }

    /// Whether every shard computes in this process: then a step runs start to end on the calling thread.
    var isInProcess: Bool { !runners.contains { $0.isRemote } }

    /// Ranges of layers the ready shards split the model into (the depth of the pipeline), or 0 when incomplete.
    func stageCount() -> Int { readyGroups()?.count ?? 0 }

    /// Starts one step through the ranges in order: token ids into the first, hidden states between, sampled ids
    /// out of the last. Within a range, the replicas run their sequences at the same time; a replica that fails
    /// (or stalls) fails only the sequences it holds, which skip the later ranges. `completion` gets the outcome
    /// once, on any thread; with in-process shards only, before `launch` returns. Several steps (of different
    /// sequences) may be in flight at once: each shard computes them in the order they reach it.
    ///
    /// - Throws: ``PipelineFailure`` when some layers have no ready shard (nothing ran).
    func launch(_ work: [SequenceWork], completion: @escaping @Sendable (StepOutcome) -> Void) throws(PipelineFailure) {
        guard let groups = readyGroups() else {
            throw PipelineFailure(error: ShardError(shard: "pipeline", message: "some layers have no ready shard"))
        }
        PipelineStep(pipeline: self, groups: groups, work: work, completion: completion).start()
    }

    /// The peers of each range, when a step may be routed peer to peer: forwarding on and not paused, more than
    /// one range, and every ready shard a peer that forwards.
    func routableGroups(_ groups: [[any ShardRunner]]) -> [[RemotePeerRunner]]? {
        guard forwarding, groups.count > 1,
              lock.withLock({ DispatchTime.now().uptimeNanoseconds >= routingPausedUntil }) else { return nil }
        let peers = groups.map { $0.compactMap { $0 as? RemotePeerRunner } }
        guard zip(peers, groups).allSatisfy({ $0.count == $1.count }),
              peers.allSatisfy({ $0.allSatisfy { $0.routeHop != nil } }) else { return nil }
        return peers
    }

    /// A routed step failed or stalled somewhere on its path: steps go through this process for a while, where
    /// each peer's answer is awaited on its own link, so the one at fault is found (and its sequences move).
    func pauseRouting() {
        lock.withLock { routingPausedUntil = DispatchTime.now().uptimeNanoseconds + 30_000_000_000 }
        Log.warning("a routed step failed; steps pass through the sidecar for 30 s")
    }

    /// Hands `work` to `runner`: a peer sends it at once; an in-process shard computes it on this thread when every
    /// shard is in process, else on its own serial queue (never on a link's service thread).
    func submit(_ work: ShardWork, to runner: any ShardRunner, completion: @escaping ShardCompletion) {
        guard !runner.isRemote, let queue = localQueues[ObjectIdentifier(runner)] else {
            runner.submit(work, completion: completion)
            return
        }
        queue.async { runner.submit(work, completion: completion) }
    }

    /// A result must fit its work: a token per slice from the last range, a row of hidden states per row otherwise.
    func check(_ result: ShardResult, against work: ShardWork, from runner: any ShardRunner) throws(PipelineFailure) {
        let fits = switch result {
        case let .sampled(tokens): work.sampling != nil && tokens.count == work.batch.slices.count
        case let .hidden(states, _): work.sampling == nil && states.width > 0
            && states.values.count == work.batch.rowCount * states.width
        }
        guard fits else {
            throw PipelineFailure(error: ShardError(shard: runner.status.name, message: "returned a result that does not fit its work"))
        }
    }

    /// Chooses the replica of each live work item in one range, keeping existing assignments. An item whose
    /// replica is gone (its cache with it) fails and must be replayed.
    func assign(_ work: [SequenceWork], group: [any ShardRunner], alive: inout [Bool],
                        failures: inout [PipelineFailure]) -> [Int] {
        let start = group[0].layers.lowerBound
        let ids = group.map { ObjectIdentifier($0) }
        return lock.withLock { () -> [Int] in
            var load = [Int](repeating: 0, count: group.count)
            for ranges in assignment.values {
                if let owner = ranges[start], let index = ids.firstIndex(of: owner) { load[index] += 1 }
            }
            var chosen = [Int](repeating: -1, count: work.count)
            for (position, item) in work.enumerated() where alive[position] {
                if let owner = assignment[item.sequence]?[start] {
                    guard let index = ids.firstIndex(of: owner) else {
                        failures.append(PipelineFailure(error: ShardError(
                            shard: "layers \(group[0].layers)", message: "the shard holding sequence \(item.sequence) is down")))
                        alive[position] = false
                        continue
                    }
                    chosen[position] = index
                    continue
                }
                // The least loaded replica with room (a peer refuses sequences past its announced capacity).
                let withRoom = load.indices.filter { index in group[index].capacity.map { load[index] < $0 } ?? true }
                let best = (withRoom.isEmpty ? Array(load.indices) : withRoom).min { load[$0] < load[$1] }!
                assignment[item.sequence, default: [:]][start] = ids[best]
                load[best] += 1
                chosen[position] = best
            }
            return chosen
        }
    }

    /// Frees sequences on every shard and forgets their assignments.
    func release(_ sequences: [UInt64]) {
        guard !sequences.isEmpty else { return }
        lock.withLock { for sequence in sequences { assignment[sequence] = nil } }
        for runner in runners { runner.release(sequences) }
    }
}
