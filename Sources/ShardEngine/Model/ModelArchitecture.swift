/// The transformer families the engine runs, named as GGUF's `general.architecture` names them.
///
/// They share one block structure (RMSNorm, grouped-query attention with RoPE, gated feed-forward network) and
/// differ in the details this type answers: biases, norms, rotary layout, activation and scaling.
public enum ModelArchitecture: String, Sendable, CaseIterable {
    /// Llama 1-3, SmolLM2, Mistral and their kin: adjacent-pair RoPE, SiLU-gated FFN, optional Llama 3
    /// `rope_freqs` frequency factors.
    case llama
    /// Qwen2 / Qwen2.5: as `llama` plus biases on the Q/K/V projections, NEOX-style (half-split) RoPE.
    case qwen2
    /// Gemma 3: embeddings scaled by √dim, per-head Q/K RMSNorm, norms after attention and FFN as well as before,
    /// GELU-gated FFN, NEOX RoPE, sliding-window attention on five of every six layers with their own RoPE base.
    case gemma3

    /// How rotary position embedding pairs the dimensions of a head.
    public enum RopeStyle: Sendable, Equatable {
        /// Pairs `(x[2i], x[2i+1])` (llama.cpp's "normal" mode; GGUF Llama weights are permuted for it).
        case adjacent
        /// Pairs `(x[i], x[i + n/2])` (llama.cpp's NEOX mode).
        case neox
    }

    /// The gate activation of the feed-forward network.
    public enum Activation: Sendable, Equatable {
        /// `silu(gate) * up`.
        case silu
        /// `gelu_tanh(gate) * up`, rounded through half precision as ggml's CPU backend does.
        case gelu
    }

    /// The rotary layout of this family.
    public var ropeStyle: RopeStyle { self == .llama ? .adjacent : .neox }
    /// The feed-forward activation of this family.
    public var activation: Activation { self == .gemma3 ? .gelu : .silu }
    /// Whether Q, K and V projections carry biases (`attn_q.bias` ...).
    public var hasQKVBias: Bool { self == .qwen2 }
    /// Whether queries and keys are RMS-normalised per head (`attn_q_norm`, `attn_k_norm`).
    public var hasQKNorm: Bool { self == .gemma3 }
    /// Whether attention and FFN outputs are normalised before the residual add (`post_attention_norm`,
    /// `post_ffw_norm`).
    public var hasPostNorms: Bool { self == .gemma3 }
}
