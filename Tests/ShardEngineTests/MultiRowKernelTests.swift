import CShardKernels
import Testing
@testable import ShardEngine

/// The multi-row kernels (one weight row against groups of up to 8 activation rows, the weight blocks unpacked once
/// per group; AVX2, and AVX-512 VNNI, with groups of 16 rows, where the machine has it) and the vector attention give every element the bits
/// of the one-row computation and of the portable path. On a machine without AVX2 every side runs the portable path.
@Suite("Multi-row kernels")
struct MultiRowKernelTests {
    /// Every batch size from 1 to 19 (VNNI groups of 16, groups of 8, remainders of 3 ... 7 and of 1 or 2), an odd number of weight
    /// rows, a range that starts inside the matrix, and activation rows that start at an odd row of the buffer; rows
    /// of 24 and of 72 32-value blocks (more than the VNNI kernel prepares on its stack).
    @Test(arguments: QuantTestData.weightTypes, [768, 2304])
    func everyBatchSizeGivesTheBitsOfOneRowAtATime(_ type: GGMLType, columns: Int) {
        let rows = 13, maxBatch = 19, offset = 3
        let activation = shard_activation_type(type.kernelCode)
        let inputRowBytes = Int(shard_row_bytes(activation, Int64(columns)))
        let weights = QuantTestData.randomWeights(type, rows: rows, columns: columns, seed: 51)
        let input = QuantTestData.quantize(QuantTestData.activations((maxBatch + offset) * columns, seed: 52),
                                           activation: activation, rows: maxBatch + offset, columns: columns)
        enum Path { case best, avx2, portable }
        func multiply(first: Int, batch: Int, rowRange: Range<Int>, path: Path = .best) -> [Float] {
            var output = [Float](repeating: .nan, count: batch * rows)
            weights.withUnsafeBytes { w in
                input.withUnsafeBytes { x in
                    output.withUnsafeMutableBufferPointer { y in
                        let kernel = switch path {
                        case .best: shard_matmul_quantized
                        case .avx2: shard_matmul_quantized_avx2
                        case .portable: shard_matmul_quantized_portable
                        }
                        kernel(type.kernelCode, w.baseAddress!, Int64(columns),
                               x.baseAddress! + first * inputRowBytes, Int64(batch), y.baseAddress!, Int64(rows),
                               Int64(rowRange.lowerBound), Int64(rowRange.upperBound))
                    }
                }
            }
            return output
        }
        let alone = (0 ..< maxBatch).map { multiply(first: offset + $0, batch: 1, rowRange: 0 ..< rows) }
        for batch in 1 ... maxBatch {
            let together = multiply(first: offset, batch: batch, rowRange: 2 ..< rows)
            let avx2 = multiply(first: offset, batch: batch, rowRange: 2 ..< rows, path: .avx2)
            let portable = multiply(first: offset, batch: batch, rowRange: 2 ..< rows, path: .portable)
            for b in 0 ..< batch {
                for o in 2 ..< rows {
                    let value = together[b * rows + o]
                    #expect(value.bitPattern == alone[b][o].bitPattern,
                            "\(type) batch \(batch) row \(b) output \(o): \(value) alone \(alone[b][o])")
                    #expect(value.bitPattern == avx2[b * rows + o].bitPattern,
                            "\(type) batch \(batch) row \(b) output \(o): \(value) AVX2 \(avx2[b * rows + o])")
                    #expect(value.bitPattern == portable[b * rows + o].bitPattern,
                            "\(type) batch \(batch) row \(b) output \(o): \(value) portable \(portable[b * rows + o])")
                    #expect(value.isFinite)
                }
                #expect(together[b * rows].isNaN && together[b * rows + 1].isNaN, "rows outside the range written")
            }
        }
    }

    /// Head dimensions of the real models (64, 256) and others (8, 40, 72, 128, not all multiples of 64), windows
    /// that start anywhere, more cells than the 64 accumulator slots, and grouped-query heads.
    @Test(arguments: [8, 40, 64, 72, 128, 256])
    func vectorAttentionGivesThePortableBits(headDim: Int) {
        let heads = 6, kvHeads = 2, cells = 150
        let query = KernelInvarianceTests.values(heads * headDim, seed: 61).map { $0 * 3 }
        let keys = KernelInvarianceTests.values(cells * kvHeads * headDim, seed: 62).map { $0 * 2 }
        let values = KernelInvarianceTests.values(cells * kvHeads * headDim, seed: 63)
        var scores = [Float](repeating: 0, count: cells)
        var vector = [Float](repeating: 0, count: heads * headDim), portable = vector
        for last in stride(from: 0, to: cells, by: 13) {
            for first in Set([0, last / 2, max(0, last - 63), max(0, last - 64), last]) {
                for (kernel, out) in [(shard_attention_range, 0), (shard_attention_range_portable, 1)] {
                    var output = [Float](repeating: .nan, count: heads * headDim)
                    kernel(query, keys, values, Int64(first), Int64(last), Int64(heads), Int64(kvHeads),
                           Int64(headDim), 0.125, &scores, &output)
                    if out == 0 { vector = output } else { portable = output }
                }
                #expect(vector.map(\.bitPattern) == portable.map(\.bitPattern),
                        "head dim \(headDim), cells \(first) ... \(last)")
                let finite = vector.allSatisfy { $0.isFinite }
                #expect(finite)
            }
        }
    }

    /// `shard_rmsnorm_rows` (several rows' sums interleaved) gives each row the bits of `shard_rmsnorm` on that row
    /// alone, in place and not, for every row count up to 19 (groups of 8 and the rest).
    @Test(arguments: [7, 64, 640])
    func rmsnormRowsGiveTheBitsOfOneRowAtATime(count: Int) {
        let weight = KernelInvarianceTests.values(count, seed: 81).map { 1 + $0 }
        for rows in 1 ... 19 {
            let x = KernelInvarianceTests.values(rows * count, seed: UInt64(82 + rows)).map { $0 * 40 }
            var alone = [Float](repeating: 0, count: rows * count)
            for r in 0 ..< rows {
                alone.withUnsafeMutableBufferPointer { y in
                    x.withUnsafeBufferPointer { x in
                        shard_rmsnorm(x.baseAddress! + r * count, weight, y.baseAddress! + r * count, Int64(count),
                                      1e-6)
                    }
                }
            }
            var together = [Float](repeating: .nan, count: rows * count), inPlace = x
            shard_rmsnorm_rows(x, weight, &together, Int64(rows), Int64(count), 1e-6)
            inPlace.withUnsafeMutableBufferPointer { shard_rmsnorm_rows($0.baseAddress!, weight, $0.baseAddress!,
                                                                        Int64(rows), Int64(count), 1e-6) }
            #expect(together.map(\.bitPattern) == alone.map(\.bitPattern), "\(rows) rows of \(count)")
            #expect(inPlace.map(\.bitPattern) == alone.map(\.bitPattern), "\(rows) rows of \(count), in place")
        }
    }
}
