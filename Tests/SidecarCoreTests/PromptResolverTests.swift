import ShardProtocol
@testable import ShardSidecarCore
import ShardTestSupport
import ShardTokenizers
import Testing

@Suite("Prompt resolution (PROTOCOL.md order)")
struct PromptResolverTests {
    static let tokenizer = try! SentencePieceTokenizer(
        contentsOf: ExecutableRunner.repositoryRoot.appendingPathComponent("Fixtures/kjv-tiny/tokenizer.model").path)
    let resolver = PromptResolver(tokenizer: tokenizer, addsBOS: true, contextLength: 64)

    @Test func matchingTokenizerIDsAreUsedAsTheyAre() throws {
        let request = GenerationRequest(prompt: "ignored", inputTokenIDs: [1, 5, 7],
                                        tokenizer: "sentencepiece:" + Self.tokenizer.fingerprint)
        #expect(try resolver.resolve(request) == [1, 5, 7])
    }

    @Test func otherwiseTheTextIsTokenizedByTheModel() throws {
        let bytes = UTF8ByteTokenizer()
        let request = GenerationRequest(prompt: "In the beginning", inputTokenIDs: bytes.encode("In the beginning", addBOS: false).map(Int.init),
                                        tokenizer: "utf8-bytes")
        #expect(try resolver.resolve(request) == Self.tokenizer.encode("In the beginning", addBOS: true))
    }

    @Test func bareIDsMustBeInTheVocabulary() throws {
        #expect(try resolver.resolve(GenerationRequest(inputTokenIDs: [1, 2, 3])) == [1, 2, 3])
        #expect(throws: ProtocolError.self) { try resolver.resolve(GenerationRequest(inputTokenIDs: [1, 512])) }
        #expect(throws: ProtocolError.self) {
            try resolver.resolve(GenerationRequest(inputTokenIDs: [1, 2], tokenizer: "sentencepiece:0000000000000000"))
        }
    }

    @Test func promptsLongerThanTheContextAreRejected() {
        let long = String(repeating: "And God said, ", count: 40)
        #expect {
            try resolver.resolve(GenerationRequest(prompt: long))
        } throws: { error in
            (error as? ProtocolError)?.field == "prompt" && (error as? ProtocolError)?.status == 400
        }
    }
}
