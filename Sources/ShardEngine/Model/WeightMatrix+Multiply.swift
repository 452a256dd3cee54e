import COpenBLAS
import CShardKernels

/// How the rows of one batch are grouped for matrix products.
///
/// Each slice's rows go through the same code path whatever else is in the batch: long prefill slices use
/// OpenBLAS `sgemm` on their own; short slices (decode steps) use the batch-invariant kernels together.
/// That keeps every sequence's numbers identical alone or batched, which makes sampling deterministic.
struct RowPlan: Sendable {
    struct Segment: Sendable {
        var rows: Range<Int>
        var usesBLAS: Bool
    }

    /// Slices with at least this many rows are multiplied with `sgemm`.
    static let blasMinimumRows = 16

    let segments: [Segment]
    let rowCount: Int

    init(sliceLengths: [Int]) {
        var segments: [Segment] = []
        var start = 0
        for length in sliceLengths {
            let range = start ..< start + length
            let blas = length >= Self.blasMinimumRows
            if !blas, let last = segments.last, !last.usesBLAS, last.rows.upperBound == start {
                segments[segments.count - 1].rows = last.rows.lowerBound ..< range.upperBound
            } else {
                segments.append(Segment(rows: range, usesBLAS: blas))
            }
            start += length
        }
        self.segments = segments
        self.rowCount = start
    }
}

extension WeightMatrix {
    /// Bytes of scratch `multiply` needs for `rows` input rows of `columns` values, enough for the largest
    /// activation format any weight type uses (Q8_K: 292 bytes per 256 values, with `columns` rounded up to a
    /// whole block; Q8_0 and Q8_1 take less).
    static func activationScratchBytes(rows: Int, columns: Int) -> Int {
        rows * ((columns + 255) / 256) * 292
    }

    /// `output[r * rows + o] = dot(self[o], input[r * columns ...])` for every row `r` of `plan`.
    ///
    /// `quantized` is scratch for the quantized activations, at least
    /// `activationScratchBytes(rows: plan.rowCount, columns: columns)` bytes.
    func multiply(_ input: UnsafePointer<Float>, plan: RowPlan, into output: UnsafeMutablePointer<Float>,
                  quantized: UnsafeMutableRawPointer) {
        let (rows, columns) = (self.rows, self.columns)
        switch storage {
        case let .quantized(type, weights):
            // Each weight type is multiplied against the activation format llama.cpp pairs it with
            // (Q8_0, Q8_1 or Q8_K); the load checked that `columns` is a whole number of blocks of both.
            let code = type.kernelCode
            let activation = shard_activation_type(code)
            let inputRowBytes = Int(shard_row_bytes(activation, Int64(columns)))
            for r in 0 ..< plan.rowCount {
                shard_quantize_activations(activation, input + r * columns, quantized + r * inputRowBytes,
                                           Int64(columns))
            }
            Parallel.forEachChunk(count: rows, work: rows * columns * plan.rowCount) { chunk in
                shard_matmul_quantized(code, weights, Int64(columns), quantized, Int64(plan.rowCount), output,
                                       Int64(rows), Int64(chunk.lowerBound), Int64(chunk.upperBound))
            }
        case let .f32(weights):
            for segment in plan.segments {
                let x = input + segment.rows.lowerBound * columns
                let y = output + segment.rows.lowerBound * rows
                let batch = segment.rows.count
                Parallel.forEachChunk(count: rows, work: rows * columns * batch) { chunk in
                    if segment.usesBLAS {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(chunk.count),
                                    Int32(columns), 1, x, Int32(columns), weights + chunk.lowerBound * columns,
                                    Int32(columns), 0, y + chunk.lowerBound, Int32(rows))
                    } else {
                        shard_matmul_f32(weights, Int64(columns), x, Int64(batch), y, Int64(rows),
                                         Int64(chunk.lowerBound), Int64(chunk.upperBound))
                    }
                }
            }
        }
    }
}
