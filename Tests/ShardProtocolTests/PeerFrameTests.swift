import Testing
@testable import ShardProtocol

@Suite("Peer frame codec")
struct PeerFrameTests {
    static let slices = [PeerFrame.Slice(sequence: 7, startPosition: 0, count: 3),
                         PeerFrame.Slice(sequence: 9, startPosition: 12, count: 1)]

    @Test func tokensWithSamplingRoundTrip() throws {
        let sampling = [
            SliceSampling(sampling: Sampling(temperature: 0.75, topK: 40, topP: 0.5, seed: 5, minTokens: 1),
                          generatedCount: 0),
            SliceSampling(sampling: Sampling(seed: .max, minTokens: 0), generatedCount: 4),
        ]
        let frame = PeerFrame(kind: .forward, dtype: .tokens, step: 99, slices: Self.slices, sampling: sampling,
                              tokens: [1, 2, 3, 4])
        #expect(try PeerFrame.decode(frame.encoded()) == frame)
        // Temperature and top_p travel as the Floats the engine samples with.
        var inexact = frame
        inexact.sampling?[0].sampling.temperature = 0.7
        inexact.sampling?[0].sampling.topP = 0.9
        let decoded = try #require(try PeerFrame.decode(inexact.encoded()).sampling?[0].sampling)
        #expect(decoded.engineTemperature == Float(0.7) && decoded.engineTopP == Double(Float(0.9)))
    }

    @Test func samplingRecordsOutOfRangeAreRejected() {
        var frame = PeerFrame(kind: .forward, dtype: .tokens, step: 1, slices: [Self.slices[1]],
                              sampling: [SliceSampling(sampling: .greedy, generatedCount: 0)], tokens: [1])
        for bad in [Sampling(temperature: .nan), Sampling(temperature: 1000), Sampling(topP: 0), Sampling(topP: 2)] {
            frame.sampling = [SliceSampling(sampling: bad, generatedCount: 0)]
            #expect(throws: PeerFrameError.self) { try PeerFrame.decode(frame.encoded()) }
        }
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

    static let route = PeerFrame.Route(link: 0xDEAD_BEEF, hops: [
        PeerFrame.Route.Hop(url: "ws://10.0.0.2:9101/peer", link: 42, dtype: .f16),
        PeerFrame.Route.Hop(url: "ws://[::1]:9102/peer", link: .max, dtype: .f32),
    ])

    @Test func routedFramesRoundTripAndFailedFramesDecode() throws {
        let sampling = [SliceSampling(sampling: Sampling(seed: 1, minTokens: 0), generatedCount: 0),
                        SliceSampling(sampling: Sampling(seed: 2, minTokens: 0), generatedCount: 2)]
        let frame = PeerFrame(kind: .forward, dtype: .tokens, step: 5, slices: Self.slices, sampling: sampling,
                              tokens: [1, 2, 3, 4], route: Self.route)
        #expect(try PeerFrame.decode(frame.encoded()) == frame)
        var hidden = PeerFrame(kind: .forward, dtype: .f16, step: 6, slices: Self.slices, width: 2,
                               values: (0 ..< 8).map { Float($0) }, route: PeerFrame.Route(link: 1, hops: []))
        #expect(try PeerFrame.decode(hidden.encoded()) == hidden)
        hidden.route = nil
        #expect(try PeerFrame.decode(hidden.encoded()).route == nil)
        let failed = PeerFrame(kind: .failed, dtype: .tokens, step: 5, slices: Self.slices)
        #expect(try PeerFrame.decode(failed.encoded()) == failed)
    }

    @Test func badRoutesAreRejected() {
        let frame = PeerFrame(kind: .forward, dtype: .tokens, step: 5, slices: Self.slices, tokens: [1, 2, 3, 4],
                              route: Self.route)
        let valid = frame.encoded()
        let routeStart = 32 + 2 * 16
        // Only forward frames carry routes.
        var answer = PeerFrame(kind: .sampled, dtype: .tokens, step: 5, slices: Self.slices, tokens: [1, 2])
        answer.route = Self.route
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(answer.encoded()) }
        // A hop count past the limit, or more hops than the bytes hold.
        var manyHops = valid
        manyHops[routeStart + 8] = 200
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(manyHops) }
        var threeHops = valid
        threeHops[routeStart + 8] = 3
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(threeHops) }
        // A route byte count that disagrees with the frame's length.
        var longer = valid
        longer[routeStart + 12] &+= 1
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(longer) }
        // A URL length running past the route, a hop dtype that is not f32/f16, a URL that is not UTF-8.
        let firstHop = routeStart + 16
        var longURL = valid
        longURL[firstHop + 9] = 0xFF
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(longURL) }
        var tokenHop = valid
        tokenHop[firstHop + 8] = 0
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(tokenHop) }
        var badUTF8 = valid
        badUTF8[firstHop + 11] = 0xFF
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(badUTF8) }
        // Unknown flags.
        var flags = valid
        flags[7] = 4
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(flags) }
        // A truncated route header.
        #expect(throws: PeerFrameError.self) { try PeerFrame.decode(Array(valid.prefix(routeStart + 10))) }
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
