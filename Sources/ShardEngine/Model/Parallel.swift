import CShardKernels
import Dispatch

/// Splits work over the machine's cores. Small jobs run inline: waking a worker costs more than they do.
enum Parallel {
    /// Number of workers: one per active core.
    static let workerCount = max(1, ProcessInfo.activeCores)

    /// Runs `body` over `0 ..< count` in contiguous chunks whose bounds are multiples of `alignment`,
    /// in parallel when `work` (an estimate in multiply-adds) is large enough.
    static func forEachChunk(count: Int, work: Int, alignment: Int = 8,
                             _ body: (Range<Int>) -> Void) {
        let workers = work >= 1 << 16 ? min(workerCount, max(1, count / alignment)) : 1
        if workers <= 1 {
            body(0 ..< count)
            return
        }
        let perWorker = (count / workers + alignment - 1) / alignment * alignment
        // The chunks are disjoint and both calls below return only after every chunk ran, so the body
        // (which writes through raw pointers into disjoint rows) never outlives this call or races with itself.
        withoutActuallyEscaping(body) { body in
            if workers == 2, runOnHelper(body, split: min(count, perWorker), count: count) { return }
            let shared = UncheckedSendableBox(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let start = min(count, worker * perWorker)
                let end = worker == workers - 1 ? count : min(count, start + perWorker)
                if start < end { shared.value(start ..< end) }
            }
        }
    }

    /// Runs `body` over `0 ..< costs.count` in contiguous chunks of about equal total cost, one per worker, in
    /// parallel when `work` (an estimate in multiply-adds) is large enough: for items of unequal cost, such as the
    /// rows of a causal attention, each attending to one more position than the last.
    static func forEachBalancedChunk(costs: [Int], work: Int, _ body: (Range<Int>) -> Void) {
        let count = costs.count, pieces = max(1, min(workerCount, count))
        let total = costs.reduce(0, +)
        var bounds = [0], sum = 0
        for (index, cost) in costs.enumerated() {
            sum += cost
            while bounds.count < pieces, sum * pieces >= total * bounds.count { bounds.append(index + 1) }
        }
        while bounds.count <= pieces { bounds.append(count) }
        bounds[pieces] = count
        forEachChunk(count: pieces, work: work, alignment: 1) { chunk in
            body(bounds[chunk.lowerBound] ..< bounds[chunk.upperBound])
        }
    }

    /// Two-way split on the persistent helper thread of `shard_parallel_split` (no wake-up per call).
    private static func runOnHelper(_ body: @escaping (Range<Int>) -> Void, split: Int, count: Int) -> Bool {
        final class Job {
            let body: (Range<Int>) -> Void
            init(_ body: @escaping (Range<Int>) -> Void) { self.body = body }
        }
        let job = Job(body)
        return withExtendedLifetime(job) {
            shard_parallel_split({ context, begin, end in
                guard begin < end, let context else { return }
                Unmanaged<Job>.fromOpaque(context).takeUnretainedValue().body(Int(begin) ..< Int(end))
            }, Unmanaged.passUnretained(job).toOpaque(), Int64(split), Int64(count)) == 1
        }
    }
}

import Foundation

/// Carries a value into a `@Sendable` closure where the caller guarantees there is no data race.
struct UncheckedSendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

extension ProcessInfo {
    /// Cores this process may use: the active processors, fewer when its CPU affinity (`taskset`) allows fewer
    /// (Foundation's count ignores the affinity, and two workers spinning on one core slow each other down).
    static var activeCores: Int {
        let affinity = Int(shard_available_cores())
        let active = ProcessInfo.processInfo.activeProcessorCount
        return affinity > 0 ? min(active, affinity) : active
    }
}
