import Testing
import ShardTokenizers

@Suite("UTF-8 byte tokenizer")
struct UTF8ByteTokenizerTests {
    @Test(arguments: trickyTexts)
    func roundTrips(_ text: String) throws {
        let tokenizer = UTF8ByteTokenizer()
        let ids = tokenizer.encode(text, addBOS: true)
        #expect(ids.count == text.utf8.count)
        #expect(try tokenizer.decode(ids) == text)
    }

    @Test func identity() throws {
        let tokenizer = UTF8ByteTokenizer()
        #expect(tokenizer.fingerprint == "utf8-bytes")
        #expect(tokenizer.vocabularySize == 256)
        #expect(tokenizer.encode("é", addBOS: false) == [0xC3, 0xA9])
        #expect(throws: TokenizerError.tokenOutOfRange(256, vocabularySize: 256)) { try tokenizer.decode([256]) }
    }
}
