import Foundation
import Testing
@testable import ShardEngine
import ShardTokenizers

@Suite("Vocabulary embedded in a GGUF file")
struct EmbeddedVocabularyTests {
    /// A GGUF file holding only tokenizer keys.
    static func file(_ metadata: [(String, GGUFWriter.Value)]) throws -> GGUFFile {
        var writer = GGUFWriter()
        writer.metadata = [("general.architecture", .string("llama"))] + metadata
        return try GGUFFile(path: writer.write())
    }

    static let bytePieces = (0 ..< 256).map { ByteLevelMapping.piece(ofBytes: [UInt8($0)]) }

    @Test func bytePairVocabularyWithItsKeys() throws {
        let gguf = try Self.file([
            ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("smollm")),
            ("tokenizer.ggml.tokens", .stringArray(Self.bytePieces + ["Ġh", "<|im_end|>"])),
            ("tokenizer.ggml.token_type", .int32Array([Int32](repeating: 1, count: 257) + [3])),
            ("tokenizer.ggml.merges", .stringArray(["Ġ h"])), ("tokenizer.ggml.eos_token_id", .uint32(257)),
            ("tokenizer.ggml.add_bos_token", .bool(false)),
        ])
        let tokenizer = try ModelBundle.embeddedTokenizer(of: gguf)
        #expect(tokenizer is BytePairTokenizer)
        #expect(tokenizer.vocabulary.pre == "smollm")
        #expect(tokenizer.encode(" h<|im_end|>", addBOS: true) == [256, 257])
        #expect(tokenizer.endOfGenerationIDs == [257])
    }

    @Test func otherTokenizerModelsAreATypedError() throws {
        let gguf = try Self.file([("tokenizer.ggml.model", .string("bert")),
                                  ("tokenizer.ggml.tokens", .stringArray(["[CLS]", "a"]))])
        #expect(throws: TokenizerError.unsupportedVocabulary("tokenizer.ggml.model bert is not supported (gpt2 and llama are)")) {
            try ModelBundle.embeddedTokenizer(of: gguf)
        }
    }

    @Test func missingOrMistypedKeysAreTypedErrors() throws {
        let noMerges = try Self.file([("tokenizer.ggml.model", .string("gpt2")),
                                      ("tokenizer.ggml.tokens", .stringArray(Self.bytePieces))])
        #expect(throws: TokenizerError.self) { try ModelBundle.embeddedTokenizer(of: noMerges) }
        let badTokens = try Self.file([("tokenizer.ggml.model", .string("llama")),
                                       ("tokenizer.ggml.tokens", .int32Array([1, 2]))])
        #expect(throws: TokenizerError.self) { try ModelBundle.embeddedTokenizer(of: badTokens) }
        let noModel = try Self.file([("tokenizer.ggml.tokens", .stringArray(["a"]))])
        #expect(throws: TokenizerError.self) { try ModelBundle.embeddedTokenizer(of: noModel) }
    }
}
