import Testing
@testable import ShardEngine
import ShardProtocol
import ShardTokenizers

@Suite("Token sampler")
struct TokenSamplerTests {
    static let logits: [Float] = [0.5, 2.0, 1.9, -1.0, 0.0, 3.5, 3.4, -2.0]

    func run(_ parameters: Sampling, steps: Int = 50, eos: TokenID? = nil) -> [TokenID] {
        let sampler = TokenSampler(parameters: parameters)
        return (0 ..< steps).map { sampler.sample(logits: Self.logits[...], generatedCount: $0, endOfSequence: eos) }
    }

    @Test func greedyPicksTheLargestLogit() {
        #expect(run(.greedy, steps: 3) == [5, 5, 5])
        #expect(TokenSampler.argmax([1, 3, 3, 2]) == 1)
    }

    @Test func sameSeedSameTokensDifferentSeedDifferentTokens() {
        let a = run(Sampling(temperature: 1.5, seed: 11))
        #expect(a == run(Sampling(temperature: 1.5, seed: 11)))
        #expect(a != run(Sampling(temperature: 1.5, seed: 12)))
        #expect(Set(a).count > 2, "temperature sampling should visit several tokens")
    }

    @Test func eachDrawDependsOnlyOnSeedAndIndex() {
        // A sampler recreated mid-stream (as after a failover replay) continues with the same tokens.
        let parameters = Sampling(temperature: 1.2, seed: 77)
        let straight = run(parameters, steps: 30)
        let resumed = TokenSampler(parameters: parameters)
        let tail = (20 ..< 30).map { resumed.sample(logits: Self.logits[...], generatedCount: $0, endOfSequence: nil) }
        #expect(Array(straight[20...]) == tail)
    }

    @Test func topKOneAndTinyTopPAreGreedy() {
        #expect(run(Sampling(temperature: 2, topK: 1, seed: 3)) == run(.greedy))
        #expect(run(Sampling(temperature: 2, topP: 0.01, seed: 3)) == run(.greedy))
    }

    @Test func topKRestrictsTheCandidates() {
        let tokens = run(Sampling(temperature: 5, topK: 2, seed: 5), steps: 200)
        #expect(Set(tokens) == [5, 6])
    }

    @Test func topPRestrictsTheCandidates() {
        // Probabilities at temperature 1: token 5 has 0.412, token 6 0.373; the two pass 0.6 together.
        let tokens = run(Sampling(temperature: 1, topP: 0.6, seed: 5), steps: 200)
        #expect(Set(tokens) == [5, 6])
    }

    @Test func minTokensSuppressesEndOfSequence() {
        let sampler = TokenSampler(parameters: Sampling(minTokens: 2))
        #expect(sampler.sample(logits: Self.logits[...], generatedCount: 0, endOfSequence: 5) == 6)
        #expect(sampler.sample(logits: Self.logits[...], generatedCount: 1, endOfSequence: 5) == 6)
        #expect(sampler.sample(logits: Self.logits[...], generatedCount: 2, endOfSequence: 5) == 5)
    }

    @Test func minTokensSuppressesEveryEndOfGenerationToken() {
        let sampler = TokenSampler(parameters: Sampling(minTokens: 1))
        // 5 (EOS) and 6 (an end-of-turn token) both end a generation: the best other token is 1.
        #expect(sampler.sample(logits: Self.logits[...], generatedCount: 0, endOfGeneration: [5, 6]) == 1)
        #expect(sampler.sample(logits: Self.logits[...], generatedCount: 1, endOfGeneration: [5, 6]) == 5)
    }

    @Test func frequenciesFollowTheSoftmax() {
        let tokens = run(Sampling(temperature: 1, seed: 99), steps: 4000)
        let share5 = Double(tokens.filter { $0 == 5 }.count) / 4000
        // softmax(logits)[5] = 0.412 (computed independently with Python)
        #expect(abs(share5 - 0.412) < 0.03)
    }

    @Test func validationNamesTheBadField() {
        func field(_ sampling: Sampling) -> String? {
            do throws(ProtocolError) { try sampling.validate() } catch { return error.field }
            return nil
        }
        #expect(field(Sampling(temperature: -1)) == "temperature")
        #expect(field(Sampling(temperature: .nan)) == "temperature")
        #expect(field(Sampling(topK: -1)) == "top_k")
        // Checked against the type it travels as in a peer frame (UInt32), not only its sign.
        #expect(field(Sampling(topK: Int(UInt32.max) + 1)) == "top_k")
        #expect(field(Sampling(topK: Int(UInt32.max))) == nil)
        #expect(field(Sampling(topP: 0)) == "top_p")
        #expect(field(Sampling(minTokens: -2)) == "min_tokens")
        #expect(field(Sampling(minTokens: Int(UInt32.max) + 1)) == "min_tokens")
        #expect(field(Sampling(temperature: 0.7, topK: 40, topP: 0.9, seed: .max)) == nil)
    }

    @Test func temperatureAndTopPAreUsedAsTheFloatsAPeerFrameCarries() {
        // 0.1 + 1e-12 and 0.1 are one Float: a sidecar sampling in process and a peer decoding the frame's Float
        // must draw the same tokens.
        let exact = Sampling(temperature: 0.7, topP: 0.9, seed: 4)
        var nudged = exact
        nudged.temperature += 1e-12
        nudged.topP += 1e-12
        #expect(run(exact, steps: 200) == run(nudged, steps: 200))
    }
}
