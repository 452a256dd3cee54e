import CShardKernels
import Testing
@testable import ShardEngine

/// Dequantization of hand-built blocks whose values follow from llama.cpp's block layouts (ggml-common.h).
@Suite("Quantized block layouts")
struct QuantizedBlockLayoutTests {
    static func halfBytes(_ value: Float) -> [UInt8] {
        let bits = shard_f32_to_f16(value)
        return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
    }

    static func dequantize(_ type: GGMLType, _ block: [UInt8]) -> [Float] {
        #expect(block.count == type.blockBytes, "\(type) block has \(block.count) bytes")
        return QuantTestData.dequantize(block, code: type.kernelCode, row: 0, columns: type.blockSize)
    }

    /// Nibble bytes whose low nibble is j and high nibble 15 - j: values 0..15 are j, values 16..31 are 15 - j.
    static let nibbles: [UInt8] = (0 ..< 16).map { UInt8($0 | (15 - $0) << 4) }
    static func nibble(_ i: Int) -> Int { i < 16 ? i : 31 - i }

    @Test func q4_0AndQ4_1() {
        let q40 = Self.dequantize(.q4_0, Self.halfBytes(0.5) + Self.nibbles)
        #expect(q40 == (0 ..< 32).map { Float(Self.nibble($0) - 8) * 0.5 })
        let q41 = Self.dequantize(.q4_1, Self.halfBytes(0.25) + Self.halfBytes(-1) + Self.nibbles)
        #expect(q41 == (0 ..< 32).map { Float(Self.nibble($0)) * 0.25 - 1 })
    }

    @Test func q5_0AndQ5_1() {
        // qh = 0xAAAAAAAA: the fifth bit is set on odd values.
        let qh: [UInt8] = [0xAA, 0xAA, 0xAA, 0xAA]
        let fifth = { (i: Int) in i % 2 == 1 ? 16 : 0 }
        let q50 = Self.dequantize(.q5_0, Self.halfBytes(1) + qh + Self.nibbles)
        #expect(q50 == (0 ..< 32).map { Float(Self.nibble($0) + fifth($0) - 16) })
        let q51 = Self.dequantize(.q5_1, Self.halfBytes(2) + Self.halfBytes(0.5) + qh + Self.nibbles)
        #expect(q51 == (0 ..< 32).map { Float(Self.nibble($0) + fifth($0)) * 2 + 0.5 })
    }

    @Test func q8_0() {
        let q80 = Self.dequantize(.q8_0, Self.halfBytes(2) + (0 ..< 32).map { UInt8(bitPattern: Int8($0 - 16)) })
        #expect(q80 == (0 ..< 32).map { Float($0 - 16) * 2 })
    }

    @Test func q2_K() {
        // Every group: scale 1, min 2; quant bytes 0b11_10_01_00, so values 32s ..< 32s + 32 of each half are s.
        // x = d * 1 * s - dmin * 2 with d = 1, dmin = 0.5.
        let block = [UInt8](repeating: 0x21, count: 16) + [UInt8](repeating: 0xE4, count: 64)
            + Self.halfBytes(1) + Self.halfBytes(0.5)
        #expect(Self.dequantize(.q2_K, block) == (0 ..< 256).map { Float($0 % 128 / 32) - 1 })
    }

    @Test func q3_K() {
        // hmask 0x0F: bits 0-3 set, so the first half has no -4 offset and the second half has it.
        // Scales all 33 (6 bits 0b10_0001, stored low nibbles 1 and high bits 2): 33 - 32 = 1. d = 0.5.
        let block = [UInt8](repeating: 0x0F, count: 32) + [UInt8](repeating: 0xE4, count: 64)
            + [UInt8](repeating: 0x11, count: 8) + [UInt8](repeating: 0xAA, count: 4) + Self.halfBytes(0.5)
        let expected: [Float] = (0 ..< 256).map { i in
            let offset = i < 128 ? 0 : 4
            return Float(i % 128 / 32 - offset) * 0.5
        }
        #expect(Self.dequantize(.q3_K, block) == expected)
    }

    /// Q4_K/Q5_K scales: sub-blocks 0-3 scale 2 min 1, sub-blocks 4-7 scale 3 min 4 (6-bit packing of 12 bytes).
    static let kScales: [UInt8] = [2, 2, 2, 2, 1, 1, 1, 1, 0x43, 0x43, 0x43, 0x43]
    static func kScale(_ subBlock: Int) -> (scale: Float, min: Float) { subBlock < 4 ? (2, 1) : (3, 4) }

    @Test func q4_KAndQ5_K() {
        // Quant bytes 0x53: values of even sub-blocks are 3, of odd sub-blocks 5. d = 1, dmin = 0.25.
        let quants = [UInt8](repeating: 0x53, count: 128)
        let q4 = Self.dequantize(.q4_K, Self.halfBytes(1) + Self.halfBytes(0.25) + Self.kScales + quants)
        #expect(q4 == (0 ..< 256).map { i in
            let (scale, min) = Self.kScale(i / 32)
            return scale * Float(i / 32 % 2 == 0 ? 3 : 5) - 0.25 * min
        })
        // qh 0x01: the fifth bit is set in sub-block 0 only.
        let qh = [UInt8](repeating: 0x01, count: 32)
        let q5 = Self.dequantize(.q5_K, Self.halfBytes(1) + Self.halfBytes(0.25) + Self.kScales + qh + quants)
        #expect(q5 == (0 ..< 256).map { i in
            let (scale, min) = Self.kScale(i / 32)
            return scale * Float((i / 32 % 2 == 0 ? 3 : 5) + (i < 32 ? 16 : 0)) - 0.25 * min
        })
    }

    @Test func q6_K() {
        // ql 0x21: low nibbles 1, high nibbles 2; qh 0b00_01_10_11: top bits 3, 2, 1, 0 for the four 32-value
        // quarters of each half. Quarters: (1 | 3 << 4) - 32 = 17, (1 | 2 << 4) - 32 = 1, (2 | 1 << 4) - 32 = -14,
        // 2 - 32 = -30. Scales 2 except the last group, -1. d = 0.5.
        let scales = [UInt8](repeating: 2, count: 15) + [UInt8(bitPattern: -1)]
        let block = [UInt8](repeating: 0x21, count: 128) + [UInt8](repeating: 0x1B, count: 64) + scales
            + Self.halfBytes(0.5)
        let quarters: [Float] = [17, 1, -14, -30]
        let expected: [Float] = (0 ..< 256).map { i in
            let scale: Float = i >= 240 ? -1 : 2
            return 0.5 * scale * quarters[i % 128 / 32]
        }
        #expect(Self.dequantize(.q6_K, block) == expected)
    }

    @Test func f16AndBF16() {
        let f16: [UInt8] = [0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00]  // 1, -2, the smallest subnormal
        #expect(QuantTestData.dequantize(f16, code: GGMLType.f16.kernelCode, row: 0, columns: 3) == [1, -2, 0x1p-24])
        let bf16: [UInt8] = [0x80, 0x3F, 0x40, 0xC0]  // 1, -3
        #expect(QuantTestData.dequantize(bf16, code: GGMLType.bf16.kernelCode, row: 0, columns: 2) == [1, -3])
    }
}
