import CShardKernels

extension LlamaStage {
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
            if h.embeddingScale != 1 { shard_scale(x, Int64(rows * dim), h.embeddingScale) }
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

        for (index, block) in weights.blocks.enumerated() {
            attentionBlock(block, index: index, rows: rows, plan: plan, scratch: scratch, caches: rowCaches,
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
            if let cap = h.finalLogitSoftcap { shard_softcap(buffer.baseAddress!, Int64(buffer.count), cap) }
        }
        return .logits(HiddenStates(rows: count, width: h.vocabularySize, values: logits))
    }

    /// Norm, Q/K/V projections (with biases and per-head norms where the family has them), RoPE, the KV cache
    /// write, attention (windowed on sliding layers), output projection, optional post-norm, residual add.
    private func attentionBlock(_ block: BlockWeights, index: Int, rows: Int, plan: RowPlan, scratch: Scratch,
                                caches: [SequenceCache], positions: [Int]) {
        let h = hyperparameters
        let layer = layers.lowerBound + index
        let dim = h.embeddingLength, kvWidth = h.kvWidth, headDim = h.headDimension, qWidth = h.queryWidth
        let x = scratch.residual.pointer, xn = scratch.normed.pointer
        let q = scratch.query.pointer, k = scratch.key.pointer, v = scratch.value.pointer
        shard_rmsnorm_rows(x, block.attentionNorm, xn, Int64(rows), Int64(dim), h.rmsEpsilon)
        block.query.multiply(xn, plan: plan, into: q, quantized: scratch.quantized)
        block.key.multiply(xn, plan: plan, into: k, quantized: scratch.quantized)
        block.value.multiply(xn, plan: plan, into: v, quantized: scratch.quantized)
        if let bias = block.queryBias { shard_add_bias(q, bias, Int64(rows), Int64(qWidth)) }
        if let bias = block.keyBias { shard_add_bias(k, bias, Int64(rows), Int64(kvWidth)) }
        if let bias = block.valueBias { shard_add_bias(v, bias, Int64(rows), Int64(kvWidth)) }
        if let norm = block.queryNorm {
            shard_rmsnorm_rows(q, norm, q, Int64(rows * h.headCount), Int64(headDim), h.rmsEpsilon)
        }
        if let norm = block.keyNorm {
            shard_rmsnorm_rows(k, norm, k, Int64(rows * h.headCountKV), Int64(headDim), h.rmsEpsilon)
        }
        let base = h.ropeBase(layer: layer), neox: Int32 = h.architecture.ropeStyle == .neox ? 1 : 0
        // Rows apart: each row writes its own query, key and cache cells.
        let ropeWork = rows * (qWidth + kvWidth) * 16
        Parallel.forEachChunk(count: rows, work: ropeWork, alignment: 1) { chunk in
            for row in chunk {
                shard_rope_qk(q + row * qWidth, Int64(h.headCount), k + row * kvWidth, Int64(h.headCountKV),
                              Int64(headDim), Int64(h.ropeDimensionCount), Int64(positions[row]), base,
                              h.ropeFrequencyScale, weights.ropeFactors, neox)
                let slot = positions[row] * kvWidth
                (caches[row].keys[index] + slot).update(from: k + row * kvWidth, count: kvWidth)
                (caches[row].values[index] + slot).update(from: v + row * kvWidth, count: kvWidth)
            }
        }
        let attention = scratch.attention.pointer
        let window = h.isSlidingLayer(layer) ? h.slidingWindow : nil
        let firsts = positions.map { last in window.map { max(0, last - $0 + 1) } ?? 0 }
        let costs = positions.indices.map { positions[$0] - firsts[$0] + 1 }
        let work = costs.reduce(0, +) * qWidth
        Parallel.forEachBalancedChunk(costs: costs, work: work) { chunk in
            var scores = [Float](repeating: 0, count: (chunk.map { positions[$0] }.max() ?? 0) + 1)
            scores.withUnsafeMutableBufferPointer { buffer in
                for row in chunk {
                    let last = positions[row], first = firsts[row]
                    shard_attention_range(q + row * qWidth, caches[row].keys[index], caches[row].values[index],
                                          Int64(first), Int64(last), Int64(h.headCount), Int64(h.headCountKV),
                                          Int64(headDim), h.attentionScale, buffer.baseAddress!,
                                          attention + row * qWidth)
                }
            }
        }
        let projected = scratch.projected.pointer
        block.attentionOutput.multiply(attention, plan: plan, into: projected, quantized: scratch.quantized)
        if let norm = block.postAttentionNorm {
            shard_rmsnorm_rows(projected, norm, projected, Int64(rows), Int64(dim), h.rmsEpsilon)
        }
        shard_add(x, projected, Int64(rows * dim))
    }

    /// Norm, gated FFN (SiLU or GELU), optional post-norm, residual add.
    private func feedForwardBlock(_ block: BlockWeights, rows: Int, plan: RowPlan, scratch: Scratch) {
        let h = hyperparameters
        let dim = h.embeddingLength, count = Int64(rows * h.feedForwardLength)
        let x = scratch.residual.pointer, xn = scratch.normed.pointer
        shard_rmsnorm_rows(x, block.feedForwardNorm, xn, Int64(rows), Int64(dim), h.rmsEpsilon)
        block.gate.multiply(xn, plan: plan, into: scratch.gate.pointer, quantized: scratch.quantized)
        block.up.multiply(xn, plan: plan, into: scratch.up.pointer, quantized: scratch.quantized)
        switch h.architecture.activation {
        case .silu: shard_silu_mul(scratch.gate.pointer, scratch.up.pointer, count)
        case .gelu: shard_gelu_mul(scratch.gate.pointer, scratch.up.pointer, count)
        }
        let projected = scratch.projected.pointer
        block.down.multiply(scratch.gate.pointer, plan: plan, into: projected, quantized: scratch.quantized)
        if let norm = block.postFeedForwardNorm {
            shard_rmsnorm_rows(projected, norm, projected, Int64(rows), Int64(dim), h.rmsEpsilon)
        }
        shard_add(x, projected, Int64(rows * dim))
    }
}
