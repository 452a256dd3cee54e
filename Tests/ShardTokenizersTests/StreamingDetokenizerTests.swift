import Testing
@testable import ShardTokenizers

@Suite("Streaming detokenizer")
struct StreamingDetokenizerTests {
    static let tokenizers: [any Tokenizer] = [
        try! SentencePieceTokenizer(contentsOf: FixturePaths.tokenizer), UTF8ByteTokenizer(),
    ]

    /// Feeds ids one by one and returns the emitted chunks, the final flush last.
    static func stream(_ ids: [TokenID], tokenizer: any Tokenizer, context: [TokenID] = []) throws -> [String] {
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer, context: context)
        var chunks = try ids.map { try detokenizer.push($0) }
        chunks.append(detokenizer.finish())
        return chunks
    }

    @Test(arguments: trickyTexts)
    func concatenationEqualsFullDecode(_ text: String) throws {
        for tokenizer in Self.tokenizers {
            let ids = tokenizer.encode(text, addBOS: true)
            let chunks = try Self.stream(ids, tokenizer: tokenizer)
            #expect(chunks.joined() == (try tokenizer.decode(ids)), "\(tokenizer.fingerprint)")
            for chunk in chunks { #expect(!chunk.contains("\u{FFFD}"), "emitted half a character: \(chunk)") }
        }
    }

    @Test func halfCharactersWaitForTheRest() throws {
        let tokenizer = UTF8ByteTokenizer()
        let chunks = try Self.stream(tokenizer.encode("a🙏b", addBOS: false), tokenizer: tokenizer)
        #expect(chunks == ["a", "", "", "", "🙏", "b", ""])
    }

    @Test func contextKeepsTheLeadingSpaceOfTheContinuation() throws {
        let tokenizer = try SentencePieceTokenizer(contentsOf: FixturePaths.tokenizer)
        let prompt = tokenizer.encode("In the beginning", addBOS: true)
        let full = tokenizer.encode("In the beginning God created the heaven", addBOS: true)
        #expect(Array(full.prefix(prompt.count)) == prompt)
        let continuation = Array(full.dropFirst(prompt.count))
        let text = try Self.stream(continuation, tokenizer: tokenizer, context: prompt).joined()
        #expect(text == " God created the heaven")
    }

    @Test func longStreamsStayExact() throws {
        let tokenizer = try SentencePieceTokenizer(contentsOf: FixturePaths.tokenizer)
        let text = String(repeating: trickyTexts.joined(separator: " "), count: 20)
        let ids = tokenizer.encode(text, addBOS: false)
        #expect(try Self.stream(ids, tokenizer: tokenizer).joined() == (try tokenizer.decode(ids)))
    }

    @Test func rejectsOutOfRangeIDsWithoutLosingState() throws {
        let tokenizer = UTF8ByteTokenizer()
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(try detokenizer.push(0x61) == "a")
        #expect(throws: TokenizerError.self) { try detokenizer.push(999) }
        #expect(try detokenizer.push(0x62) == "b")
    }
}
