import Testing
@testable import ShardTokenizers

/// A tiny byte-level BPE vocabulary: the 256 byte characters, three merges and two control tokens.
enum TinyBPE {
    static let byteTokens = (0 ..< 256).map { ByteLevelMapping.piece(ofBytes: [UInt8($0)]) }
    static let tokens = byteTokens + ["Ġt", "he", "Ġthe", "<|im_start|>", "<|im_end|>"]
    static let types = [Int32](repeating: 1, count: 259) + [3, 3]

    static func vocabulary(pre: String = "gpt-2", addBOS: Bool? = nil) throws -> GGUFVocabulary {
        try GGUFVocabulary(model: "gpt2", pre: pre, tokens: tokens, scores: nil, types: types,
                           merges: ["Ġ t", "h e", "Ġt he"], specialIDs: .init(bos: 259, eos: 260), addBOS: addBOS,
                           addEOS: nil, addSpacePrefix: nil)
    }

    static func id(_ piece: String) -> TokenID { TokenID(tokens.firstIndex(of: piece)!) }
}

@Suite("Byte-level BPE")
struct BytePairTokenizerTests {
    @Test func byteMappingRoundTrips() {
        let all = (0 ... 255).map { UInt8($0) }
        #expect(ByteLevelMapping.bytes(ofPiece: ByteLevelMapping.piece(ofBytes: all)) == all)
        #expect(ByteLevelMapping.piece(ofBytes: [0x20]) == "Ġ")
        #expect(ByteLevelMapping.piece(ofBytes: [0x0A]) == "Ċ")
        #expect(ByteLevelMapping.bytes(ofPiece: "中") == nil)
    }

    @Test func mergesByRank() throws {
        let tokenizer = try BytePairTokenizer(vocabulary: TinyBPE.vocabulary())
        #expect(tokenizer.encode(" the", addBOS: false) == [TinyBPE.id("Ġthe")])
        #expect(tokenizer.encode("the", addBOS: false) == [TinyBPE.id("t"), TinyBPE.id("he")])
        #expect(try tokenizer.decode(tokenizer.encode("the the", addBOS: false)) == "the the")
    }

    @Test func specialTokensNeedParseSpecial() throws {
        let tokenizer = try BytePairTokenizer(vocabulary: TinyBPE.vocabulary())
        let start = TinyBPE.id("<|im_start|>")
        #expect(tokenizer.encode("<|im_start|> the", addBOS: false, parseSpecial: true) == [start, TinyBPE.id("Ġthe")])
        let plain = tokenizer.encode("<|im_start|> the", addBOS: false, parseSpecial: false)
        #expect(!plain.contains(start))
        #expect(try tokenizer.decode(plain) == "<|im_start|> the")
        // Control tokens decode to nothing.
        #expect(try tokenizer.decode([start]) == "")
    }

    @Test func bosFollowsTheVocabulary() throws {
        let off = try BytePairTokenizer(vocabulary: TinyBPE.vocabulary())
        #expect(off.encode("t", addBOS: true) == [TinyBPE.id("t")])
        let on = try BytePairTokenizer(vocabulary: TinyBPE.vocabulary(addBOS: true))
        #expect(on.encode("t", addBOS: true) == [259, TinyBPE.id("t")])
        #expect(on.encode("", addBOS: true) == [259])
    }

    @Test func endOfGenerationByText() throws {
        let tokenizer = try BytePairTokenizer(vocabulary: TinyBPE.vocabulary())
        // EOS is 260 (<|im_end|>), which is also an end-of-turn text.
        #expect(tokenizer.endOfGenerationIDs == [260])
    }

    @Test func streamingHoldsBackHalfCharacters() throws {
        let tokenizer = try BytePairTokenizer(vocabulary: TinyBPE.vocabulary())
        let text = "a 🙏🏽 中 the"
        let ids = tokenizer.encode(text, addBOS: false)
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var pieces: [String] = []
        for id in ids { pieces.append(try detokenizer.push(id)) }
        pieces.append(detokenizer.finish())
        #expect(pieces.joined() == text)
        #expect(pieces.allSatisfy { !$0.contains("\u{FFFD}") })
        #expect(pieces.contains(""))
    }

    @Test func unsupportedVocabulariesAreTypedErrors() {
        #expect(throws: TokenizerError.self) {
            try GGUFVocabulary(model: "bert", pre: nil, tokens: ["a"], scores: nil, types: nil, merges: nil,
                               specialIDs: .init(), addBOS: nil, addEOS: nil, addSpacePrefix: nil)
        }
        #expect(throws: TokenizerError.self) { try TinyBPE.vocabulary(pre: "deepseek-llm") }
    }
}
