import ShardProtocol
import ShardTokenizers

/// Chooses tokens for one sequence.
///
/// The random number for the n-th generated token is the n-th output of a SplitMix64 stream started at the seed,
/// computed directly from `(seed, n)`. A token therefore depends only on the seed, its index and the logits: never on
/// other sequences in the batch, and a sequence replayed on another shard after a failover samples the same tokens.
public struct TokenSampler: Sendable {
    /// The parameters in use.
    public let parameters: Sampling
    /// The seed in use: `parameters.seed`, or one drawn from the system generator.
    public let seed: UInt64

    /// Creates a sampler; without a seed in `parameters`, one is drawn from the system generator. Temperature and
    /// `top_p` are used as `Float`s (``Sampling/engineTemperature``, ``Sampling/engineTopP``), as peer frames carry
    /// them, so every shard draws the same token.
    public init(parameters: Sampling) {
        self.parameters = parameters
        var system = SystemRandomNumberGenerator()
        self.seed = parameters.seed ?? system.next()
    }

    /// Picks the next token.
    ///
    /// - Parameters:
    ///   - logits: one score per vocabulary entry.
    ///   - generatedCount: tokens generated so far; below `minTokens`, `endOfSequence` is never picked.
    ///   - endOfSequence: the end-of-sequence id, if any.
    public func sample(logits: ArraySlice<Float>, generatedCount: Int, endOfSequence: TokenID?) -> TokenID {
        sample(logits: logits, generatedCount: generatedCount, endOfGeneration: endOfSequence.map { [$0] } ?? [])
    }

    /// Picks the next token; below `minTokens` generated tokens, no id of `endOfGeneration` (EOS, end-of-turn
    /// tokens) is picked.
    public func sample(logits: ArraySlice<Float>, generatedCount: Int, endOfGeneration: Set<TokenID>) -> TokenID {
        var scores = Array(logits)
        if generatedCount < parameters.minTokens {
            for id in endOfGeneration where id >= 0 && Int(id) < scores.count { scores[Int(id)] = -.infinity }
        }
        var random = SplitMix64(seed: seed &+ UInt64(truncatingIfNeeded: generatedCount) &* SplitMix64.increment)
        let draw = random.nextUnitInterval()
        let temperature = parameters.engineTemperature, topP = parameters.engineTopP
        if temperature == 0 { return TokenID(Self.argmax(scores)) }

        var candidates = scores.indices.filter { scores[$0] > -.infinity }
        if candidates.isEmpty { return TokenID(Self.argmax(scores)) }
        candidates.sort { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        if parameters.topK > 0, candidates.count > parameters.topK { candidates.removeLast(candidates.count - parameters.topK) }

        let maximum = scores[candidates[0]]
        var probabilities = candidates.map { Double(((scores[$0] - maximum) / temperature)).exponential }
        let total = probabilities.reduce(0, +)
        probabilities = probabilities.map { $0 / total }
        if topP < 1 {
            var cumulative = 0.0
            var keep = 0
            while keep < probabilities.count {
                cumulative += probabilities[keep]
                keep += 1
                if cumulative >= topP { break }
            }
            candidates.removeLast(candidates.count - keep)
            probabilities.removeLast(probabilities.count - keep)
        }
        let threshold = draw * probabilities.reduce(0, +)
        var cumulative = 0.0
        for (index, probability) in probabilities.enumerated() {
            cumulative += probability
            if threshold < cumulative { return TokenID(candidates[index]) }
        }
        return TokenID(candidates[candidates.count - 1])
    }

    /// Index of the largest value; the lowest index wins ties.
    static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for index in values.indices where values[index] > values[best] { best = index }
        return best
    }
}

extension Double {
    fileprivate var exponential: Double { Foundation.exp(self) }
}

import Foundation

/// SplitMix64: a small, fast, well-distributed generator whose whole state is one word.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    /// The golden-ratio increment added to the state per output.
    static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    mutating func next() -> UInt64 {
        state &+= Self.increment
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1) from the top 53 bits.
    mutating func nextUnitInterval() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
