import Foundation
import Testing
@testable import ShardEngine

/// `Parallel.forEachBalancedChunk` hands out every item exactly once, in contiguous chunks (one per worker) whose
/// costs are as even as whole items allow.
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
        let pieces = min(Parallel.workerCount, costs.count)
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
}
