/// The shape of a Llama-family model, read from the `llama.*` keys of a GGUF file.
public struct LlamaHyperparameters: Sendable, Equatable {
    /// Maximum sequence length the model was trained for (`llama.context_length`).
    public var contextLength: Int
    /// Hidden size (`llama.embedding_length`).
    public var embeddingLength: Int
    /// Number of transformer blocks (`llama.block_count`).
    public var blockCount: Int
    /// Inner size of the SwiGLU feed-forward network (`llama.feed_forward_length`).
    public var feedForwardLength: Int
    /// Query heads (`llama.attention.head_count`).
    public var headCount: Int
    /// Key/value heads (`llama.attention.head_count_kv`, equal to `headCount` when absent).
    public var headCountKV: Int
    /// Dimensions rotated by RoPE per head (`llama.rope.dimension_count`, the head size when absent).
    public var ropeDimensionCount: Int
    /// RoPE base frequency (`llama.rope.freq_base`, 10000 when absent).
    public var ropeFrequencyBase: Float
    /// RMSNorm epsilon (`llama.attention.layer_norm_rms_epsilon`).
    public var rmsEpsilon: Float
    /// Vocabulary size (from the token embedding).
    public var vocabularySize: Int

    /// Size of one attention head.
    public var headDimension: Int { embeddingLength / headCount }
    /// Width of the key and value projections.
    public var kvWidth: Int { headCountKV * headDimension }

    /// Reads and validates the hyperparameters of a `llama` GGUF file.
    ///
    /// - Throws: ``GGUFError/unsupportedArchitecture(_:)`` for other architectures,
    ///   ``GGUFError/missingMetadata(_:)`` or ``GGUFError/absurdValue(_:)`` for missing or inconsistent values.
    public init(gguf: GGUFFile) throws(GGUFError) {
        guard let architecture = gguf.metadata["general.architecture"]?.stringValue else {
            throw .missingMetadata("general.architecture")
        }
        guard architecture == "llama" else { throw .unsupportedArchitecture(architecture) }
        func integer(_ key: String, default fallback: Int? = nil) throws(GGUFError) -> Int {
            if let value = gguf.metadata["llama." + key]?.intValue { return value }
            if let fallback { return fallback }
            throw .missingMetadata("llama." + key)
        }
        contextLength = try integer("context_length")
        embeddingLength = try integer("embedding_length")
        blockCount = try integer("block_count")
        feedForwardLength = try integer("feed_forward_length")
        headCount = try integer("attention.head_count")
        headCountKV = try integer("attention.head_count_kv", default: headCount)
        guard let epsilon = gguf.metadata["llama.attention.layer_norm_rms_epsilon"]?.doubleValue else {
            throw .missingMetadata("llama.attention.layer_norm_rms_epsilon")
        }
        rmsEpsilon = Float(epsilon)
        ropeFrequencyBase = Float(gguf.metadata["llama.rope.freq_base"]?.doubleValue ?? 10000)
        guard let embedding = gguf.tensorsByName["token_embd.weight"], embedding.dimensions.count == 2 else {
            throw .missingMetadata("tensor token_embd.weight")
        }
        vocabularySize = embedding.dimensions[1]
        ropeDimensionCount = 0
        ropeDimensionCount = try integer("rope.dimension_count", default: headDimension)
        try validate()
    }

    private func validate() throws(GGUFError) {
        let limits: [(String, Int, ClosedRange<Int>)] = [
            ("context_length", contextLength, 1 ... 1 << 20), ("embedding_length", embeddingLength, 1 ... 1 << 16),
            ("block_count", blockCount, 1 ... 1024), ("feed_forward_length", feedForwardLength, 1 ... 1 << 18),
            ("attention.head_count", headCount, 1 ... 1024), ("attention.head_count_kv", headCountKV, 1 ... 1024),
        ]
        for (key, value, range) in limits where !range.contains(value) {
            throw .absurdValue("llama.\(key) = \(value) is outside \(range)")
        }
        guard embeddingLength % headCount == 0, headCount % headCountKV == 0 else {
            throw .absurdValue("embedding \(embeddingLength), \(headCount) heads and \(headCountKV) KV heads "
                + "do not divide evenly")
        }
        guard ropeDimensionCount > 0, ropeDimensionCount <= headDimension, ropeDimensionCount % 2 == 0 else {
            throw .absurdValue("llama.rope.dimension_count = \(ropeDimensionCount) for head size \(headDimension)")
        }
        guard rmsEpsilon > 0, rmsEpsilon < 1, ropeFrequencyBase > 1 else {
            throw .absurdValue("rms epsilon \(rmsEpsilon) or rope base \(ropeFrequencyBase) out of range")
        }
    }
}
