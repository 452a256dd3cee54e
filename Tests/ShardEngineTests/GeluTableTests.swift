import CShardKernels
import Foundation
import Testing

/// `shard_gelu_mul` reads gelu from a table of every half-precision input in long calls and evaluates it directly in
/// short ones; each product must equal the direct evaluation either way: gelu (tanh form) of the input rounded to
/// half precision, rounded to half precision, times `up`.
@Suite("GELU table")
struct GeluTableTests {
    @Test func tableGivesTheDirectEvaluation() {
        var gate: [Float] = stride(from: -10.5 as Float, through: 10.5, by: 0.000_37).map { $0 }
        gate += [0, -0.0, 1e-7, -1e-7, 6e-5, -6e-5, 65504, -65504, .infinity, -.infinity]
        let up = gate.indices.map { Float(1 + $0 % 13) * 0.37 }
        var expected = [Float](repeating: 0, count: gate.count)
        for (i, g) in gate.enumerated() {
            var y: Float
            if g <= -10 {
                y = 0
            } else if g >= 10 {
                y = g
            } else {
                let x = Float(Float16(g))
                let inner: Float = 0.797_884_560_802_865_355_879_892_119_868_76 * x * (1 + 0.044_715 * x * x)
                y = Float(Float16(0.5 * x * (1 + tanhf(inner))))
            }
            expected[i] = y * up[i]
        }
        // One call long enough for the table, and short calls that evaluate gelu directly.
        var long = gate + gate, short = gate
        let longUp = up + up
        shard_gelu_mul(&long, longUp, Int64(long.count))
        for start in stride(from: 0, to: short.count, by: 1000) {
            let count = min(1000, short.count - start)
            short.withUnsafeMutableBufferPointer { g in
                up.withUnsafeBufferPointer { u in
                    shard_gelu_mul(g.baseAddress! + start, u.baseAddress! + start, Int64(count))
                }
            }
        }
        #expect(long.count >= 65536, "the long call must reach the table")
        for i in long.indices where long[i].bitPattern != expected[i % gate.count].bitPattern {
            Issue.record("table, element \(i): \(long[i]) vs \(expected[i % gate.count])")
            return
        }
        for i in short.indices where short[i].bitPattern != expected[i].bitPattern {
            Issue.record("direct, element \(i): \(short[i]) vs \(expected[i])")
            return
        }
    }

    /// NaN inputs in a long call (the vector path hands each group of 8 holding one to the scalar loop) give NaN,
    /// and every other value keeps the bits of the direct evaluation, whatever its place around them.
    @Test func nanInputsLeaveTheOtherValuesExact() {
        var gate: [Float] = (0 ..< 70_003).map { Float($0 % 2001 - 1000) / 97 }
        for i in stride(from: 5, to: gate.count, by: 1013) { gate[i] = .nan }
        gate[gate.count - 1] = .nan
        let up = gate.indices.map { Float(1 + $0 % 7) * 0.5 }
        var long = gate, short = gate
        shard_gelu_mul(&long, up, Int64(long.count))
        for start in stride(from: 0, to: short.count, by: 1000) {
            let count = min(1000, short.count - start)
            short.withUnsafeMutableBufferPointer { g in
                up.withUnsafeBufferPointer { u in
                    shard_gelu_mul(g.baseAddress! + start, u.baseAddress! + start, Int64(count))
                }
            }
        }
        for i in gate.indices {
            if gate[i].isNaN {
                #expect(long[i].isNaN, "element \(i)")
            } else if long[i].bitPattern != short[i].bitPattern {
                Issue.record("element \(i): \(long[i]) vs \(short[i])")
                return
            }
        }
    }
}
