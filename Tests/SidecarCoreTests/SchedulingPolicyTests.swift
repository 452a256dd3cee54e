import ShardEngine
import ShardNetworking
@testable import ShardSidecarCore
import Testing

@Suite("Scheduling policy: chunked prefill, peer sequence namespaces and capacity")
struct SchedulingPolicyTests {
    @Test func decodingSequencesAlwaysRunAndPromptsShareTheRest() {
        // Three decoding sequences (1 pending token each) and prompts of 300, 400 and 50 tokens, budget 512.
        #expect(Scheduler.chunkSizes(pending: [1, 300, 1, 400, 50, 1], budget: 512) == [1, 300, 1, 209, 0, 1])
        // Decoding sequences run even past the budget; prompts then wait.
        #expect(Scheduler.chunkSizes(pending: [1, 1, 1, 100], budget: 2) == [1, 1, 1, 0])
        // A prompt longer than the budget is split over steps; the sum of its chunks is the prompt.
        var left = 1300, steps = 0
        while left > 0 {
            left -= Scheduler.chunkSizes(pending: [left], budget: 512)[0]
            steps += 1
        }
        #expect(steps == 3)
    }

    /// Micro-batches as equal as the sequences allow, within the free slots and the size a full depth gives each.
    @Test func microBatchesAreAsEqualAsTheyCanBe() {
        #expect(Scheduler.microBatchSizes(ready: 16, free: 3, largest: 6) == [6, 5, 5])
        #expect(Scheduler.microBatchSizes(ready: 64, free: 3, largest: 22) == [22, 21, 21])
        // One micro-batch back from the stages while the others are out: it goes again as it was.
        #expect(Scheduler.microBatchSizes(ready: 5, free: 1, largest: 6) == [5])
        // More ready than the free slots hold: the rest waits.
        #expect(Scheduler.microBatchSizes(ready: 15, free: 2, largest: 6) == [6, 6])
        // Fewer sequences than slots: one each, no empty micro-batch.
        #expect(Scheduler.microBatchSizes(ready: 2, free: 3, largest: 1) == [1, 1])
        #expect(Scheduler.microBatchSizes(ready: 0, free: 3, largest: 6) == [])
        #expect(Scheduler.microBatchSizes(ready: 4, free: 0, largest: 6) == [])
        // Every split covers what it takes and stays within the bounds.
        for ready in 0 ... 40 {
            for free in 0 ... 4 {
                for largest in 1 ... 12 {
                    let sizes = Scheduler.microBatchSizes(ready: ready, free: free, largest: largest)
                    #expect(sizes.reduce(0, +) == min(ready, free * largest))
                    #expect(sizes.count <= free && sizes.allSatisfy { $0 >= 1 && $0 <= largest })
                    #expect((sizes.max() ?? 0) - (sizes.min() ?? 0) <= 1)
                }
            }
        }
    }

    @Test func eachLinkHasItsOwnSequenceNumbers() throws {
        var table = PeerSequenceTable(capacity: 3)
        let first = ConnectionID(rawValue: 1), second = ConnectionID(rawValue: 2)
        let a = try table.resolve([1, 2], on: first)
        let b = try table.resolve([1], on: second)
        #expect(Set(a + b).count == 3, "the same wire number on two links is two sequences")
        #expect(try table.resolve([2, 1], on: first) == [a[1], a[0]], "known sequences keep their ids")
        // Past the capacity, nothing is allocated.
        #expect(throws: PeerSequenceTable.Refusal.full(capacity: 3)) { try table.resolve([2, 3], on: second) }
        #expect(table.count == 3)
        // A closed link frees exactly its own.
        #expect(Set(table.close(first)) == Set(a))
        #expect(table.count == 1)
        #expect(try table.resolve([3, 4], on: second).count == 2)
        #expect(table.release([1, 99], on: second) == [b[0]])
        #expect(table.count == 2)
    }
}
