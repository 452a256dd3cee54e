import ShardTestSupport
import Foundation
import Testing
import ShardEngine
import ShardTokenizers

@Suite("shard-sidecar complete", .timeLimit(.minutes(3)))
struct CompleteCommandTests {
    static let model = "Fixtures/kjv-tiny/model-q8_0.gguf"
    static let tokenizer = "Fixtures/kjv-tiny/tokenizer.model"

    @Test func printsTheGreedyCompletionAndTimings() throws {
        let result = try ExecutableRunner.run("shard-sidecar", [
            "complete", "--model", Self.model, "--prompt", "And God said,", "--max-new-tokens", "24", "--shards", "2",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("prefill"))
        #expect(result.standardError.contains("decode"))

        // The same request through the engine in this process.
        let root = ExecutableRunner.repositoryRoot.path + "/"
        let bundle = try ModelBundle(modelPath: root + Self.model)
        let pipeline = try LocalPipeline(model: bundle.gguf, ranges: [0 ..< 6])
        let generator = TextGenerator(pipeline: pipeline, tokenizer: bundle.tokenizer,
                                      contextLength: bundle.hyperparameters.contextLength)
        var expected = ""
        _ = try generator.generate(promptIDs: bundle.tokenizer.encode("And God said,", addBOS: true),
                                   maxNewTokens: 24, sampling: .greedy) { _, text in
            expected += text
            return true
        }
        #expect(!expected.isEmpty)
        #expect(result.standardOutput == expected + "\n")
        #expect(!result.standardOutput.hasPrefix("And God said"), "the prompt is not echoed")
    }

    @Test func sentencePieceTokenizerGivesTheSameText() throws {
        let arguments = ["complete", "--model", Self.model, "--prompt", "The LORD is my shepherd;",
                         "--max-new-tokens", "16"]
        let embedded = try ExecutableRunner.run("shard-sidecar", arguments)
        let external = try ExecutableRunner.run("shard-sidecar", arguments + ["--tokenizer", Self.tokenizer])
        #expect(embedded.status == 0 && external.status == 0)
        #expect(embedded.standardOutput == external.standardOutput)
    }

    @Test func seededSamplingIsReproducible() throws {
        let arguments = ["complete", "--model", Self.model, "--prompt", "Blessed are the", "--max-new-tokens", "20",
                         "--temperature", "0.9", "--top-k", "40", "--top-p", "0.95", "--seed", "17"]
        let first = try ExecutableRunner.run("shard-sidecar", arguments)
        let second = try ExecutableRunner.run("shard-sidecar", arguments)
        #expect(first.status == 0)
        #expect(first.standardOutput == second.standardOutput)
    }

    @Test(arguments: [
        (["complete", "--prompt", "x"], "--model"),
        (["complete", "--model", model, "--prompt", ""], "prompt"),
        (["complete", "--model", model, "--prompt", "x", "--max-new-tokens", "0"], "max-new-tokens"),
        (["complete", "--model", model, "--prompt", "x", "--temperature", "-1"], "temperature"),
        (["complete", "--model", model, "--prompt", "x", "--top-p", "2"], "top_p"),
        (["complete", "--model", "/nonexistent/model.gguf", "--prompt", "x"], "/nonexistent/model.gguf"),
        (["complete", "--model", tokenizer, "--prompt", "x"], "GGUF"),
        (["complete", "--model", model, "--tokenizer", "/nonexistent/t.model", "--prompt", "x"], "/nonexistent/t.model"),
        // An empty API key once served without a key.
        (["serve", "--port", "0", "--api-key", ""], "--api-key"),
        (["serve", "--port", "0", "--peer-secret", ""], "--peer-secret"),
    ])
    func badArgumentsAndFilesFailWithAClearMessage(_ arguments: [String], _ mentioned: String) throws {
        let result = try ExecutableRunner.run("shard-sidecar", arguments)
        #expect(result.status != 0)
        #expect(result.standardError.contains(mentioned), "\(result.standardError)")
        #expect(result.standardOutput.isEmpty)
    }
}
