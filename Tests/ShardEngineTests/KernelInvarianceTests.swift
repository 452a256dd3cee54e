import CShardKernels
import Testing

/// The C matrix kernels must give every output element the same bits whatever the batch size, the position of
/// the row in the batch, and the output-row range (tile) a call covers.
@Suite("Matrix kernel batch invariance")
struct KernelInvarianceTests {
    /// Deterministic values in [-1, 1).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0 ..< count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Float(state >> 40) / Float(1 << 23) - 1
        }
    }

    /// Splits of `0 ..< rows` into row ranges: one call, an uneven split, and one row per call.
    static func splits(_ rows: Int) -> [[Range<Int>]] {
        [[0 ..< rows], [0 ..< 5, 5 ..< 6, 6 ..< rows], (0 ..< rows).map { $0 ..< $0 + 1 }]
    }

    typealias Kernel = (_ batch: Int, _ inputRow: Int, _ output: UnsafeMutablePointer<Float>, _ rows: Range<Int>) -> Void

    /// Runs `kernel` for every batch size and split and checks each element equals the batch-1, whole-range value.
    static func check(rows: Int, batches: [Int], kernel: Kernel) {
        // Reference: each input row alone, all output rows in one call.
        let maxBatch = batches.max()!
        var reference = [Float](repeating: 0, count: maxBatch * rows)
        for b in 0 ..< maxBatch {
            reference.withUnsafeMutableBufferPointer { kernel(1, b, $0.baseAddress! + b * rows, 0 ..< rows) }
        }
        for batch in batches {
            for split in splits(rows) {
                var output = [Float](repeating: .nan, count: batch * rows)
                output.withUnsafeMutableBufferPointer { y in
                    for range in split { kernel(batch, 0, y.baseAddress!, range) }
                }
                for i in 0 ..< batch * rows where output[i].bitPattern != reference[i].bitPattern {
                    Issue.record("batch \(batch), split \(split): element \(i) is \(output[i]), alone \(reference[i])")
                    return
                }
            }
        }
    }

    @Test(arguments: [1024, 1027, 8, 5])
    func f32IsBatchInvariant(columns: Int) {
        let rows = 37, maxBatch = 11
        let weights = Self.values(rows * columns, seed: 1)
        let input = Self.values(maxBatch * columns, seed: 2)
        Self.check(rows: rows, batches: [1, 2, 3, 4, 5, 7, 8, 9, 11]) { batch, first, y, range in
            weights.withUnsafeBufferPointer { w in
                input.withUnsafeBufferPointer { x in
                    shard_matmul_f32(w.baseAddress!, Int64(columns), x.baseAddress! + first * columns, Int64(batch),
                                     y, Int64(rows), Int64(range.lowerBound), Int64(range.upperBound))
                }
            }
        }
        // And the values are right: compare one element with a double-precision dot product.
        var y: Float = 0
        weights.withUnsafeBufferPointer { w in
            input.withUnsafeBufferPointer { x in
                shard_matmul_f32(w.baseAddress! + 3 * columns, Int64(columns), x.baseAddress!, 1, &y, 1, 0, 1)
            }
        }
        let exact = (0 ..< columns).reduce(0.0) { $0 + Double(weights[3 * columns + $1]) * Double(input[$1]) }
        #expect(abs(Double(y) - exact) <= 1e-4 * Double(columns).squareRoot())
    }

    @Test(arguments: [1024, 352, 32])
    func q8_0IsBatchInvariant(columns: Int) {
        let rows = 37, maxBatch = 11
        let rowBytes = columns / 32 * 34
        let weightValues = Self.values(rows * columns, seed: 3)
        let inputValues = Self.values(maxBatch * columns, seed: 4).map { $0 * 3 }
        var weights = [UInt8](repeating: 0, count: rows * rowBytes)
        var input = [UInt8](repeating: 0, count: maxBatch * rowBytes)
        weights.withUnsafeMutableBytes { shard_quantize_row_q8_0(weightValues, $0.baseAddress!, Int64(rows * columns)) }
        input.withUnsafeMutableBytes { shard_quantize_row_q8_0(inputValues, $0.baseAddress!, Int64(maxBatch * columns)) }
        Self.check(rows: rows, batches: [1, 2, 3, 4, 5, 7, 8, 9, 11]) { batch, first, y, range in
            weights.withUnsafeBytes { w in
                input.withUnsafeBytes { x in
                    shard_matmul_q8_0(w.baseAddress!, Int64(columns), x.baseAddress! + first * rowBytes,
                                      Int64(batch), y, Int64(rows), Int64(range.lowerBound), Int64(range.upperBound))
                }
            }
        }
        // And the values are right: compare one element with the dequantized dot product.
        var y: Float = 0
        var w = [Float](repeating: 0, count: columns), x = [Float](repeating: 0, count: columns)
        weights.withUnsafeBytes { shard_dequantize_row_q8_0($0.baseAddress! + 3 * rowBytes, &w, Int64(columns)) }
        input.withUnsafeBytes { shard_dequantize_row_q8_0($0.baseAddress!, &x, Int64(columns)) }
        weights.withUnsafeBytes { wp in
            input.withUnsafeBytes { xp in
                shard_matmul_q8_0(wp.baseAddress! + 3 * rowBytes, Int64(columns), xp.baseAddress!, 1, &y, 1, 0, 1)
            }
        }
        let exact = (0 ..< columns).reduce(0.0) { $0 + Double(w[$1]) * Double(x[$1]) }
        #expect(abs(Double(y) - exact) <= 1e-4 * Double(columns).squareRoot())
    }
}
