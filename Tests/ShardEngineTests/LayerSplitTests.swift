import Testing
@testable import ShardEngine
import ShardTestSupport
import ShardTokenizers

/// The split of a model's layers over stages (`peer --part`, `serve --local-shards`, `complete --shards`): ranges
/// that tile the layers and make the slowest stage as fast as any split can, with the output matrix counted on the
/// last stage.
@Suite("Layer split by cost")
struct LayerSplitTests {
    /// Every contiguous split of `costs` into `stages` non-empty ranges, by brute force: the smallest largest cost.
    static func bestPossible(_ costs: LayerSplit.Costs, stages: Int) -> Int {
        func search(from start: Int, stagesLeft: Int) -> Int {
            let n = costs.layers.count
            if stagesLeft == 1 { return costs.cost(of: start ..< n) }
            var best = Int.max
            for end in (start + 1) ... (n - stagesLeft + 1) {
                best = min(best, max(costs.cost(of: start ..< end), search(from: end, stagesLeft: stagesLeft - 1)))
            }
            return best
        }
        return search(from: 0, stagesLeft: stages)
    }

    static func tiles(_ ranges: [Range<Int>], _ count: Int) -> Bool {
        ranges.first?.lowerBound == 0 && ranges.last?.upperBound == count && !ranges.contains(where: \.isEmpty)
            && zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }
    }

    @Test func equalLayersWithoutAHeadSplitEvenly() {
        let costs = LayerSplit.Costs(layers: Array(repeating: 10, count: 9), head: 0)
        #expect(LayerSplit.balanced(costs, stageCount: 3) == [0 ..< 3, 3 ..< 6, 6 ..< 9])
        #expect(LayerSplit.balanced(costs, stageCount: 1) == [0 ..< 9])
    }

    /// SmolLM2's shape: an output matrix as heavy as eight of thirty layers moves four layers to the first stage.
    @Test func theHeadMovesLayersToEarlierStages() {
        let costs = LayerSplit.Costs(layers: Array(repeating: 1, count: 30), head: 8)
        #expect(LayerSplit.balanced(costs, stageCount: 2) == [0 ..< 19, 19 ..< 30])
        // The synthetic benchmark model's shape: nine layers and a light head give the first stage five.
        let light = LayerSplit.Costs(layers: Array(repeating: 12, count: 9), head: 8)
        #expect(LayerSplit.balanced(light, stageCount: 2) == [0 ..< 5, 5 ..< 9])
    }

    @Test func moreStagesThanLayersGiveOneLayerEach() {
        let costs = LayerSplit.Costs(layers: [3, 1, 2], head: 1)
        #expect(LayerSplit.balanced(costs, stageCount: 7) == [0 ..< 1, 1 ..< 2, 2 ..< 3])
        #expect(LayerSplit.balanced(costs, stageCount: 0) == [0 ..< 3])
        #expect(LayerSplit.balanced(LayerSplit.Costs(layers: [], head: 5), stageCount: 2) == [])
    }

    /// On random uneven costs the split is as good as the best of all splits, found by brute force.
    @Test func matchesTheBestSplitOnRandomCosts() {
        var generator = SeededRandom(seed: 7)
        for _ in 0 ..< 300 {
            let count = Int(generator.next() % 9) + 1
            let costs = LayerSplit.Costs(layers: (0 ..< count).map { _ in Int(generator.next() % 50) },
                                         head: Int(generator.next() % 80))
            let stages = Int(generator.next() % UInt64(count)) + 1
            let ranges = LayerSplit.balanced(costs, stageCount: stages)
            #expect(ranges.count == stages)
            #expect(Self.tiles(ranges, count), "\(ranges)")
            #expect(ranges.map(costs.cost(of:)).max() == Self.bestPossible(costs, stages: stages), "\(costs)")
        }
    }

    /// The costs read from a file: each layer's `blk.N.*` bytes, and the head with the tied embedding (SmolLM2
    /// has no `output.weight`).
    @Test func costsOfARealModel() throws {
        let file = try GGUFFile(path: try RealModels.path("SmolLM2-135M-Instruct.Q8_0.gguf"))
        let costs = LayerSplit.Costs(model: file, blockCount: 30)
        let layerBytes = file.tensors.filter { $0.name.hasPrefix("blk.") }.map(\.byteCount).reduce(0, +)
        #expect(costs.layers.reduce(0, +) == layerBytes)
        #expect(Set(costs.layers).count == 1)
        #expect(file.tensorsByName["output.weight"] == nil)
        let embedding = try #require(file.tensorsByName["token_embd.weight"]).byteCount
        let norm = try #require(file.tensorsByName["output_norm.weight"]).byteCount
        #expect(costs.head == embedding + norm)
        let ranges = try LayerSplit.balanced(model: file, stageCount: 2)
        #expect(ranges == [0 ..< 19, 19 ..< 30])
    }

    /// Output is the same whatever the split: a pipeline over the balanced ranges gives the one-stage logits.
    @Test func aBalancedPipelineComputesWhatOneStageDoes() throws {
        let file = try GGUFFile(path: EngineTestSupport.fixture("model-f32.gguf"))
        let ranges = try LayerSplit.balanced(model: file, stageCount: 3)
        #expect(ranges.count == 3)
        let split = try LocalPipeline(model: file, ranges: ranges)
        let whole = try LocalPipeline(model: file, ranges: [0 ..< ranges.last!.upperBound])
        let slices = [SequenceSlice(sequence: SequenceID(1), startPosition: 0, count: 4)]
        let tokens: [TokenID] = [1, 20, 30, 40]
        #expect(try split.forward(slices: slices, tokens: tokens).values == whole.forward(slices: slices, tokens: tokens).values)
    }
}
