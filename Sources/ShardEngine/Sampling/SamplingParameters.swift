import ShardProtocol

/// How the next token is chosen from the logits.
public struct SamplingParameters: Sendable, Equatable, Codable {
    /// Softmax temperature; 0 picks the most likely token (greedy).
    public var temperature: Float
    /// Keep only the `topK` most likely tokens; 0 keeps all.
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probabilities add up to at least `topP`; 1 keeps all.
    public var topP: Float
    /// Seed of the random generator; the same seed and request give the same tokens. `nil` picks one at random.
    public var seed: UInt64?
    /// End-of-sequence is suppressed until this many tokens have been generated.
    public var minTokens: Int

    /// Creates sampling parameters; the defaults are greedy decoding.
    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64? = nil, minTokens: Int = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.minTokens = minTokens
    }

    /// Greedy decoding.
    public static let greedy = SamplingParameters()

    /// Checks the ranges: temperature 0...100 and finite, topK >= 0, topP in (0, 1], minTokens >= 0.
    ///
    /// - Returns: a message naming the first bad field, or `nil` when all are valid.
    public func validationProblem() -> String? {
        if !temperature.isFinite || temperature < 0 || temperature > 100 { return "temperature must be in 0...100" }
        if topK < 0 { return "top_k must be >= 0" }
        if !topP.isFinite || topP <= 0 || topP > 1 { return "top_p must be in (0, 1]" }
        if minTokens < 0 { return "min_tokens must be >= 0" }
        return nil
    }
}

extension GenerationRequest {
    /// The request's sampling as the engine runs it, with `seed` (the request's, or the one the sidecar drew for
    /// it). The one conversion from the wire's numbers; ``GenerationRequest/validate(limits:)`` has range-checked
    /// them against these types.
    public func sampling(seed: UInt64) -> SamplingParameters {
        SamplingParameters(temperature: Float(temperature), topK: topK, topP: Float(topP), seed: seed,
                           minTokens: minTokens)
    }
}
