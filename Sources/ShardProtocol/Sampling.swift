/// How the next token is chosen: the one sampling type of the SDK, the CLI, the sidecar, the engine and the peer
/// wire. The default is greedy decoding.
///
/// Numbers are carried as the protocol's JSON reads them (`Double`, `Int`); ``validate()`` checks each against
/// the narrowest type it is converted to on the way (the engine samples with `Float` temperature and `top_p`, a
/// peer frame carries `top_k` and `min_tokens` as `UInt32`). Every `UInt64` is a valid seed here; a request's JSON
/// limits it further (``GenerationRequest/validate(limits:)``).
public struct Sampling: Sendable, Equatable, Hashable {
    /// Softmax temperature, 0...100; 0 picks the most likely token.
    public var temperature: Double
    /// Keep only the `topK` most likely tokens; 0 keeps all.
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probabilities add up to at least `topP`, in (0, 1];
    /// 1 keeps all.
    public var topP: Double
    /// Seed of the random draws: the same seed and request give the same tokens. `nil`: the sidecar (or the engine)
    /// draws one.
    public var seed: UInt64?
    /// End-of-generation tokens are suppressed until this many tokens have been generated.
    public var minTokens: Int

    /// The protocol's default of `min_tokens`.
    public static let defaultMinTokens = 1

    /// Creates sampling settings; the defaults are greedy decoding with the protocol's `min_tokens`.
    public init(temperature: Double = 0, topK: Int = 0, topP: Double = 1, seed: UInt64? = nil,
                minTokens: Int = defaultMinTokens) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.minTokens = minTokens
    }

    /// Greedy decoding.
    public static let greedy = Sampling()

    /// The largest `top_k` and `min_tokens`: they travel as `UInt32` in peer frames.
    public static let maxCount = Int(UInt32.max)

    /// Checks every field against its range and the type it is converted to.
    ///
    /// - Throws: ``ProtocolError`` (400) naming the first bad field.
    public func validate() throws(ProtocolError) {
        guard temperature.isFinite, (0 ... 100).contains(temperature) else {
            throw .invalid("temperature", "temperature must be in 0...100")
        }
        guard (0 ... Self.maxCount).contains(topK) else {
            throw .invalid("top_k", "top_k must be in 0...\(Self.maxCount) (0 disables it)")
        }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw .invalid("top_p", "top_p must be in (0, 1]") }
        guard (0 ... Self.maxCount).contains(minTokens) else {
            throw .invalid("min_tokens", "min_tokens must be in 0...\(Self.maxCount)")
        }
    }

    /// The same sampling with `seed` in place of the request's (the one the sidecar drew, or the request's own).
    public func seeded(_ seed: UInt64) -> Sampling {
        var copy = self
        copy.seed = seed
        return copy
    }

    /// The temperature as the engine computes with it (and a peer frame carries it).
    public var engineTemperature: Float { Float(temperature) }
    /// `top_p` as the engine compares with it (and a peer frame carries it): the same `Float` on every shard, so
    /// a sequence samples the same token in the sidecar's process and on a peer.
    public var engineTopP: Double { Double(Float(topP)) }
}

/// How a last stage samples one slice of a step: the request's sampling (its seed fixed) and the number of tokens
/// generated so far, which picks the random draw, so a replay samples the same token.
public struct SliceSampling: Sendable, Equatable {
    /// The request's sampling, with the seed in use.
    public var sampling: Sampling
    /// Tokens generated so far: the index of the token being sampled.
    public var generatedCount: Int

    /// Creates a slice's sampling record.
    public init(sampling: Sampling, generatedCount: Int) {
        self.sampling = sampling
        self.generatedCount = generatedCount
    }
}
