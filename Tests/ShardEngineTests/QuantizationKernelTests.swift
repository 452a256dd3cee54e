import CShardKernels
import Testing
@testable import ShardEngine

/// The quantized-domain matrix products of every GGML weight type the engine reads: agreement with a
/// dequantize-then-float reference, identical bits on the AVX2 and portable paths, and batch invariance.
@Suite("Quantized weight kernels")
struct QuantizationKernelTests {
    static let columns = 768  // three 256-value blocks, 24 32-value blocks

    /// For every output element, compared with double-precision sums over the dequantized values:
    /// - dequantized weights . dequantized activations: the integer parts are exact, so only float rounding of the
    ///   per-block scaling remains: within 1e-6 of sum |w x|. Q4_1 and Q5_1 also use the activation block sums
    ///   s = d * sum(q), which Q8_1 stores in half precision (as llama.cpp does): add |m| * |s| * 2^-11 per block.
    /// - dequantized weights . the float activations: the activation rounding adds at most
    ///   |w| * (d / 2 + 127 * d * 2^-11) per value (d: the activation block's scale, itself rounded to half
    ///   precision in Q8_0 and Q8_1); the bound used is 0.6 * d * |w| per value, plus the float term above.
    @Test(arguments: QuantTestData.weightTypes)
    func productMatchesDequantizedReference(_ type: GGMLType) {
        let rows = 6, batch = 3, columns = Self.columns
        let activation = shard_activation_type(type.kernelCode)
        let weights = QuantTestData.randomWeights(type, rows: rows, columns: columns, seed: 11)
        let floats = QuantTestData.activations(batch * columns, seed: 12)
        let input = QuantTestData.quantize(floats, activation: activation, rows: batch, columns: columns)
        let output = QuantTestData.multiply(type, weights: weights, input: input, rows: rows, columns: columns,
                                            batch: batch)
        let actBlock = Int(shard_block_values(activation)), actRowBytes = QuantTestData.rowBytes(
            GGMLType(rawValue: UInt32(activation))!, columns)
        let actBlockBytes = GGMLType(rawValue: UInt32(activation))!.blockBytes
        for o in 0 ..< rows {
            let w = QuantTestData.dequantize(weights, code: type.kernelCode, row: o, columns: columns)
            for b in 0 ..< batch {
                let x = QuantTestData.dequantize(input, code: activation, row: b, columns: columns)
                var exact = 0.0, fromFloats = 0.0, magnitude = 0.0, halfSums = 0.0, activationRounding = 0.0
                for i in 0 ..< columns {
                    exact += Double(w[i]) * Double(x[i])
                    fromFloats += Double(w[i]) * Double(floats[b * columns + i])
                    magnitude += abs(Double(w[i]) * Double(x[i]))
                    let block = b * actRowBytes + i / actBlock * actBlockBytes
                    let d: Float = activation == Int32(SHARD_TYPE_Q8_K)
                        ? input.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: block, as: Float.self) }
                        : QuantTestData.half(input, at: block)
                    activationRounding += 0.6 * Double(abs(d)) * abs(Double(w[i]))
                }
                if type == .q4_1 || type == .q5_1 {
                    for k in 0 ..< columns / 32 {
                        let m = QuantTestData.half(weights, at: o * QuantTestData.rowBytes(type, columns)
                                                       + k * type.blockBytes + 2)
                        let s = QuantTestData.half(input, at: b * actRowBytes + k * actBlockBytes + 2)
                        halfSums += Double(abs(m * s)) / 2048
                    }
                }
                let y = Double(output[b * rows + o])
                let tight = 1e-6 * magnitude + halfSums
                #expect(abs(y - exact) <= tight, "\(type) row \(o) batch \(b): \(y) vs \(exact) (tolerance \(tight))")
                #expect(abs(y - fromFloats) <= tight + activationRounding,
                        "\(type) row \(o) batch \(b): \(y) vs float activations \(fromFloats)")
            }
        }
    }

    @Test(arguments: QuantTestData.weightTypes)
    func vectorAndPortablePathsGiveTheSameBits(_ type: GGMLType) {
        let rows = 9, batch = 5, columns = Self.columns
        let activation = shard_activation_type(type.kernelCode)
        let weights = QuantTestData.randomWeights(type, rows: rows, columns: columns, seed: 21)
        let input = QuantTestData.quantize(QuantTestData.activations(batch * columns, seed: 22),
                                           activation: activation, rows: batch, columns: columns)
        let vector = QuantTestData.multiply(type, weights: weights, input: input, rows: rows, columns: columns,
                                            batch: batch)
        let portable = QuantTestData.multiply(type, weights: weights, input: input, rows: rows, columns: columns,
                                              batch: batch, portable: true)
        #expect(vector.map(\.bitPattern) == portable.map(\.bitPattern), "\(type): \(vector) vs \(portable)")
        let finite = vector.allSatisfy { $0.isFinite }
        #expect(finite)
    }

    @Test(arguments: QuantTestData.weightTypes)
    func productIsBatchInvariant(_ type: GGMLType) {
        let rows = 37, maxBatch = 11, columns = 512
        let activation = shard_activation_type(type.kernelCode)
        let inputRowBytes = Int(shard_row_bytes(activation, Int64(columns)))
        let weights = QuantTestData.randomWeights(type, rows: rows, columns: columns, seed: 31)
        let input = QuantTestData.quantize(QuantTestData.activations(maxBatch * columns, seed: 32),
                                           activation: activation, rows: maxBatch, columns: columns)
        KernelInvarianceTests.check(rows: rows, batches: [1, 2, 3, 5, 8, 11]) { batch, first, y, range in
            weights.withUnsafeBytes { w in
                input.withUnsafeBytes { x in
                    shard_matmul_quantized(type.kernelCode, w.baseAddress!, Int64(columns),
                                           x.baseAddress! + first * inputRowBytes, Int64(batch), y, Int64(rows),
                                           Int64(range.lowerBound), Int64(range.upperBound))
                }
            }
        }
    }

    @Test func typeTablesAgreeWithTheGGUFReader() {
        for type in GGMLType.allCases {
            let code = type.kernelCode
            let supported = shard_weight_type_supported(code) == 1
            #expect(supported == QuantTestData.weightTypes.contains(type), "\(type)")
            if shard_dequantize_supported(code) == 1 {
                #expect(Int(shard_block_values(code)) == type.blockSize, "\(type)")
                #expect(Int(shard_row_bytes(code, Int64(type.blockSize * 3))) == type.blockBytes * 3, "\(type)")
                if type.blockSize > 1 { #expect(shard_row_bytes(code, Int64(type.blockSize + 1)) == -1, "\(type)") }
            } else {
                #expect(shard_row_bytes(code, 256) == -1, "\(type)")
                #expect(shard_activation_type(code) == -1, "\(type)")
            }
        }
        #expect(shard_activation_type(GGMLType.q4_0.kernelCode) == Int32(SHARD_TYPE_Q8_0))
        #expect(shard_activation_type(GGMLType.q5_1.kernelCode) == Int32(SHARD_TYPE_Q8_1))
        #expect(shard_activation_type(GGMLType.q6_K.kernelCode) == Int32(SHARD_TYPE_Q8_K))
        #expect(shard_activation_type(GGMLType.q8_K.kernelCode) == -1)
        #expect(shard_row_bytes(99, 32) == -1)
    }

    @Test func scratchHoldsEveryActivationFormat() {
        for columns in [32, 64, 288, 576, 640, 768, 1536, 2048] {
            for code in [Int32(SHARD_TYPE_Q8_0), Int32(SHARD_TYPE_Q8_1), Int32(SHARD_TYPE_Q8_K)] {
                let bytes = Int(shard_row_bytes(code, Int64(columns)))
                #expect(bytes <= WeightMatrix.activationScratchBytes(rows: 1, columns: columns))
                #expect(3 * bytes <= WeightMatrix.activationScratchBytes(rows: 3, columns: columns))
            }
        }
    }

    /// Q4_0 in llama.cpp's arithmetic on x86, where it repacks Q4_0 matrices to q4_0_8x8 (ggml_gemv/gemm_q4_0_8x8_q8_0):
    /// per block the exact integer sum of the 32 products, then one fma chain s = fma(sum, w.d * x.d, s). Another
    /// order (e.g. 8 float lanes, as ggml_vec_dot_q4_0_q8_0) differs in the last bits, and such a bit upstream of a
    /// Q8_0 activation quantization can flip a value that lies on a rounding midpoint: the logits then drift from
    /// llama.cpp's by tenths after a few layers (SmolLM2 Q4_0). Both paths, bit for bit.
    @Test func q4_0FollowsLlamaCppRepackedOrder() {
        let rows = 8, batch = 3, columns = Self.columns, blocks = columns / 32
        let weights = QuantTestData.randomWeights(.q4_0, rows: rows, columns: columns, seed: 41)
        let input = QuantTestData.quantize(QuantTestData.activations(batch * columns, seed: 42),
                                           activation: Int32(SHARD_TYPE_Q8_0), rows: batch, columns: columns)
        let wRow = QuantTestData.rowBytes(.q4_0, columns), xRow = blocks * 34
        for portable in [false, true] {
            let output = QuantTestData.multiply(.q4_0, weights: weights, input: input, rows: rows, columns: columns,
                                                batch: batch, portable: portable)
            for o in 0 ..< rows {
                for b in 0 ..< batch {
                    var s: Float = 0
                    for k in 0 ..< blocks {
                        let wb = o * wRow + k * 18, xb = b * xRow + k * 34
                        var sum: Int32 = 0
                        for j in 0 ..< 16 {
                            let byte = weights[wb + 2 + j]
                            sum += (Int32(byte & 0x0F) - 8) * Int32(Int8(bitPattern: input[xb + 2 + j]))
                            sum += (Int32(byte >> 4) - 8) * Int32(Int8(bitPattern: input[xb + 2 + 16 + j]))
                        }
                        let d = QuantTestData.half(weights, at: wb) * QuantTestData.half(input, at: xb)
                        s.addProduct(Float(sum), d)
                    }
                    #expect(output[b * rows + o].bitPattern == s.bitPattern,
                            "row \(o) batch \(b) portable \(portable): \(output[b * rows + o]) vs \(s)")
                }
            }
        }
    }

    /// Q8_1's s is d * sum(quants) with the unrounded d = max|x| / 127, as llama.cpp's quantize_row_q8_1 (not the
    /// half-precision d stored beside it), rounded to half precision.
    @Test func q8_1SumUsesTheUnroundedScale() {
        let values = QuantTestData.activations(32, seed: 43)
        let bytes = QuantTestData.quantize(values, activation: Int32(SHARD_TYPE_Q8_1), rows: 1, columns: 32)
        let amax = values.map(abs).max()!
        let sum = (0 ..< 32).reduce(0) { $0 + Int(Int8(bitPattern: bytes[4 + $1])) }
        let expected = Float(Float16(amax / 127 * Float(sum)))
        #expect(QuantTestData.half(bytes, at: 2).bitPattern == expected.bitPattern)
    }

    /// The AVX2 activation quantizers write the portable path's bytes: blocks whose largest magnitude occurs with
    /// both signs (the first wins), rounding ties, NaN and infinite values, zeros of both signs, tiny and huge
    /// scales, and arbitrary bit patterns.
    @Test(arguments: [GGMLType.q8_0, .q8_1, .q8_K])
    func activationQuantizationPathsWriteTheSameBytes(_ type: GGMLType) {
        let columns = 512
        var random = SeededRandom(seed: 71)
        for pattern in 0 ..< 9 {
            for _ in 0 ..< 40 {
                var values = QuantTestData.activations(columns, seed: random.next())
                for i in 0 ..< columns {
                    switch pattern {
                    case 1: values[i] *= 1e-30
                    case 2: values[i] *= 1e30
                    case 3: values[i] = Float(Int(values[i] * 40)) / 2  // halves: ties after scaling
                    case 4: if random.next() % 50 == 0 { values[i] = .nan }
                    case 5: if random.next() % 100 == 0 { values[i] = random.next() % 2 == 0 ? .infinity : -.infinity }
                    case 6: values[i] = random.next() % 3 == 0 ? 0 : -0.0
                    case 7: if random.next() % 20 == 0 { values[i] = random.next() % 2 == 0 ? 4 : -4 }
                    case 8: values[i] = Float(bitPattern: UInt32(truncatingIfNeeded: random.next()))
                    default: break
                    }
                }
                let bytes = QuantTestData.rowBytes(type, columns)
                var vector = [UInt8](repeating: 0xAB, count: bytes), portable = vector
                shard_quantize_activations(type.kernelCode, values, &vector, Int64(columns))
                shard_quantize_activations_portable(type.kernelCode, values, &portable, Int64(columns))
                #expect(vector == portable, "\(type) pattern \(pattern)")
            }
        }
    }

    @Test func q8KActivationsFollowLlamaCpp() {
        // The value of largest magnitude (here negative) becomes -127, d = that value / -127, and bsums are the
        // sums of each 16 quants.
        var values = [Float](repeating: 0, count: 256)
        for i in 0 ..< 256 { values[i] = Float(i % 16) - 7.5 }
        values[40] = -12.7
        let bytes = QuantTestData.quantize(values, activation: Int32(SHARD_TYPE_Q8_K), rows: 1, columns: 256)
        let d = bytes.withUnsafeBytes { $0.loadUnaligned(as: Float.self) }
        #expect(d == 1 / (-127 / -12.7 as Float))
        #expect(Int8(bitPattern: bytes[4 + 40]) == -127)
        #expect(Int8(bitPattern: bytes[4 + 0]) == -75)  // -7.5 * (-127 / -12.7)
        for g in 0 ..< 16 {
            let sum = (0 ..< 16).reduce(0) { $0 + Int(Int8(bitPattern: bytes[4 + 16 * g + $1])) }
            let stored = Int(Int16(bitPattern: UInt16(bytes[260 + 2 * g]) | UInt16(bytes[261 + 2 * g]) << 8))
            #expect(stored == sum)
        }
        // All zeros: d = 0 and zero quants.
        let zeros = QuantTestData.quantize([Float](repeating: 0, count: 256), activation: Int32(SHARD_TYPE_Q8_K),
                                           rows: 1, columns: 256)
        #expect(zeros.allSatisfy { $0 == 0 })
    }
}
