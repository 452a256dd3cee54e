import Foundation
import Testing
@testable import ShardEngine

/// `Parallel.forEachBalancedChunk` hands out every item exactly once, in contiguous chunks (4 per worker) whose
/// costs are as even as whole items allow; `Parallel.forEachChunk` covers its range once in aligned chunks.
@Suite("Balanced parallel chunks")
struct ParallelTests {
    private func chunks(costs: [Int], work: Int) -> [Range<Int>] {
        let lock = NSLock()
        var seen: [Range<Int>] = []
        Parallel.forEachBalancedChunk(costs: costs, work: work) { chunk in
            lock.lock()
            seen.append(chunk)
            lock.unlock()
        }
        return seen.filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
    }

    @Test(arguments: [[Int](1 ... 128), [Int](repeating: 3, count: 37), [5, 1, 1, 1, 1, 1, 1, 1], [7], [40, 1]])
    func chunksCoverEveryItemOnceWithEvenCosts(costs: [Int]) {
        let found = chunks(costs: costs, work: 1 << 30)
        #expect(found.first?.lowerBound == 0 && found.last?.upperBound == costs.count)
        for (a, b) in zip(found, found.dropFirst()) { #expect(a.upperBound == b.lowerBound, "\(found)") }
        let pieces = min(4 * Parallel.workerCount, costs.count)
        #expect(found.count <= pieces)
        // Each chunk's cost exceeds an even share by less than one item.
        let total = costs.reduce(0, +), largest = costs.max() ?? 0
        for chunk in found {
            let cost = costs[chunk].reduce(0, +)
            #expect(cost * pieces < total + largest * pieces, "\(chunk) of \(costs.count): cost \(cost) of \(total)")
        }
    }

    @Test func smallWorkRunsAsOneChunk() {
        #expect(chunks(costs: [Int](1 ... 10), work: 10) == [0 ..< 10])
    }

    /// Every index once, chunk bounds on the alignment, whether the job is shared (the helper thread claiming
    /// chunks) or runs inline, over many jobs in a row (each job's chunks are its own).
    @Test func chunksCoverTheRangeOnceOnTheAlignment() {
        for count in [1, 7, 8, 9, 64, 100, 2048, 262_144] {
            for _ in 0 ..< 20 {
                let lock = NSLock()
                var seen: [Range<Int>] = []
                Parallel.forEachChunk(count: count, work: 1 << 30) { chunk in
                    lock.lock()
                    seen.append(chunk)
                    lock.unlock()
                }
                let sorted = seen.sorted { $0.lowerBound < $1.lowerBound }
                #expect(sorted.first?.lowerBound == 0 && sorted.last?.upperBound == count, "\(count): \(sorted)")
                for (a, b) in zip(sorted, sorted.dropFirst()) {
                    #expect(a.upperBound == b.lowerBound && a.upperBound % 8 == 0, "\(count): \(sorted)")
                }
            }
        }
    }
}
