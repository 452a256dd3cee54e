/// Splits a model's layers into contiguous ranges of nearly equal cost, one per stage.
///
/// A stage's cost is the weight bytes it reads for every token: the `blk.N.*` tensors of its layers and, for the
/// last stage, the output norm and the output matrix (the token embedding when the model ties them). Decoding reads
/// every weight once per step, so these bytes are what a stage's step time follows. Splitting by layer count
/// instead leaves the output matrix on top of the last stage's share: on SmolLM2-135M that matrix weighs as much as
/// eight of its thirty layers, and an even 15/15 split makes the second of two stages half again as slow as the
/// first, which then waits for it.
public enum LayerSplit {
    /// The per-token weight bytes of each layer and of the head (what only the last stage reads).
    public struct Costs: Sendable, Equatable {
        /// Bytes of `blk.N.*` for each layer N.
        public var layers: [Int]
        /// Bytes of the output norm and output matrix.
        public var head: Int

        /// Costs from explicit figures (tests, planning tools).
        public init(layers: [Int], head: Int) {
            self.layers = layers
            self.head = head
        }

        /// The costs of `model`'s `blockCount` layers, from its tensor table.
        public init(model: GGUFFile, blockCount: Int) {
            var layers = [Int](repeating: 0, count: blockCount)
            var head = 0
            for tensor in model.tensors {
                if tensor.name.hasPrefix("blk."),
                   let index = Int(tensor.name.dropFirst(4).prefix { $0 != "." }), layers.indices.contains(index) {
                    layers[index] += tensor.byteCount
                } else if tensor.name.hasPrefix("output") {
                    head += tensor.byteCount
                }
            }
            if model.tensorsByName["output.weight"] == nil, let tied = model.tensorsByName["token_embd.weight"] {
                head += tied.byteCount
            }
            self.layers = layers
            self.head = head
        }

        /// The cost of a stage serving `range` (with the head when it ends at the last layer).
        public func cost(of range: Range<Int>) -> Int {
            layers[range].reduce(0, +) + (range.upperBound == layers.count ? head : 0)
        }
    }

    /// `stageCount` contiguous, non-empty ranges tiling `0 ..< costs.layers.count` whose largest stage cost is as
    /// small as it can be; among equally good splits, the one whose earlier stages hold the most layers. At most
    /// one stage per layer.
    public static func balanced(_ costs: Costs, stageCount: Int) -> [Range<Int>] {
        let layerCount = costs.layers.count
        let stages = max(1, min(stageCount, layerCount))
        guard layerCount > 0 else { return [] }
        var prefix = [0]
        for cost in costs.layers { prefix.append(prefix[prefix.count - 1] + cost) }
        func cost(_ start: Int, _ end: Int) -> Int {
            prefix[end] - prefix[start] + (end == layerCount ? costs.head : 0)
        }
        // best[k][i]: the smallest largest-stage cost of the first i layers in k stages; start[k][i]: where the
        // k-th stage begins in that split.
        var best = [[Int]](repeating: [Int](repeating: .max, count: layerCount + 1), count: stages + 1)
        var start = [[Int]](repeating: [Int](repeating: 0, count: layerCount + 1), count: stages + 1)
        best[0][0] = 0
        for k in 1 ... stages {
            for i in k ... layerCount {
                for j in (k - 1) ..< i where best[k - 1][j] != .max {
                    let candidate = max(best[k - 1][j], cost(j, i))
                    // `<=`: a later start gives the earlier stages more layers (the last one carries the head).
                    if candidate <= best[k][i] {
                        best[k][i] = candidate
                        start[k][i] = j
                    }
                }
            }
        }
        var ranges: [Range<Int>] = []
        var end = layerCount
        for k in stride(from: stages, to: 0, by: -1) {
            let begin = start[k][end]
            ranges.append(begin ..< end)
            end = begin
        }
        return ranges.reversed()
    }

    /// The balanced split of `model`'s layers into `stageCount` stages.
    public static func balanced(model: GGUFFile, stageCount: Int) throws(EngineError) -> [Range<Int>] {
        let blockCount: Int
        do { blockCount = try LlamaHyperparameters(gguf: model).blockCount } catch { throw .invalidModel(error) }
        return balanced(Costs(model: model, blockCount: blockCount), stageCount: stageCount)
    }
}
