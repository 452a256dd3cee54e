import Foundation
import Testing
@testable import ShardTokenizers

@Suite("SentencePiece tokenizer")
struct SentencePieceTokenizerTests {
    let tokenizer: SentencePieceTokenizer

    init() throws { tokenizer = try SentencePieceTokenizer(contentsOf: FixturePaths.tokenizer) }

    @Test func vocabularyAndSpecialIDs() {
        #expect(tokenizer.vocabularySize == 512)
        #expect(tokenizer.bosTokenID == 1)
        #expect(tokenizer.eosTokenID == 2)
        #expect(tokenizer.piece(for: 1) == "<s>")
        #expect(tokenizer.piece(for: 9999) == nil)
    }

    @Test(arguments: trickyTexts)
    func roundTripsText(_ text: String) throws {
        let ids = tokenizer.encode(text, addBOS: false)
        #expect(!ids.isEmpty)
        #expect(try tokenizer.decode(ids) == text)
        #expect(tokenizer.encode(text, addBOS: true) == [1] + ids)
    }

    @Test func unseenCharactersUseByteFallback() throws {
        let ids = tokenizer.encode("🙏", addBOS: false)
        let pieces = ids.compactMap { tokenizer.piece(for: $0) }
        #expect(pieces.contains("<0xF0>"))
        #expect(try tokenizer.decode(ids) == "🙏")
    }

    @Test func fingerprintIsTheFileSHA256Prefix() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [FixturePaths.tokenizer]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(tokenizer.fingerprint == String(output.prefix(16)))
        #expect(tokenizer.fingerprint.count == 16)
    }

    @Test func outOfRangeIDsAreRejected() {
        #expect(throws: TokenizerError.tokenOutOfRange(512, vocabularySize: 512)) { try tokenizer.decode([5, 512]) }
        #expect(throws: TokenizerError.tokenOutOfRange(-1, vocabularySize: 512)) { try tokenizer.decode([-1]) }
    }

    @Test func missingFileIsATypedErrorNamingTheFile() {
        let path = "/nonexistent/dir/tokenizer.model"
        #expect {
            try SentencePieceTokenizer(contentsOf: path)
        } throws: { error in
            guard case let .fileUnreadable(named, _) = error as? TokenizerError else { return false }
            return named == path && "\(error)".contains(path)
        }
    }

    @Test(arguments: [[UInt8](), Array("not a protobuf at all".utf8), [0x0A, 0xFF, 0xFF, 0xFF, 0x0F]])
    func corruptFileIsATypedErrorNamingTheFile(_ bytes: [UInt8]) throws {
        let path = try FixturePaths.temporaryFile(bytes, name: "corrupt.model")
        #expect {
            try SentencePieceTokenizer(contentsOf: path)
        } throws: { error in
            guard case let .corruptModel(named, _) = error as? TokenizerError else { return false }
            return named == path
        }
    }

    @Test func truncatedModelIsRejected() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: FixturePaths.tokenizer)))
        let path = try FixturePaths.temporaryFile(Array(bytes.prefix(bytes.count / 2)), name: "truncated.model")
        #expect(throws: TokenizerError.self) { try SentencePieceTokenizer(contentsOf: path) }
    }
}
