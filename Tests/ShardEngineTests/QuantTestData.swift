import CShardKernels
@testable import ShardEngine

/// Random GGML blocks with valid scales, activations quantized as the engine quantizes them, and dequantized
/// references, for the quantized-kernel tests.
enum QuantTestData {
    /// Every weight type the quantized kernels multiply.
    static let weightTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    /// Byte offsets of the half-precision factors of one block: scales (either sign) and mins (non-negative).
    static func halfFields(_ type: GGMLType) -> (scales: [Int], mins: [Int]) {
        switch type {
        case .q4_0, .q5_0, .q8_0: ([0], [])
        case .q4_1, .q5_1: ([0], [2])
        case .q2_K: ([80], [82])
        case .q3_K: ([108], [])
        case .q4_K, .q5_K: ([0], [2])
        case .q6_K: ([208], [])
        default: ([], [])
        }
    }

    static func rowBytes(_ type: GGMLType, _ columns: Int) -> Int {
        Int(shard_row_bytes(type.kernelCode, Int64(columns)))
    }

    /// `rows` rows of random blocks of `type`: random quant bytes, scales of magnitude up to 0.01.
    static func randomWeights(_ type: GGMLType, rows: Int, columns: Int, seed: UInt64) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        var bytes = (0 ..< rows * rowBytes(type, columns)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let fields = halfFields(type)
        for block in 0 ..< rows * columns / type.blockSize {
            let base = block * type.blockBytes
            for offset in fields.scales { store(half: (random.uniform() * 2 - 1) * 0.01, at: base + offset, in: &bytes) }
            for offset in fields.mins { store(half: random.uniform() * 0.01, at: base + offset, in: &bytes) }
        }
        return bytes
    }

    static func store(half value: Float, at offset: Int, in bytes: inout [UInt8]) {
        let bits = shard_f32_to_f16(value)
        bytes[offset] = UInt8(bits & 0xFF)
        bytes[offset + 1] = UInt8(bits >> 8)
    }

    static func half(_ bytes: [UInt8], at offset: Int) -> Float {
        shard_f16_to_f32(UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8)
    }

    /// Random activations in [-3, 3).
    static func activations(_ count: Int, seed: UInt64) -> [Float] {
        var random = SeededRandom(seed: seed)
        return (0 ..< count).map { _ in (random.uniform() * 2 - 1) * 3 }
    }

    /// `rows` rows of `values` quantized to activation type `code`.
    static func quantize(_ values: [Float], activation code: Int32, rows: Int, columns: Int) -> [UInt8] {
        let rowBytes = Int(shard_row_bytes(code, Int64(columns)))
        var bytes = [UInt8](repeating: 0, count: rows * rowBytes)
        bytes.withUnsafeMutableBytes { out in
            for r in 0 ..< rows {
                shard_quantize_activations(code, Array(values[r * columns ..< (r + 1) * columns]),
                                           out.baseAddress! + r * rowBytes, Int64(columns))
            }
        }
        return bytes
    }

    /// Row `row` of `bytes` (rows of type `code`) as floats.
    static func dequantize(_ bytes: [UInt8], code: Int32, row: Int, columns: Int) -> [Float] {
        let rowBytes = Int(shard_row_bytes(code, Int64(columns)))
        var out = [Float](repeating: .nan, count: columns)
        bytes.withUnsafeBytes { shard_dequantize_row(code, $0.baseAddress! + row * rowBytes, &out, Int64(columns)) }
        return out
    }

    /// Y = W X on either path; `rows` weight rows, `batch` activation rows.
    static func multiply(_ type: GGMLType, weights: [UInt8], input: [UInt8], rows: Int, columns: Int, batch: Int,
                         portable: Bool = false) -> [Float] {
        var output = [Float](repeating: .nan, count: rows * batch)
        weights.withUnsafeBytes { w in
            input.withUnsafeBytes { x in
                output.withUnsafeMutableBufferPointer { y in
                    let kernel = portable ? shard_matmul_quantized_portable : shard_matmul_quantized
                    kernel(type.kernelCode, w.baseAddress!, Int64(columns), x.baseAddress!, Int64(batch),
                           y.baseAddress!, Int64(rows), 0, Int64(rows))
                }
            }
        }
        return output
    }
}
