import CShardKernels
import Foundation
@testable import ShardEngine
import ShardTestSupport
import Testing

/// Our quantized dot products against llama.cpp's own, bit for bit: `Fixtures/reference/kernel-dot-products.json`
/// (`scripts/reference/make_kernel_references.py`) holds random weight rows of each type that llama.cpp's x86
/// backend multiplies with ggml_vec_dot_*_q8_* (Q4_1, Q5_0, Q5_1, Q8_0, Q3_K, Q5_K, Q6_K), float activations,
/// llama.cpp's quantization of them, and its products. The types it repacks (Q4_0, Q4_K, Q2_K) are checked against
/// the repacked kernels' formula in `QuantizationKernelTests`.
@Suite("Dot products equal llama.cpp's")
struct LlamaCppKernelReferenceTests {
    struct Reference: Decodable {
        var rows: Int
        var batch: Int
        var columns: Int
        /// Base64 of `batch` rows of `columns` little-endian float32 values.
        var activations: String
        var cases: [Case]
    }

    struct Case: Decodable {
        var type: String
        var ggmlType: UInt32
        var function: String
        /// Base64 of `rows` weight rows.
        var weights: String
        /// Base64 of llama.cpp's quantization of the activations (Q8_0, Q8_1 or Q8_K rows).
        var quantizedActivations: String
        /// `productBits[b][r]`: activation row b times weight row r, as float32 bits.
        var productBits: [[UInt32]]
    }

    static func load() throws -> Reference {
        let url = GenerationReference.directory.appendingPathComponent("kernel-dot-products.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Reference.self, from: Data(contentsOf: url))
    }

    static func bytes(_ base64: String) throws -> [UInt8] {
        try [UInt8](#require(Data(base64Encoded: base64)))
    }

    @Test func everyVecDotTypeIsCovered() throws {
        let covered = Set(try Self.load().cases.map(\.type))
        #expect(covered == ["q4_1", "q5_0", "q5_1", "q8_0", "q3_K", "q5_K", "q6_K"])
    }

    @Test func activationsQuantizeAsLlamaCpp() throws {
        let reference = try Self.load()
        let floats = try Self.bytes(reference.activations).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        for item in reference.cases {
            let type = try #require(GGMLType(rawValue: item.ggmlType))
            let ours = QuantTestData.quantize(floats, activation: shard_activation_type(type.kernelCode),
                                              rows: reference.batch, columns: reference.columns)
            #expect(ours == (try Self.bytes(item.quantizedActivations)), "\(item.type)")
        }
    }

    @Test func productsAreLlamaCppsBitForBit() throws {
        let reference = try Self.load()
        for item in reference.cases {
            let type = try #require(GGMLType(rawValue: item.ggmlType))
            let weights = try Self.bytes(item.weights), input = try Self.bytes(item.quantizedActivations)
            for portable in [false, true] {
                let output = QuantTestData.multiply(type, weights: weights, input: input, rows: reference.rows,
                                                    columns: reference.columns, batch: reference.batch,
                                                    portable: portable)
                for b in 0 ..< reference.batch {
                    for r in 0 ..< reference.rows {
                        let ours = output[b * reference.rows + r], theirs = Float(bitPattern: item.productBits[b][r])
                        #expect(ours.bitPattern == theirs.bitPattern, """
                            \(item.type) row \(r) activation \(b) portable \(portable): \(ours), \
                            \(item.function) \(theirs)
                            """)
                    }
                }
            }
        }
    }
}
