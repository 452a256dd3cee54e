import Testing
@testable import ShardTokenizers

@Suite("GGUF vocabulary serialization")
struct GGUFVocabularyTests {
    @Test func roundTripKeepsEverything() throws {
        let vocabulary = try TinyBPE.vocabulary(addBOS: true)
        let bytes = vocabulary.serialized()
        let copy = try GGUFVocabulary(serialized: bytes)
        #expect(copy == vocabulary)
        #expect(copy.serialized() == bytes)
        #expect(copy.fingerprint == vocabulary.fingerprint)
        #expect(vocabulary.fingerprint.count == 16)
    }

    @Test func sentencePieceRoundTrip() throws {
        let vocabulary = try GGUFVocabulary(
            model: "llama", pre: "default", tokens: ["<unk>", "<s>", "</s>", "▁a", "a", ""], scores: [0, 0, 0, -1, -2, 0],
            types: [2, 3, 3, 1, 1, 1], merges: nil, specialIDs: .init(), addBOS: nil, addEOS: true, addSpacePrefix: false)
        #expect(vocabulary.tokens[5] == "[EMPTY_5]")
        #expect(vocabulary.specialIDs.bos == 1 && vocabulary.specialIDs.eos == 2 && vocabulary.specialIDs.unknown == 0)
        let copy = try GGUFVocabulary(serialized: vocabulary.serialized())
        #expect(copy == vocabulary)
        let tokenizer = try copy.makeTokenizer()
        #expect(tokenizer.encode("a", addBOS: true) == [1, 4, 2])
    }

    @Test func llamaCppDefaultsForAbsentKeys() throws {
        func vocabulary(_ pre: String?) throws -> GGUFVocabulary {
            try GGUFVocabulary(model: "gpt2", pre: pre, tokens: TinyBPE.tokens, scores: nil, types: nil, merges: [],
                               specialIDs: .init(), addBOS: nil, addEOS: nil, addSpacePrefix: nil)
        }
        // Byte-level BPE: BOS = EOS = 11, BOS added only for Llama 3 style pre-tokenizers, GLM has no BOS.
        #expect(try vocabulary("gpt-2").specialIDs.bos == 11 && vocabulary("gpt-2").addBOS == false)
        #expect(try vocabulary("llama-bpe").addBOS == true)
        #expect(try vocabulary("glm4").specialIDs.bos == nil)
        #expect(try vocabulary(nil).addSpacePrefix == false)
    }

    @Test func differentVocabulariesHaveDifferentFingerprints() throws {
        #expect(try TinyBPE.vocabulary().fingerprint != TinyBPE.vocabulary(addBOS: true).fingerprint)
    }

    @Test func corruptBytesAreTypedErrors() throws {
        let bytes = try TinyBPE.vocabulary().serialized()
        for bad in [[], Array(bytes.prefix(bytes.count / 2)), [0x00] + bytes.dropFirst(), bytes + [0]] {
            #expect(throws: TokenizerError.self) { try GGUFVocabulary(serialized: bad) }
        }
        var future = bytes
        future[8] = 99
        #expect(throws: TokenizerError.self) { try GGUFVocabulary(serialized: future) }
    }
}
