import Testing
@testable import ShardProtocol

@Suite("Peer frame codec")
struct PeerFrameTests {
    static let slices = [PeerFrame.Slice(sequence: 7, startPosition: 0, count: 3),
                         PeerFrame.Slice(sequence: 9, startPosition: 12, count: 1)]

    @Test func tokensWithSamplingRoundTrip() throws {
        let sampling = [PeerFrame.Sampling(temperature: 0.7, topP: 0.9, topK: 40, minTokens: 1, generatedCount: 0, seed: 5),
                        PeerFrame.Sampling(temperature: 0, topP: 1, topK: 0, minTokens: 0, generatedCount: 4, seed: .max)]
        let frame = PeerFrame(kind: .forward, dtype: .tokens, step: 99, slices: Self.slices, sampling: sampling,
                              tokens: [1, 2, 3, 4])
        #expect(try PeerFrame.decode(frame.encoded()) == frame)
    }

    @Test func hiddenStatesRoundTripInF32AndF16() throws {
        let values: [Float] = (0 ..< 8).map { Float($0) * 0.25 - 1 }
        let frame = PeerFrame(kind: .hidden, dtype: .f32, step: 1, slices: Self.slices, width: 2, values: values)
        #expect(try PeerFrame.decode(frame.encoded()) == frame)
        var half = frame
        half.dtype = .f16
        let encoded = half.encoded()
        #expect(encoded.count == 32 + 2 * 16 + 8 * 2)
        #expect(try PeerFrame.decode(encoded).values == values, "these values are exact in half precision")
    }

    @Test func garbageIsRejectedNeverTrusted() {
        let valid = PeerFrame(kind: .forward, dtype: .tokens, step: 3, slices: Self.slices, tokens: [1, 2, 3, 4]).encoded()
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode([]) }
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(Array(valid.dropLast())) }
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(valid + [0]) }
        var wrongMagic = valid
        wrongMagic[0] ^= 0xFF
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(wrongMagic) }
        var hugeRows = valid
        hugeRows[20] = 0xFF; hugeRows[21] = 0xFF; hugeRows[22] = 0xFF; hugeRows[23] = 0x7F
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(hugeRows) }
        var badKind = valid
        badKind[5] = 42
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(badKind) }
        var mismatch = PeerFrame(kind: .forward, dtype: .tokens, step: 3, slices: Self.slices, tokens: [1, 2, 3])
        mismatch.tokens = [1, 2, 3]
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(mismatch.encoded()) }
        var random = SystemRandomNumberGenerator()
        for _ in 0 ..< 500 {
            var bytes = valid
            for _ in 0 ..< 4 { bytes[Int.random(in: 0 ..< bytes.count, using: &random)] = UInt8.random(in: 0 ... 255, using: &random) }
            _ = try? PeerFrame.decode(bytes)
        }
    }
}
