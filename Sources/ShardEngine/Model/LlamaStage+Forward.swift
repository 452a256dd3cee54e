import CShardKernels

extension LlamaStage {
    /// Scratch buffers reused across steps; grown on demand, never shrunk.
    final class Scratch {
        private var capacityRows = 0
        private(set) var residual = FloatBuffer(count: 0)
        private(set) var normed = FloatBuffer(count: 0)
        private(set) var query = FloatBuffer(count: 0)
        private(set) var key = FloatBuffer(count: 0)
        private(set) var value = FloatBuffer(count: 0)
        private(set) var attention = FloatBuffer(count: 0)
        private(set) var projected = FloatBuffer(count: 0)
        private(set) var gate = FloatBuffer(count: 0)
        private(set) var up = FloatBuffer(count: 0)
        private(set) var quantized = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64)

        func ensure(rows: Int, hyper h: LlamaHyperparameters) {
            guard rows > capacityRows else { return }
            let capacity = max(rows, capacityRows * 2)
            let dim = h.embeddingLength
            residual = FloatBuffer(count: capacity * dim)
            normed = FloatBuffer(count: capacity * dim)
            query = FloatBuffer(count: capacity * dim)
            key = FloatBuffer(count: capacity * h.kvWidth)
            value = FloatBuffer(count: capacity * h.kvWidth)
            attention = FloatBuffer(count: capacity * dim)
            projected = FloatBuffer(count: capacity * dim)
            gate = FloatBuffer(count: capacity * h.feedForwardLength)
            up = FloatBuffer(count: capacity * h.feedForwardLength)
            quantized.deallocate()
            quantized = .allocate(byteCount: WeightMatrix.activationScratchBytes(
                rows: capacity, columns: max(dim, h.feedForwardLength)) + 64, alignment: 64)
            capacityRows = capacity
        }

        deinit { quantized.deallocate() }
    }

    /// The forward pass proper; `batch` has been validated, so nothing here can fail.
    func compute(_ batch: StageBatch, caches: inout [SequenceID: SequenceCache], scratch: Scratch) -> StageOutput {
        let h = hyperparameters
        let rows = batch.rowCount, dim = h.embeddingLength, kvWidth = h.kvWidth
        scratch.ensure(rows: rows, hyper: h)
        let plan = RowPlan(sliceLengths: batch.slices.map(\.count))
        let x = scratch.residual.pointer, xn = scratch.normed.pointer

        switch batch.input {
        case let .tokens(ids):
            for (row, id) in ids.enumerated() { weights.embedding?.copyRow(Int(id), into: x + row * dim) }
        case let .hidden(states):
            states.values.withUnsafeBufferPointer { x.update(from: $0.baseAddress!, count: rows * dim) }
        }

        var rowCaches: [SequenceCache] = []
        var rowPositions: [Int] = []
        for slice in batch.slices {
            let cache = caches[slice.sequence] ?? SequenceCache(layerCount: layers.count, kvWidth: kvWidth)
            cache.reserve(slice.startPosition + slice.count)
            caches[slice.sequence] = cache
            for offset in 0 ..< slice.count {
                rowCaches.append(cache)
                rowPositions.append(slice.startPosition + offset)
            }
        }

        for (layer, block) in weights.blocks.enumerated() {
            attentionBlock(block, layer: layer, rows: rows, plan: plan, scratch: scratch, caches: rowCaches,
                           positions: rowPositions)
            feedForwardBlock(block, rows: rows, plan: plan, scratch: scratch)
        }
        for slice in batch.slices { caches[slice.sequence]?.commit(slice.count) }

        guard isLast, let outputNorm = weights.outputNorm, let output = weights.output else {
            return .hidden(HiddenStates(rows: rows, width: dim, values: Array(UnsafeBufferPointer(start: x,
                                                                                                  count: rows * dim))))
        }
        var lastRow = -1
        for (index, slice) in batch.slices.enumerated() {
            lastRow += slice.count
            shard_rmsnorm(x + lastRow * dim, outputNorm, xn + index * dim, Int64(dim), h.rmsEpsilon)
        }
        let count = batch.slices.count
        var logits = [Float](repeating: 0, count: count * h.vocabularySize)
        logits.withUnsafeMutableBufferPointer { buffer in
            output.multiply(xn, plan: RowPlan(sliceLengths: Array(repeating: 1, count: count)),
                            into: buffer.baseAddress!, quantized: scratch.quantized)
        }
        return .logits(HiddenStates(rows: count, width: h.vocabularySize, values: logits))
    }

    private func attentionBlock(_ block: BlockWeights, layer: Int, rows: Int, plan: RowPlan, scratch: Scratch,
                                caches: [SequenceCache], positions: [Int]) {
        let h = hyperparameters
        let dim = h.embeddingLength, kvWidth = h.kvWidth, headDim = h.headDimension
        let x = scratch.residual.pointer, xn = scratch.normed.pointer
        let q = scratch.query.pointer, k = scratch.key.pointer, v = scratch.value.pointer
        for row in 0 ..< rows {
            shard_rmsnorm(x + row * dim, block.attentionNorm, xn + row * dim, Int64(dim), h.rmsEpsilon)
        }
        block.query.multiply(xn, plan: plan, into: q, quantized: scratch.quantized)
        block.key.multiply(xn, plan: plan, into: k, quantized: scratch.quantized)
        block.value.multiply(xn, plan: plan, into: v, quantized: scratch.quantized)
        for row in 0 ..< rows {
            let position = Int64(positions[row])
            shard_rope_adjacent(q + row * dim, Int64(h.headCount), Int64(headDim), Int64(h.ropeDimensionCount),
                                position, h.ropeFrequencyBase)
            shard_rope_adjacent(k + row * kvWidth, Int64(h.headCountKV), Int64(headDim),
                                Int64(h.ropeDimensionCount), position, h.ropeFrequencyBase)
            let slot = positions[row] * kvWidth
            (caches[row].keys[layer] + slot).update(from: k + row * kvWidth, count: kvWidth)
            (caches[row].values[layer] + slot).update(from: v + row * kvWidth, count: kvWidth)
        }
        let attention = scratch.attention.pointer
        let work = positions.reduce(0) { $0 + ($1 + 1) * dim }
        Parallel.forEachChunk(count: rows, work: work, alignment: 1) { chunk in
            var scores = [Float](repeating: 0, count: h.contextLength)
            scores.withUnsafeMutableBufferPointer { buffer in
                for row in chunk {
                    shard_attention(q + row * dim, caches[row].keys[layer], caches[row].values[layer],
                                    Int64(positions[row] + 1), Int64(h.headCount), Int64(h.headCountKV),
                                    Int64(headDim), buffer.baseAddress!, attention + row * dim)
                }
            }
        }
        block.attentionOutput.multiply(attention, plan: plan, into: scratch.projected.pointer,
                                       quantized: scratch.quantized)
        shard_add(x, scratch.projected.pointer, Int64(rows * dim))
    }

    private func feedForwardBlock(_ block: BlockWeights, rows: Int, plan: RowPlan, scratch: Scratch) {
        let h = hyperparameters
        let dim = h.embeddingLength
        let x = scratch.residual.pointer, xn = scratch.normed.pointer
        for row in 0 ..< rows {
            shard_rmsnorm(x + row * dim, block.feedForwardNorm, xn + row * dim, Int64(dim), h.rmsEpsilon)
        }
        block.gate.multiply(xn, plan: plan, into: scratch.gate.pointer, quantized: scratch.quantized)
        block.up.multiply(xn, plan: plan, into: scratch.up.pointer, quantized: scratch.quantized)
        shard_silu_mul(scratch.gate.pointer, scratch.up.pointer, Int64(rows * h.feedForwardLength))
        block.down.multiply(scratch.gate.pointer, plan: plan, into: scratch.projected.pointer,
                            quantized: scratch.quantized)
        shard_add(x, scratch.projected.pointer, Int64(rows * dim))
    }
}
