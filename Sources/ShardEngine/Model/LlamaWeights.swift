/// The weights of one transformer block: read-only views into the mapped file, which the owning stage keeps alive.
/// Tensors a family does not have (biases, per-head and post norms) are `nil`.
struct BlockWeights: @unchecked Sendable {
    let attentionNorm: UnsafePointer<Float>
    let query: WeightMatrix
    let key: WeightMatrix
    let value: WeightMatrix
    /// Qwen2: biases of the Q, K and V projections.
    let queryBias, keyBias, valueBias: UnsafePointer<Float>?
    /// Gemma 3: per-head RMSNorm weights of queries and keys (`headDimension` values each).
    let queryNorm, keyNorm: UnsafePointer<Float>?
    let attentionOutput: WeightMatrix
    /// Gemma 3: norm of the attention output before the residual add.
    let postAttentionNorm: UnsafePointer<Float>?
    let feedForwardNorm: UnsafePointer<Float>
    let gate: WeightMatrix
    let up: WeightMatrix
    let down: WeightMatrix
    /// Gemma 3: norm of the FFN output before the residual add.
    let postFeedForwardNorm: UnsafePointer<Float>?

    init(layer: Int, hyper h: LlamaHyperparameters, gguf: GGUFFile) throws(EngineError) {
        let prefix = "blk.\(layer)."
        let architecture = h.architecture
        func vector(_ name: String, _ count: Int, when present: Bool) throws(EngineError) -> UnsafePointer<Float>? {
            present ? try Self.vector(prefix + name, count: count, gguf: gguf) : nil
        }
        attentionNorm = try Self.vector(prefix + "attn_norm.weight", count: h.embeddingLength, gguf: gguf)
        query = try WeightMatrix(prefix + "attn_q.weight", rows: h.queryWidth, columns: h.embeddingLength, gguf: gguf)
        key = try WeightMatrix(prefix + "attn_k.weight", rows: h.kvWidth, columns: h.embeddingLength, gguf: gguf)
        value = try WeightMatrix(prefix + "attn_v.weight", rows: h.kvWidth, columns: h.embeddingLength, gguf: gguf)
        queryBias = try vector("attn_q.bias", h.queryWidth, when: architecture.hasQKVBias)
        keyBias = try vector("attn_k.bias", h.kvWidth, when: architecture.hasQKVBias)
        valueBias = try vector("attn_v.bias", h.kvWidth, when: architecture.hasQKVBias)
        queryNorm = try vector("attn_q_norm.weight", h.headDimension, when: architecture.hasQKNorm)
        keyNorm = try vector("attn_k_norm.weight", h.headDimension, when: architecture.hasQKNorm)
        attentionOutput = try WeightMatrix(prefix + "attn_output.weight", rows: h.embeddingLength,
                                           columns: h.queryWidth, gguf: gguf)
        postAttentionNorm = try vector("post_attention_norm.weight", h.embeddingLength, when: architecture.hasPostNorms)
        feedForwardNorm = try Self.vector(prefix + "ffn_norm.weight", count: h.embeddingLength, gguf: gguf)
        gate = try WeightMatrix(prefix + "ffn_gate.weight", rows: h.feedForwardLength, columns: h.embeddingLength,
                                gguf: gguf)
        up = try WeightMatrix(prefix + "ffn_up.weight", rows: h.feedForwardLength, columns: h.embeddingLength,
                              gguf: gguf)
        down = try WeightMatrix(prefix + "ffn_down.weight", rows: h.embeddingLength, columns: h.feedForwardLength,
                                gguf: gguf)
        postFeedForwardNorm = try vector("post_ffw_norm.weight", h.embeddingLength, when: architecture.hasPostNorms)
    }

    var byteCount: Int {
        [query, key, value, attentionOutput, gate, up, down].reduce(0) { $0 + $1.byteCount }
    }

    /// A 1-D F32 tensor of `count` values (norm weights, biases, frequency factors).
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
    /// Llama 3 RoPE frequency factors (`rope_freqs.weight`, `ropeDimensionCount / 2` values), when the model has them.
    let ropeFactors: UnsafePointer<Float>?

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
        ropeFactors = gguf.tensorsByName["rope_freqs.weight"] == nil ? nil
            : try BlockWeights.vector("rope_freqs.weight", count: h.ropeDimensionCount / 2, gguf: gguf)
    }

    /// Bytes of weights read for one token through this stage (the embedding row read is negligible).
    var bytesPerToken: Int { blocks.reduce(0) { $0 + $1.byteCount } + (output?.byteCount ?? 0) }
}
