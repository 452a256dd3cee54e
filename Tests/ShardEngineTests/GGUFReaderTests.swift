import Foundation
import Testing
@testable import ShardEngine

@Suite("GGUF reader")
struct GGUFReaderTests {
    static func parse(_ writer: GGUFWriter) throws -> GGUFFile { try GGUFFile(path: try writer.write()) }
    static func parse(bytes: [UInt8]) throws -> GGUFFile {
        try GGUFFile(path: try GGUFWriterFile.write(bytes))
    }

    @Test func readsMetadataTensorsAndHyperparameters() throws {
        let file = try Self.parse(GGUFWriter.tinyLlama())
        #expect(file.version == 3)
        #expect(file.metadata["general.architecture"] == .string("llama"))
        #expect(file.tensorsByName["blk.1.attn_k.weight"]?.dimensions == [32, 16])
        #expect(file.tensorsByName["token_embd.weight"]?.type == .f32)
        let hyper = try LlamaHyperparameters(gguf: file)
        #expect(hyper.blockCount == 2)
        #expect(hyper.headCountKV == 2)
        #expect(hyper.headDimension == 8)
        #expect(hyper.ropeDimensionCount == 8)
        #expect(hyper.vocabularySize == 40)
        #expect(hyper.contextLength == 64)
    }

    @Test func readsVersion2() throws {
        var writer = GGUFWriter.tinyLlama()
        writer.version = 2
        #expect(try Self.parse(writer).version == 2)
    }

    @Test func rejectsBadMagicAndVersions() throws {
        var writer = GGUFWriter.tinyLlama()
        writer.magic = Array("GGML".utf8)
        #expect(throws: GGUFError.badMagic) { try Self.parse(writer) }
        writer = GGUFWriter.tinyLlama()
        writer.version = 1
        #expect(throws: GGUFError.unsupportedVersion(1)) { try Self.parse(writer) }
        writer.version = 99
        #expect(throws: GGUFError.unsupportedVersion(99)) { try Self.parse(writer) }
    }

    @Test func rejectsEveryTruncation() throws {
        let bytes = GGUFWriter.tinyLlama().bytes()
        // Every prefix up to the end of the tensor directory, then a spread of prefixes into the data.
        let directoryEnd = try #require(try Self.parse(bytes: bytes).tensors.first?.fileOffset)
        let cuts = Array(0 ..< directoryEnd) + stride(from: directoryEnd, to: bytes.count, by: 97)
        for cut in cuts {
            #expect(throws: GGUFError.self, "prefix of \(cut) bytes") { try Self.parse(bytes: Array(bytes.prefix(cut))) }
        }
    }

    @Test func rejectsAbsurdCounts() throws {
        var writer = GGUFWriter.tinyLlama()
        writer.tensorCountOverride = UInt64.max
        #expect { try Self.parse(writer) } throws: { error in
            guard case .absurdValue = error as? GGUFError else { return false }
            return true
        }
        writer = GGUFWriter.tinyLlama()
        writer.metadata.append(("huge.string", .raw(type: 8, payload: withUnsafeBytes(of: UInt64(1) << 60) { Array($0) })))
        #expect { try Self.parse(writer) } throws: { error in
            guard case .absurdValue = error as? GGUFError else { return false }
            return true
        }
        writer = GGUFWriter.tinyLlama()
        var arrayHeader = withUnsafeBytes(of: UInt32(4)) { Array($0) }
        arrayHeader += withUnsafeBytes(of: UInt64(1) << 40) { Array($0) }
        writer.metadata.append(("huge.array", .raw(type: 9, payload: arrayHeader)))
        #expect(throws: GGUFError.self) { try Self.parse(writer) }
    }

    @Test func rejectsUnknownTypes() throws {
        var writer = GGUFWriter.tinyLlama()
        writer.metadata.append(("odd", .raw(type: 99, payload: [0, 0, 0, 0])))
        #expect(throws: GGUFError.unknownValueType(99)) { try Self.parse(writer) }
        writer = GGUFWriter.tinyLlama()
        writer.tensors[0].type = 77
        #expect(throws: GGUFError.unknownTensorType(name: "token_embd.weight", code: 77)) { try Self.parse(writer) }
    }

    @Test func rejectsTensorsOutsideTheFileOrMisaligned() throws {
        var writer = GGUFWriter.tinyLlama()
        writer.tensors[3].offsetOverride = 1 << 40
        #expect { try Self.parse(writer) } throws: { error in
            guard case .tensorOutOfBounds = error as? GGUFError else { return false }
            return true
        }
        writer = GGUFWriter.tinyLlama()
        writer.tensors[2].offsetOverride = 3
        #expect { try Self.parse(writer) } throws: { error in
            guard case let .tensorOutOfBounds(message) = error as? GGUFError else { return false }
            return message.contains("aligned")
        }
        writer = GGUFWriter.tinyLlama()
        writer.tensors[1].dimensions = [UInt64.max / 2, 4]
        #expect(throws: GGUFError.self) { try Self.parse(writer) }
    }

    @Test func rejectsDuplicateTensorsAndOtherArchitectures() throws {
        var writer = GGUFWriter.tinyLlama()
        writer.tensors[1].name = writer.tensors[0].name
        #expect(throws: GGUFError.duplicateTensor("token_embd.weight")) { try Self.parse(writer) }
        writer = GGUFWriter.tinyLlama()
        writer.metadata[0] = ("general.architecture", .string("gpt2"))
        let file = try Self.parse(writer)
        #expect(throws: GGUFError.unsupportedArchitecture("gpt2")) { try LlamaHyperparameters(gguf: file) }
        #expect(throws: EngineError.invalidModel(.unsupportedArchitecture("gpt2"))) {
            try LlamaStage(model: file, layers: 0 ..< 2)
        }
    }

    @Test func rejectsMissingMetadataAndInconsistentShapes() throws {
        var writer = GGUFWriter.tinyLlama()
        writer.metadata.removeAll { $0.0 == "llama.embedding_length" }
        #expect(throws: GGUFError.missingMetadata("llama.embedding_length")) {
            try LlamaHyperparameters(gguf: try Self.parse(writer))
        }
        writer = GGUFWriter.tinyLlama()
        writer.metadata.append(("llama.attention.head_count", .uint32(5)))
        #expect(throws: GGUFError.self) { try LlamaHyperparameters(gguf: try Self.parse(writer)) }
        writer = GGUFWriter.tinyLlama()
        writer.tensors.removeAll { $0.name == "blk.1.ffn_up.weight" }
        #expect(throws: EngineError.tensorShape(name: "blk.1.ffn_up.weight", expected: [32, 64], found: nil)) {
            try LlamaStage(model: try Self.parse(writer), layers: 0 ..< 2)
        }
    }

    @Test func rejectsTensorTypesTheEngineCannotUse() throws {
        var writer = GGUFWriter.tinyLlama()
        let index = try #require(writer.tensors.firstIndex { $0.name == "blk.0.attn_q.weight" })
        // A valid IQ4_NL layout (18 bytes per 32 values): readable, but the engine has no kernel for it.
        writer.tensors[index] = .init(name: "blk.0.attn_q.weight", dimensions: [32, 32], type: 20,
                                      data: Array(repeating: 0, count: 32 * 18))
        let file = try Self.parse(writer)
        #expect(file.tensorsByName["blk.0.attn_q.weight"]?.type == .iq4_nl)
        #expect(throws: EngineError.unsupportedTensorType(name: "blk.0.attn_q.weight", type: .iq4_nl)) {
            try LlamaStage(model: file, layers: 0 ..< 1)
        }
    }

    @Test func randomByteFlipsNeverCrash() throws {
        let original = GGUFWriter.tinyLlama().bytes()
        let headerEnd = try #require(try Self.parse(bytes: original).tensors.first?.fileOffset)
        var random = SeededRandom(seed: 42)
        var rejected = 0
        for _ in 0 ..< 300 {
            var bytes = original
            for _ in 0 ..< 3 {
                let position = Int(random.next() % UInt64(headerEnd))
                bytes[position] = UInt8(truncatingIfNeeded: random.next())
            }
            do {
                let file = try Self.parse(bytes: bytes)
                _ = try? LlamaStage(model: file, layers: 0 ..< 2)
            } catch {
                rejected += 1
            }
        }
        #expect(rejected > 0)
    }

    @Test func missingFileNamesThePath() {
        #expect { try GGUFFile(path: "/nonexistent/model.gguf") } throws: { error in
            "\(error)".contains("/nonexistent/model.gguf")
        }
    }
}

enum GGUFWriterFile {
    static func write(_ bytes: [UInt8]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shard-\(UUID().uuidString).gguf")
        try Data(bytes).write(to: url)
        return url.path
    }
}
