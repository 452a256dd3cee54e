import CShardKernels
import Foundation
import Testing
@testable import ShardEngine
import ShardTestSupport
import ShardTokenizers

/// Quantized weights read from GGUF files: typed errors for types without kernels, and, on the real model files
/// (`scripts/fetch-models.sh`; a missing one fails with that command), llama.cpp's dequantized values and products
/// that agree with the dequantized weights.
@Suite("Quantized weights in model files")
struct QuantizedModelFileTests {
    static let gemma = "gemma-3-270m-q4_k_m.gguf"
    static let smolLM = "SmolLM2-135M-Instruct.Q4_1.gguf"

    static func parse(_ writer: GGUFWriter) throws -> GGUFFile { try GGUFFile(path: try writer.write()) }

    /// Types that parse but have no kernel: the stage refuses them at load, naming the tensor and the type.
    @Test(arguments: [(GGMLType.q8_1, 36), (.iq4_nl, 18), (.mxfp4, 17), (.i8, 32), (.f64, 256)])
    func typesWithoutKernelsGiveTypedErrors(_ type: GGMLType, bytesPer32: Int) throws {
        var writer = GGUFWriter.tinyLlama()
        let index = try #require(writer.tensors.firstIndex { $0.name == "blk.1.ffn_gate.weight" })
        let dimensions = writer.tensors[index].dimensions
        writer.tensors[index] = .init(name: "blk.1.ffn_gate.weight", dimensions: dimensions, type: type.rawValue,
                                      data: Array(repeating: 0, count: Int(dimensions[0] * dimensions[1]) / 32 * bytesPer32))
        let file = try Self.parse(writer)
        #expect(throws: EngineError.unsupportedTensorType(name: "blk.1.ffn_gate.weight", type: type)) {
            try LlamaStage(model: file, layers: 0 ..< 2)
        }
    }

    @Test func unknownTypeCodeIsAnInvalidFile() throws {
        var writer = GGUFWriter.tinyLlama()
        let index = try #require(writer.tensors.firstIndex { $0.name == "blk.0.ffn_up.weight" })
        writer.tensors[index].type = 33  // a retired GGML type number
        #expect(throws: GGUFError.unknownTensorType(name: "blk.0.ffn_up.weight", code: 33)) {
            try Self.parse(writer)
        }
    }

    @Test func rowsThatAreNotWholeBlocksAreRejected() throws {
        var writer = GGUFWriter.tinyLlama()  // rows of 32 or 64 values: not a whole Q4_K block
        let index = try #require(writer.tensors.firstIndex { $0.name == "blk.0.ffn_up.weight" })
        writer.tensors[index] = .init(name: "blk.0.ffn_up.weight", dimensions: writer.tensors[index].dimensions,
                                      type: GGMLType.q4_K.rawValue, data: Array(repeating: 0, count: 144))
        #expect(throws: GGUFError.self) { try Self.parse(writer) }
    }

    /// Row 1 of one tensor of each type, dequantized by gguf-py (llama.cpp's Python package), at indices
    /// 0, 1, 17, 100, 255 and the last.
    static let golden: [(file: String, tensor: String, type: GGMLType, shape: [Int], values: [Float])] = [
        (gemma, "token_embd.weight", .q8_0, [640, 262_144],
         [0.022817611694335938, -0.06111860275268555, -0.008964061737060547, -0.05162811279296875,
          -0.017195701599121094, -0.01782083511352539]),
        (gemma, "blk.0.attn_k.weight", .q5_0, [640, 256],
         [0.0037994384765625, -0.007598876953125, -0.0303955078125, -0.023956298828125, -0.004791259765625,
          0.0265960693359375]),
        (gemma, "blk.0.attn_output.weight", .q4_K, [1024, 640],
         [0.029732823371887207, -0.10219860076904297, -0.00624847412109375, -0.012823820114135742,
          -0.03407883644104004, -0.008080482482910156]),
        (gemma, "blk.0.ffn_down.weight", .q6_K, [2048, 640],
         [-0.0033416748046875, -0.00835418701171875, 0.0367584228515625, -0.02485370635986328,
          0.022569358348846436, -0.0013571977615356445]),
        (smolLM, "token_embd.weight", .q8_0, [576, 49152],
         [-0.0238037109375, -0.015869140625, 0.79345703125, -0.40816307067871094, 0.0168609619140625,
          -0.12843704223632812]),
        (smolLM, "blk.0.ffn_down.weight", .q4_1, [1536, 576],
         [0.17236328125, -0.1959228515625, 0.0145263671875, -0.2470703125, 0.11077880859375, 0.01953125]),
    ]

    @Test(arguments: golden.indices)
    func realTensorsDequantizeAsLlamaCpp(_ index: Int) throws {
        let entry = Self.golden[index]
        let file = try GGUFFile(path: try RealModels.path(entry.file))
        #expect(file.tensorsByName[entry.tensor]?.type == entry.type)
        let matrix = try WeightMatrix(entry.tensor, rows: entry.shape[1], columns: entry.shape[0], gguf: file)
        var row = [Float](repeating: .nan, count: matrix.columns)
        matrix.copyRow(1, into: &row)
        let indices = [0, 1, 17, 100, 255, matrix.columns - 1]
        for (i, expected) in zip(indices, entry.values) {
            #expect(abs(row[i] - expected) <= 1e-7 * max(1, abs(expected)), "\(entry.tensor)[1][\(i)]")
        }
    }

    /// The engine's product with real weights agrees with the dequantized weights times the float activations,
    /// within the activation rounding (see `QuantizationKernelTests`), here bounded by 1% of sum |w x|.
    @Test(arguments: golden.indices)
    func realTensorsMultiplyLikeTheirDequantizedValues(_ index: Int) throws {
        let entry = Self.golden[index]
        let file = try GGUFFile(path: try RealModels.path(entry.file))
        let matrix = try WeightMatrix(entry.tensor, rows: entry.shape[1], columns: entry.shape[0], gguf: file)
        let rows = min(matrix.rows, 64), columns = matrix.columns, batch = 2
        let input = QuantTestData.activations(batch * columns, seed: 41)
        var output = [Float](repeating: .nan, count: batch * matrix.rows)
        let scratch = UnsafeMutableRawPointer.allocate(
            byteCount: WeightMatrix.activationScratchBytes(rows: batch, columns: columns), alignment: 64)
        defer { scratch.deallocate() }
        output.withUnsafeMutableBufferPointer { y in
            matrix.multiply(input, plan: RowPlan(sliceLengths: [1, 1]), into: y.baseAddress!, quantized: scratch)
        }
        var weights = [Float](repeating: 0, count: columns)
        for o in 0 ..< rows {
            matrix.copyRow(o, into: &weights)
            for b in 0 ..< batch {
                var exact = 0.0, magnitude = 0.0
                for i in 0 ..< columns {
                    let product = Double(weights[i]) * Double(input[b * columns + i])
                    exact += product
                    magnitude += abs(product)
                }
                let y = Double(output[b * matrix.rows + o])
                #expect(abs(y - exact) <= 0.01 * magnitude, "\(entry.tensor) row \(o): \(y) vs \(exact)")
            }
        }
    }
}
