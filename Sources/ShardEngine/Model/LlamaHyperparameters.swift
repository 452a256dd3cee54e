/// The shape of a Llama-family model (see ``ModelArchitecture``), read from the `<architecture>.*` keys of a GGUF
/// file as llama.cpp reads them.
public struct LlamaHyperparameters: Sendable, Equatable {
    /// The model family (`general.architecture`).
    public var architecture: ModelArchitecture
    /// Maximum sequence length the model was trained for (`.context_length`).
    public var contextLength: Int
    /// Hidden size (`.embedding_length`).
    public var embeddingLength: Int
    /// Number of transformer blocks (`.block_count`).
    public var blockCount: Int
    /// Inner size of the gated feed-forward network (`.feed_forward_length`).
    public var feedForwardLength: Int
    /// Query heads (`.attention.head_count`).
    public var headCount: Int
    /// Key/value heads (`.attention.head_count_kv`, equal to `headCount` when absent).
    public var headCountKV: Int
    /// Size of one attention head (`.attention.key_length`, else `embeddingLength / headCount`).
    public var headDimension: Int
    /// Dimensions rotated by RoPE per head (`.rope.dimension_count`, the head size when absent).
    public var ropeDimensionCount: Int
    /// RoPE base frequency (`.rope.freq_base`, 10000 when absent).
    public var ropeFrequencyBase: Float
    /// Position scale of linear RoPE scaling: `1 / .rope.scaling.factor` when the type is `linear`, else 1.
    public var ropeFrequencyScale: Float
    /// RMSNorm epsilon (`.attention.layer_norm_rms_epsilon`).
    public var rmsEpsilon: Float
    /// Vocabulary size (from the token embedding).
    public var vocabularySize: Int
    /// Sliding attention window of local layers (`.attention.sliding_window`), `nil` when every layer is global.
    public var slidingWindow: Int?
    /// RoPE base of the sliding-window layers (Gemma 3: 10000).
    public var slidingRopeFrequencyBase: Float
    /// Every `slidingWindowPattern`-th layer is global, the others slide (Gemma 3: 6, as llama.cpp sets it).
    public var slidingWindowPattern: Int
    /// Multiplier of the scaled dot product (`1/√headDimension`).
    public var attentionScale: Float
    /// Multiplier applied to token embeddings (Gemma: √embeddingLength), 1 otherwise.
    public var embeddingScale: Float
    /// `cap · tanh(logit / cap)` on the output logits when set (`.final_logit_softcapping`).
    public var finalLogitSoftcap: Float?

    /// Width of the query projection.
    public var queryWidth: Int { headCount * headDimension }
    /// Width of the key and value projections.
    public var kvWidth: Int { headCountKV * headDimension }

    /// Whether `layer` attends over a sliding window rather than the whole sequence.
    public func isSlidingLayer(_ layer: Int) -> Bool {
        guard slidingWindow != nil, slidingWindowPattern > 0 else { return false }
        return layer % slidingWindowPattern < slidingWindowPattern - 1
    }

    /// The RoPE base frequency used by `layer`.
    public func ropeBase(layer: Int) -> Float {
        isSlidingLayer(layer) ? slidingRopeFrequencyBase : ropeFrequencyBase
    }

    /// Reads and validates the hyperparameters of a GGUF file of a supported architecture.
    ///
    /// - Throws: ``GGUFError/unsupportedArchitecture(_:)`` for other architectures,
    ///   ``GGUFError/missingMetadata(_:)`` or ``GGUFError/absurdValue(_:)`` for missing or inconsistent values.
    public init(gguf: GGUFFile) throws(GGUFError) {
        guard let name = gguf.metadata["general.architecture"]?.stringValue else {
            throw .missingMetadata("general.architecture")
        }
        guard let architecture = ModelArchitecture(rawValue: name) else { throw .unsupportedArchitecture(name) }
        self.architecture = architecture
        let metadata = gguf.metadata
        let prefix = name + "."
        func integer(_ key: String, default fallback: Int? = nil) throws(GGUFError) -> Int {
            if let value = metadata[prefix + key]?.intValue { return value }
            if let fallback { return fallback }
            throw .missingMetadata(prefix + key)
        }
        func float(_ key: String) -> Float? { metadata[prefix + key]?.doubleValue.map(Float.init) }
        contextLength = try integer("context_length")
        embeddingLength = try integer("embedding_length")
        blockCount = try integer("block_count")
        feedForwardLength = try integer("feed_forward_length")
        headCount = try integer("attention.head_count")
        headCountKV = try integer("attention.head_count_kv", default: headCount)
        guard headCount > 0 else { throw .absurdValue(prefix + "attention.head_count = \(headCount)") }
        headDimension = try integer("attention.key_length", default: embeddingLength / headCount)
        let valueLength = try integer("attention.value_length", default: headDimension)
        guard valueLength == headDimension else {
            throw .absurdValue("key length \(headDimension) differs from value length \(valueLength)")
        }
        guard let epsilon = float("attention.layer_norm_rms_epsilon") else {
            throw .missingMetadata(prefix + "attention.layer_norm_rms_epsilon")
        }
        rmsEpsilon = epsilon
        ropeFrequencyBase = float("rope.freq_base") ?? 10000
        ropeFrequencyScale = 1
        if metadata[prefix + "rope.scaling.type"]?.stringValue == "linear", let factor = float("rope.scaling.factor"),
           factor > 0 {
            ropeFrequencyScale = 1 / factor
        }
        guard let embedding = gguf.tensorsByName["token_embd.weight"], embedding.dimensions.count == 2 else {
            throw .missingMetadata("tensor token_embd.weight")
        }
        vocabularySize = embedding.dimensions[1]
        ropeDimensionCount = 0
        slidingWindow = nil
        slidingRopeFrequencyBase = ropeFrequencyBase
        slidingWindowPattern = 0
        attentionScale = 1
        embeddingScale = 1
        finalLogitSoftcap = nil
        ropeDimensionCount = try integer("rope.dimension_count", default: headDimension)
        attentionScale = 1 / Float(headDimension).squareRoot()
        if architecture == .gemma3 {
            embeddingScale = Float(embeddingLength).squareRoot()
            if let window = metadata[prefix + "attention.sliding_window"]?.intValue, window > 0 {
                slidingWindow = window
                slidingWindowPattern = 6
                slidingRopeFrequencyBase = 10000
            }
            if let cap = float("final_logit_softcapping"), cap > 0 { finalLogitSoftcap = cap }
        }
        try validate()
    }

    private func validate() throws(GGUFError) {
        let limits: [(String, Int, ClosedRange<Int>)] = [
            ("context_length", contextLength, 1 ... 1 << 20), ("embedding_length", embeddingLength, 1 ... 1 << 16),
            ("block_count", blockCount, 1 ... 1024), ("feed_forward_length", feedForwardLength, 1 ... 1 << 18),
            ("attention.head_count", headCount, 1 ... 1024), ("attention.head_count_kv", headCountKV, 1 ... 1024),
            ("attention.key_length", headDimension, 1 ... 1 << 12),
            ("attention.sliding_window", slidingWindow ?? 1, 1 ... 1 << 20),
        ]
        for (key, value, range) in limits where !range.contains(value) {
            throw .absurdValue("\(architecture.rawValue).\(key) = \(value) is outside \(range)")
        }
        guard headCount % headCountKV == 0 else {
            throw .absurdValue("\(headCount) heads and \(headCountKV) KV heads do not divide evenly")
        }
        guard headDimension % 2 == 0 else { throw .absurdValue("head size \(headDimension) is odd") }
        guard ropeDimensionCount > 0, ropeDimensionCount <= headDimension, ropeDimensionCount % 2 == 0 else {
            throw .absurdValue("rope.dimension_count = \(ropeDimensionCount) for head size \(headDimension)")
        }
        guard rmsEpsilon > 0, rmsEpsilon < 1, ropeFrequencyBase > 1, ropeFrequencyScale > 0, ropeFrequencyScale <= 1
        else {
            throw .absurdValue("rms epsilon \(rmsEpsilon), rope base \(ropeFrequencyBase) or rope scale "
                + "\(ropeFrequencyScale) out of range")
        }
    }
}
