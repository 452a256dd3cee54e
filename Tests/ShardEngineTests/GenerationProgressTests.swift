@testable import ShardEngine
import ShardProtocol
import ShardTokenizers
import Testing

@Suite("Token text: detokenization and stop strings")
struct TokenTextProcessorTests {
    func run(_ text: String, stop: [String]) throws -> (emitted: [String], stopped: Bool, tail: String) {
        var processor = TokenTextProcessor(tokenizer: UTF8ByteTokenizer(), promptIDs: [], stopStrings: stop)
        var emitted: [String] = []
        for byte in text.utf8 {
            let (piece, stopped) = try processor.push(TokenID(byte))
            emitted.append(piece)
            if stopped { return (emitted, true, "") }
        }
        return (emitted, false, processor.finish())
    }

    @Test func stopStringIsNotEmittedAndEndsTheStream() throws {
        let result = try run("And God said, Amen. More", stop: ["Amen."])
        #expect(result.stopped)
        #expect(result.emitted.joined() == "And God said, ")
    }

    @Test func aPossibleStopPrefixIsHeldThenReleased() throws {
        let result = try run("Am I not", stop: ["Amen."])
        #expect(!result.stopped)
        #expect(result.emitted[0] == "" && result.emitted[1] == "", "\"Am\" could begin the stop string")
        #expect(result.emitted.joined() + result.tail == "Am I not")
        let held = try run("xxAme", stop: ["Amen."])
        #expect(held.emitted.joined() == "xx")
        #expect(held.tail == "Ame", "held text is delivered when the stream ends")
    }

    @Test func multibyteCharactersArriveWhole() throws {
        let result = try run("光🙏", stop: [])
        #expect(result.emitted == ["", "", "光", "", "", "", "🙏"])
    }
}

@Suite("One generation loop: ids in, text and the finish reason out")
struct GenerationProgressTests {
    static func run(_ ids: [TokenID], limits: GenerationProgress.Limits,
                    contextFullAt: Int = .max) throws -> (steps: [GenerationProgress.Step], progress: GenerationProgress) {
        var progress = GenerationProgress(tokenizer: UTF8ByteTokenizer(), promptIDs: [], limits: limits)
        var steps: [GenerationProgress.Step] = []
        for (offset, id) in ids.enumerated() {
            let step = try progress.accept(id, contextFull: offset + 1 >= contextFullAt)
            steps.append(step)
            if step.finish != nil { break }
        }
        return (steps, progress)
    }

    static func bytes(_ text: String) -> [TokenID] { text.utf8.map { TokenID($0) } }

    @Test func lengthEndsWithTheLastTokenAndReleasesHeldText() throws {
        let (steps, progress) = try Self.run(Self.bytes("Am"), limits: .init(maxNewTokens: 2, stopStrings: ["Amen"],
                                                                             endOfGeneration: [0]))
        #expect(steps.map(\.text) == ["", "Am"], "held while it could begin the stop string, released at the end")
        #expect(steps.last?.finish == .length)
        #expect(progress.generated.count == 2 && progress.finishReason == .length)
    }

    @Test func aStopStringEndsWithoutItsText() throws {
        let (steps, _) = try Self.run(Self.bytes("xAmen y"), limits: .init(maxNewTokens: 50, stopStrings: ["Amen"],
                                                                           endOfGeneration: []))
        #expect(steps.compactMap(\.text).joined() == "x")
        #expect(steps.last?.finish == .stop && steps.count == 5)
    }

    @Test func endOfGenerationCountsOnlyAfterMinTokens() throws {
        let limits = GenerationProgress.Limits(maxNewTokens: 10, minTokens: 2, endOfGeneration: [0])
        let (steps, progress) = try Self.run([104, 0, 105, 0], limits: limits)
        #expect(steps.map(\.counted) == [true, true, true, false], "an end id before min_tokens is a token")
        #expect(steps.last?.finish == .eos && steps.last?.text == nil)
        #expect(progress.generated == [104, 0, 105])
    }

    @Test func aFullContextEndsLikeLength() throws {
        let (steps, _) = try Self.run(Self.bytes("abcdef"), limits: .init(maxNewTokens: 50, endOfGeneration: []),
                                      contextFullAt: 3)
        #expect(steps.count == 3 && steps.last?.finish == .length)
        #expect(steps.map(\.index) == [0, 1, 2])
    }
}
