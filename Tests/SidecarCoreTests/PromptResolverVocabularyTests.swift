import ShardProtocol
@testable import ShardSidecarCore
import ShardTokenizers
import Testing

@Suite("Prompt resolution with a GGUF vocabulary")
struct PromptResolverVocabularyTests {
    /// A byte-level BPE vocabulary: the 256 byte characters, one merge and a ChatML control token.
    static let tokenizer: any GGUFVocabularyTokenizer = {
        let bytes = (0 ..< 256).map { ByteLevelMapping.piece(ofBytes: [UInt8($0)]) }
        let vocabulary = try! GGUFVocabulary(
            model: "gpt2", pre: "smollm", tokens: bytes + ["Hi", "<|im_start|>"], scores: nil,
            types: [Int32](repeating: 1, count: 257) + [3], merges: ["H i"], specialIDs: .init(eos: 257),
            addBOS: nil, addEOS: nil, addSpacePrefix: nil)
        return try! vocabulary.makeTokenizer()
    }()

    @Test func wireNameIsTheVocabularyFingerprint() throws {
        let resolver = PromptResolver(tokenizer: Self.tokenizer, addsBOS: false, contextLength: 64)
        #expect(resolver.wireTokenizer == "gguf-vocab:" + Self.tokenizer.vocabulary.fingerprint)
        let request = GenerationRequest(prompt: "ignored", inputTokenIDs: [256, 7], tokenizer: resolver.wireTokenizer)
        #expect(try resolver.resolve(request) == [256, 7])
    }

    @Test func promptTextParsesSpecialTokens() throws {
        let resolver = PromptResolver(tokenizer: Self.tokenizer, addsBOS: false, contextLength: 64)
        #expect(try resolver.resolve(GenerationRequest(prompt: "<|im_start|>Hi")) == [257, 256])
    }

    @Test func theWireNamePassesRequestValidation() throws {
        let request = GenerationRequest(prompt: "x", inputTokenIDs: [1], tokenizer: "gguf-vocab:0123456789abcdef")
        try request.validate(limits: .init())
        let bad = GenerationRequest(prompt: "x", inputTokenIDs: [1], tokenizer: "tiktoken:1")
        #expect(throws: ProtocolError.self) { try bad.validate(limits: .init()) }
    }
}
