import Foundation
import ShardEngine
import ShardNetworking
import ShardProtocol
import ShardTokenizers
import ShardSync

/// One step of some sequences in flight through the pipeline's ranges, driven by the shards' completions: when
/// every replica of a range has answered, the next range starts, on the thread of the last answer (a peer's
/// service thread, or the caller's for in-process shards). No thread waits for a step.
///
/// When every stage is a peer, the step is routed instead: the sequences are grouped by the peers that hold them
/// (their path), and each group goes to its first peer as one frame listing the later ones; each peer passes its
/// hidden states straight to the next, and the last answers the sidecar with the sampled ids. The sidecar sends ids
/// in and gets ids out; every peer of the path watches the step, so a link that fails fails it.
final class PipelineStep: @unchecked Sendable {
    private let pipeline: ShardPipeline
    private let groups: [[any ShardRunner]]
    private let work: [SequenceWork]
    private let completion: @Sendable (ShardPipeline.StepOutcome) -> Void
    /// One replica's part of a range: the items it computes and their work.
    private typealias Share = (replica: Int, members: [Int], work: ShardWork)
    /// Guards everything below.
    private let lock = Lock()
    private var rangeIndex = 0
    private var alive: [Bool]
    private var failures: [PipelineFailure] = []
    private var sampled: [TokenID?]
    /// The rows that came out of the previous range: per replica that answered, its items and their states.
    private var hidden: [(members: [Int], states: HiddenStates)] = []
    private var precision = HiddenPrecision.f32
    /// This range's shares still out, and the results of those back.
    private var outstanding = 0
    private var results: [(replica: Int, members: [Int], work: ShardWork, result: Result<ShardResult, ShardError>)] = []

    init(pipeline: ShardPipeline, groups: [[any ShardRunner]], work: [SequenceWork],
         completion: @escaping @Sendable (ShardPipeline.StepOutcome) -> Void) {
        self.pipeline = pipeline
        self.groups = groups
        self.work = work
        self.completion = completion
        alive = [Bool](repeating: true, count: work.count)
        sampled = [TokenID?](repeating: nil, count: work.count)
    }

    func start() {
        if let peers = pipeline.routableGroups(groups) { startRouted(peers) } else { startRange() }
    }

    /// Sends one routed frame per path; each completes with the last peer's answer or the first failure.
    private func startRouted(_ peers: [[RemotePeerRunner]]) {
        let paths = lock.withLock { () -> [(path: [Int], members: [Int])] in
            var chosen: [[Int]] = []
            for group in groups {
                var failed: [PipelineFailure] = []
                chosen.append(pipeline.assign(work, group: group, alive: &alive, failures: &failed))
                failures += failed
            }
            var byPath: [[Int]: [Int]] = [:]
            var order: [[Int]] = []
            for item in work.indices where alive[item] {
                let path = chosen.map { $0[item] }
                if byPath[path] == nil { order.append(path) }
                byPath[path, default: []].append(item)
            }
            outstanding = order.count
            return order.map { ($0, byPath[$0]!) }
        }
        guard !paths.isEmpty else {
            finish()
            return
        }
        for (path, members) in paths {
            let runners = path.enumerated().map { peers[$0.offset][$0.element] }
            let slices = members.map {
                SequenceSlice(sequence: SequenceID(work[$0].sequence), startPosition: work[$0].startPosition,
                              count: work[$0].tokens.count)
            }
            let share = ShardWork(batch: StageBatch(slices: slices, input: .tokens(members.flatMap { work[$0].tokens })),
                                  sampling: members.map { work[$0].sampling })
            let hops = runners.dropFirst().compactMap(\.routeHop)
            var routed = PeerFrame(forward: share, step: PeerStepIDs.next())
            routed.route = PeerFrame.Route(link: 0, hops: hops)
            let frame = routed
            let once = Locked(false)
            let complete: ShardCompletion = { [self] result in
                guard once.withLock({ done in defer { done = true }; return !done }) else { return }
                for runner in runners { runner.forget(frame.step) }
                if case let .failure(error) = result, error.cause != .linkLost {
                    // Its frames may still be on their way somewhere on the path: reset every link of the path.
                    if error.cause == .routedTimeout {
                        for runner in runners { runner.resetLink(because: "a routed step timed out") }
                    }
                    pipeline.pauseRouting()
                }
                receivedRouted(result, members: members, work: share, last: runners.last!)
            }
            let registered = hops.count == runners.count - 1 && runners.indices.allSatisfy {
                runners[$0].expect(frame, answers: $0 == runners.count - 1, completion: complete)
            }
            if !registered || !runners[0].sendRouted(frame) {
                complete(.failure(ShardError(shard: runners[0].status.name, message: "a peer of the path is not connected",
                                             cause: .linkLost)))
            }
        }
    }

    /// A routed path answered (or failed).
    private func receivedRouted(_ result: Result<ShardResult, ShardError>, members: [Int], work share: ShardWork,
                                last: RemotePeerRunner) {
        let complete = lock.withLock { () -> Bool in
            do throws(PipelineFailure) {
                let value: ShardResult
                do throws(ShardError) { value = try result.get() } catch { throw PipelineFailure(error: error) }
                try pipeline.check(value, against: share, from: last)
                if case let .sampled(tokens) = value {
                    for (offset, index) in members.enumerated() { sampled[index] = tokens[offset] }
                }
            } catch {
                failures.append(error)
                for index in members { alive[index] = false }
            }
            outstanding -= 1
            return outstanding == 0
        }
        if complete { finish() }
    }

    /// Sends this range's shares to its replicas, or finishes when no range (or no live item) is left.
    private func startRange() {
        let next = lock.withLock { () -> (group: [any ShardRunner], shares: [Share])? in
            guard rangeIndex < groups.count, alive.contains(true) else { return nil }
            let group = groups[rangeIndex]
            let shares = makeShares(group)
            outstanding = shares.count
            results = []
            return shares.isEmpty ? nil : (group, shares)
        }
        guard let (group, shares) = next else {
            finish()
            return
        }
        for share in shares {
            pipeline.submit(share.work, to: group[share.replica]) { [self] result in
                received(result, for: share)
            }
        }
    }

    /// Per replica with live items: those items and their work (with the lock held).
    private func makeShares(_ group: [any ShardRunner]) -> [Share] {
        let isFirst = rangeIndex == 0, isLast = rangeIndex == groups.count - 1
        var failed: [PipelineFailure] = []
        let chosen = pipeline.assign(work, group: group, alive: &alive, failures: &failed)
        failures += failed
        return group.indices.compactMap { replica in
            let members = work.indices.filter { alive[$0] && chosen[$0] == replica }
            if members.isEmpty { return nil }
            let slices = members.map {
                SequenceSlice(sequence: SequenceID(work[$0].sequence), startPosition: work[$0].startPosition,
                              count: work[$0].tokens.count)
            }
            let input: StageInput = isFirst ? .tokens(members.flatMap { work[$0].tokens }) : .hidden(rows(of: members))
            return (replica, members, ShardWork(batch: StageBatch(slices: slices, input: input),
                                                sampling: isLast ? members.map { work[$0].sampling } : nil,
                                                precision: precision))
        }
    }

    /// The previous range's rows of `members`, in their order: passed on as they are when one replica computed
    /// exactly these items (the common case), gathered otherwise.
    private func rows(of members: [Int]) -> HiddenStates {
        if hidden.count == 1, hidden[0].members == members { return hidden[0].states }
        var values: [Float] = []
        var width = 0
        var rowCount = 0
        for item in members {
            for part in hidden {
                guard let position = part.members.firstIndex(of: item) else { continue }
                width = part.states.width
                let before = part.members[..<position].reduce(0) { $0 + work[$1].tokens.count }
                let count = work[item].tokens.count
                values += part.states.values[(before * width) ..< ((before + count) * width)]
                rowCount += count
                break
            }
        }
        return HiddenStates(rows: rowCount, width: width, values: values)
    }

    /// One replica answered; the last answer of a range moves the step on.
    private func received(_ result: Result<ShardResult, ShardError>,
                          for share: Share) {
        let complete = lock.withLock { () -> Bool in
            results.append((share.replica, share.members, share.work, result))
            outstanding -= 1
            guard outstanding == 0 else { return false }
            collect()
            return true
        }
        if complete { startRange() }
    }

    /// Takes in a whole range's answers (with the lock held).
    private func collect() {
        let group = groups[rangeIndex]
        var next: [(members: [Int], states: HiddenStates)] = []
        for answer in results.sorted(by: { $0.replica < $1.replica }) {
            let value: ShardResult
            do throws(PipelineFailure) {
                do throws(ShardError) { value = try answer.result.get() } catch { throw PipelineFailure(error: error) }
                try pipeline.check(value, against: answer.work, from: group[answer.replica])
            } catch {
                failures.append(error)
                for index in answer.members { alive[index] = false }
                continue
            }
            switch value {
            case let .sampled(tokens):
                for (offset, index) in answer.members.enumerated() { sampled[index] = tokens[offset] }
            case let .hidden(states, resultPrecision):
                precision = resultPrecision
                next.append((answer.members, states))
            }
        }
        hidden = next
        results = []
        rangeIndex += 1
    }

    private func finish() {
        let outcome = lock.withLock { ShardPipeline.StepOutcome(sampled: sampled, failures: failures) }
        completion(outcome)
    }
}
