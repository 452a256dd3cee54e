/// The weights of one transformer block: read-only views into the mapped file, which the owning stage keeps alive.
struct BlockWeights: @unchecked Sendable {
    let attentionNorm: UnsafePointer<Float>
    let query: WeightMatrix
    let key: WeightMatrix
    let value: WeightMatrix
    let attentionOutput: WeightMatrix
    let feedForwardNorm: UnsafePointer<Float>
    let gate: WeightMatrix
    let up: WeightMatrix
    let down: WeightMatrix

    init(layer: Int, hyper h: LlamaHyperparameters, gguf: GGUFFile) throws(EngineError) {
        let prefix = "blk.\(layer)."
        attentionNorm = try Self.vector(prefix + "attn_norm.weight", count: h.embeddingLength, gguf: gguf)
        query = try WeightMatrix(prefix + "attn_q.weight", rows: h.embeddingLength, columns: h.embeddingLength,
                                 gguf: gguf)
        key = try WeightMatrix(prefix + "attn_k.weight", rows: h.kvWidth, columns: h.embeddingLength, gguf: gguf)
        value = try WeightMatrix(prefix + "attn_v.weight", rows: h.kvWidth, columns: h.embeddingLength, gguf: gguf)
        attentionOutput = try WeightMatrix(prefix + "attn_output.weight", rows: h.embeddingLength,
                                           columns: h.embeddingLength, gguf: gguf)
        feedForwardNorm = try Self.vector(prefix + "ffn_norm.weight", count: h.embeddingLength, gguf: gguf)
        gate = try WeightMatrix(prefix + "ffn_gate.weight", rows: h.feedForwardLength, columns: h.embeddingLength,
                                gguf: gguf)
        up = try WeightMatrix(prefix + "ffn_up.weight", rows: h.feedForwardLength, columns: h.embeddingLength,
                              gguf: gguf)
        down = try WeightMatrix(prefix + "ffn_down.weight", rows: h.embeddingLength, columns: h.feedForwardLength,
                                gguf: gguf)
    }

    var byteCount: Int {
        [query, key, value, attentionOutput, gate, up, down].reduce(0) { $0 + $1.byteCount }
    }

    /// A 1-D F32 tensor of `count` values (norm weights).
    static func vector(_ name: String, count: Int, gguf: GGUFFile) throws(EngineError) -> UnsafePointer<Float> {
        guard let info = gguf.tensorsByName[name], info.dimensions == [count] else {
            throw .tensorShape(name: name, expected: [count], found: gguf.tensorsByName[name]?.dimensions)
        }
        guard info.type == .f32, let base = gguf.tensorData(info).baseAddress else {
            throw .unsupportedTensorType(name: name, type: info.type)
        }
        return base.assumingMemoryBound(to: Float.self)
    }
}

/// The weights a stage holds: its blocks, plus the embedding on the first stage and the head on the last.
struct StageWeights: @unchecked Sendable {
    let blocks: [BlockWeights]
    /// Token embedding (`vocab x dim`), first stage only.
    let embedding: WeightMatrix?
    /// Final norm and output projection, last stage only. The output falls back to the tied embedding.
    let outputNorm: UnsafePointer<Float>?
    let output: WeightMatrix?

    init(layers: Range<Int>, hyper h: LlamaHyperparameters, gguf: GGUFFile) throws(EngineError) {
        var blocks: [BlockWeights] = []
        for layer in layers { blocks.append(try BlockWeights(layer: layer, hyper: h, gguf: gguf)) }
        self.blocks = blocks
        let isFirst = layers.lowerBound == 0, isLast = layers.upperBound == h.blockCount
        let embedding = try WeightMatrix("token_embd.weight", rows: h.vocabularySize, columns: h.embeddingLength,
                                         gguf: gguf)
        self.embedding = isFirst ? embedding : nil
        if isLast {
            outputNorm = try BlockWeights.vector("output_norm.weight", count: h.embeddingLength, gguf: gguf)
            output = gguf.tensorsByName["output.weight"] == nil ? embedding
                : try WeightMatrix("output.weight", rows: h.vocabularySize, columns: h.embeddingLength, gguf: gguf)
        } else {
            outputNorm = nil
            output = nil
        }
    }

    /// Bytes of weights read for one token through this stage (the embedding row read is negligible).
    var bytesPerToken: Int { blocks.reduce(0) { $0 + $1.byteCount } + (output?.byteCount ?? 0) }
}
