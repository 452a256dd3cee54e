import CShardKernels
import Dispatch

/// Splits work over the machine's cores. Small jobs run inline: waking a worker costs more than they do.
enum Parallel {
    /// Number of workers: one per active core.
    static let workerCount = max(1, ProcessInfo.activeCores)

    /// Jobs with less work (in multiply-adds) than this run inline.
    static let parallelMinimumWork = 1 << 16

    /// Runs `body` over `0 ..< count` in contiguous chunks whose bounds are multiples of `alignment`,
    /// in parallel when `work` (an estimate in multiply-adds) is large enough. With two workers the chunks are
    /// quarters of the job, claimed in turn by the calling thread and the helper thread.
    static func forEachChunk(count: Int, work: Int, alignment: Int = 8,
                             _ body: (Range<Int>) -> Void) {
        let workers = work >= parallelMinimumWork ? min(workerCount, max(1, count / alignment)) : 1
        if workers <= 1 {
            body(0 ..< count)
            return
        }
        let perWorker = (count / workers + alignment - 1) / alignment * alignment
        // The chunks are disjoint and both calls below return only after every chunk ran, so the body
        // (which writes through raw pointers into disjoint rows) never outlives this call or races with itself.
        withoutActuallyEscaping(body) { body in
            if workers == 2, runOnHelper(body, count: count, grain: chunkGrain(count: count, alignment: alignment)) {
                return
            }
            let shared = UncheckedSendableBox(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let start = min(count, worker * perWorker)
                let end = worker == workers - 1 ? count : min(count, start + perWorker)
                if start < end { shared.value(start ..< end) }
            }
        }
    }

    /// Runs `body` over `0 ..< costs.count` in contiguous chunks of about equal total cost (4 per worker, claimed in
    /// turn), in parallel when `work` (an estimate in multiply-adds) is large enough: for items of unequal cost, such
    /// as the rows of a causal attention, each attending to one more position than the last.
    static func forEachBalancedChunk(costs: [Int], work: Int, _ body: (Range<Int>) -> Void) {
        let count = costs.count, pieces = max(1, min(4 * workerCount, count))
        guard work >= parallelMinimumWork, workerCount > 1, pieces > 1 else {
            body(0 ..< count)
            return
        }
        let total = costs.reduce(0, +)
        var bounds = [0], sum = 0
        for (index, cost) in costs.enumerated() {
            sum += cost
            while bounds.count < pieces, sum * pieces >= total * bounds.count { bounds.append(index + 1) }
        }
        while bounds.count <= pieces { bounds.append(count) }
        bounds[pieces] = count
        forEachChunk(count: pieces, work: work, alignment: 1) { chunk in
            for piece in chunk { body(bounds[piece] ..< bounds[piece + 1]) }
        }
    }

    /// Chunks of a two-way job: about a quarter of it each (a multiple of `alignment`), so that one worker slowed
    /// down by another process leaves its share to the other one chunk at a time.
    private static func chunkGrain(count: Int, alignment: Int) -> Int {
        max(alignment, (count / 4 + alignment - 1) / alignment * alignment)
    }

    /// Two-way job on the calling thread and the persistent helper thread of `shard_parallel_chunks` (no wake-up
    /// per call), chunks of `grain` claimed in turn.
    private static func runOnHelper(_ body: @escaping (Range<Int>) -> Void, count: Int, grain: Int) -> Bool {
        final class Job {
            let body: (Range<Int>) -> Void
            init(_ body: @escaping (Range<Int>) -> Void) { self.body = body }
        }
        let job = Job(body)
        return withExtendedLifetime(job) {
            shard_parallel_chunks({ context, begin, end in
                guard begin < end, let context else { return }
                Unmanaged<Job>.fromOpaque(context).takeUnretainedValue().body(Int(begin) ..< Int(end))
            }, Unmanaged.passUnretained(job).toOpaque(), Int64(count), Int64(grain)) == 1
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
