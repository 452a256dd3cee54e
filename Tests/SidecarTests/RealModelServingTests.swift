import Foundation
import ShardNetworking
import ShardProtocol
import ShardTestSupport
import Testing

/// A real model (SmolLM2-135M-Instruct) served by real processes: peers holding layer ranges give the tokens of
/// `shard-sidecar complete`, and a chat request ends at the end-of-turn token with the reply the engine gives the
/// rendered prompt, which is llama.cpp's chat completion.
@Suite("Serving a real model", .serialized, .timeLimit(.minutes(5)))
struct RealModelServingTests {
    static let question = "What is the capital city of France? Answer in one word."

    static func model() throws -> String { try RealModels.path("SmolLM2-135M-Instruct.Q4_1.gguf") }

    /// Two peers (`--part 1/2`, `--part 2/2`: the split by cost) and three (explicit `--layers`), on loopback (f32
    /// hidden states), several streams at once so that micro-batches are in flight through the stages: every stream
    /// equals `complete` token for token.
    @Test(arguments: [[["--part", "1/2"], ["--part", "2/2"]],
                      [["--layers", "0:10"], ["--layers", "10:20"], ["--layers", "20:30"]]])
    func peersHoldingLayerRangesGiveTheTokensOfComplete(layers: [[String]]) async throws {
        let model = try Self.model()
        let prompts = ["The capital of France is", "Once upon a time", "The three primary colors are"]
        let expected = try prompts.map { try completeReference(model: ["--model", model], prompt: $0, maxNewTokens: 24) }
        let peers = try layers.map {
            try SidecarProcess(["peer", "--model", model, "--port", "0"] + $0)
        }
        defer { peers.forEach { $0.stop() } }
        let sidecar = try SidecarProcess(["serve", "--model", model, "--local-shards", "0", "--port", "0"]
            + peers.flatMap { ["--peer", "ws://127.0.0.1:\($0.port)/peer"] })
        defer { sidecar.stop() }
        let client = SidecarClient(port: sidecar.port)
        try client.waitUntilReady()
        let polled = try client.generateByPolling(requestBody(prompts[0], maxNewTokens: 24))
        #expect(!expected[0].isEmpty)
        #expect(polled.text == expected[0])
        let streamed = try await client.generateConcurrently(prompts, maxNewTokens: 24)
        #expect(streamed == expected)
    }

    @Test func aChatReplyEndsAtTheEndOfTurnToken() async throws {
        let model = try Self.model()
        let sidecar = try SidecarProcess(["serve", "--model", model, "--local-shards", "2", "--port", "0"])
        defer { sidecar.stop() }
        let client = SidecarClient(port: sidecar.port)
        try client.waitUntilReady()
        let messages: JSONValue = .array([.object(["role": .string("user"),
                                                   "content": .string(Self.question)])])
        let body: [String: JSONValue] = ["messages": messages, "max_new_tokens": .int(96)]
        let streamed = try await client.generateByWebSocket(body)
        var polledBody = body
        polledBody["request_id"] = .string("chat-poll")
        let polled = try client.generateByPolling(polledBody)
        #expect(streamed.finishReason == "eos", "the reply ends at <|im_end|>, not at the length limit")
        // llama-cpp-python 0.3.36's create_chat_completion on the same file, greedy, gives exactly this reply.
        #expect(streamed.text == "The capital city of France is Paris.")
        #expect(!streamed.text.contains("<|im_end|>"))
        #expect(polled.text == streamed.text)
        // The same prompt, rendered by the template as llama.cpp renders it, through `complete`.
        let rendered = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
            + "<|im_end|>\n<|im_start|>user\n\(Self.question)<|im_end|>\n<|im_start|>assistant\n"
        let expected = try completeReference(model: ["--model", model], prompt: rendered, maxNewTokens: 96)
        #expect(streamed.text == expected)
    }

    /// The OpenAI-compatible routes, checked with the official `openai` Python package (scripts/openai-venv.sh):
    /// models, a completion equal to `complete`, a chat reply equal to llama.cpp's, streaming with usage, stop
    /// strings, seeds, and errors in OpenAI's shape.
    @Test func theOfficialOpenAIClientWorks() throws {
        let model = try Self.model()
        let expected = try completeReference(model: ["--model", model], prompt: "The capital of France is",
                                             maxNewTokens: 12)
        let sidecar = try SidecarProcess(["serve", "--model", model, "--local-shards", "1", "--port", "0",
                                          "--api-key", "sk-test"])
        defer { sidecar.stop() }
        try SidecarClient(port: sidecar.port, headers: ["Authorization": "Bearer sk-test"]).waitUntilReady()
        let venv = try ExecutableRunner.runTool("/bin/bash", ["scripts/openai-venv.sh"])
        #expect(venv.status == 0, "scripts/openai-venv.sh failed: \(venv.standardError)")
        let python = venv.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let result = try ExecutableRunner.runTool(python, ["Tests/SidecarTests/Scripts/openai_client.py",
                                                           "\(sidecar.port)", "sk-test", "-", expected])
        #expect(result.status == 0, "\(result.standardError)\(result.standardOutput)")
    }
}
