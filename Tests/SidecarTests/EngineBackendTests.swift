import Foundation
import ShardNetworking
import ShardProtocol
import ShardTestSupport
import Testing

/// `serve --engine URL`: a real `llama-server` (built from llama.cpp's sources by scripts/build-llama-server.sh)
/// behind the sidecar, on every entry point.
@Suite("An existing engine behind the sidecar", .serialized, .timeLimit(.minutes(5)))
struct EngineBackendTests {
    static func model() throws -> String { try RealModels.path("SmolLM2-135M-Instruct.Q4_1.gguf") }

    /// llama-server's own greedy completion of `prompt`.
    static func direct(_ engine: SidecarProcess, _ prompt: String, tokens: Int) throws -> String {
        let body = JSONValue.object(["prompt": .string(prompt), "n_predict": .int(Int64(tokens)),
                                     "temperature": .double(0)]).encodedString()
        let (status, answer) = try SidecarClient(port: engine.port).json("POST", "/completion", body: body)
        #expect(status == 200)
        return answer["content"]?.stringValue ?? ""
    }

    @Test func aSidecarInFrontOfLlamaServerStreamsTheSameText() async throws {
        let model = try Self.model()
        let engine = try LlamaServer.start(model: model)
        defer { engine.stop() }
        // A second engine that refuses connections: it shows down in /peers and is skipped.
        let dead = try ReservedPort()
        let sidecar = try SidecarProcess(["serve", "--model", model, "--local-shards", "0", "--port", "0",
                                          "--engine", "http://127.0.0.1:\(engine.port)",
                                          "--engine", "http://127.0.0.1:\(dead.port)"])
        defer { sidecar.stop() }
        let client = SidecarClient(port: sidecar.port)
        try client.waitUntilReady()
        let prompts = ["The capital of France is", "Once upon a time", "The three primary colors are"]
        let expected = try prompts.map { try Self.direct(engine, $0, tokens: 24) }
        #expect(!expected[0].isEmpty)

        let polled = try client.generateByPolling(requestBody(prompts[0], maxNewTokens: 24))
        #expect(polled.text == expected[0])
        let streamed = try await client.generateConcurrently(prompts, maxNewTokens: 24)
        #expect(streamed == expected)

        // The OpenAI route, ending at the model's end of turn like llama.cpp's own chat completion.
        let (_, models) = try client.json("GET", "/v1/models")
        guard case let .array(list)? = models["data"], let id = list.first?["id"]?.stringValue else {
            Issue.record("no model listed")
            return
        }
        let chat = JSONValue.object([
            "model": .string(id), "max_tokens": .int(40), "temperature": .double(0),
            "messages": .array([.object(["role": .string("user"),
                                         "content": .string("What is the capital city of France? Answer in one word.")])]),
        ]).encodedString()
        let (status, answer) = try client.json("POST", "/v1/chat/completions", body: chat)
        #expect(status == 200)
        guard case let .array(choices)? = answer["choices"] else { Issue.record("no choices"); return }
        #expect(choices.first?["message"]?["content"]?.stringValue == "The capital city of France is Paris.")
        #expect(choices.first?["finish_reason"]?.stringValue == "stop")

        let (_, peers) = try client.json("GET", "/peers")
        guard case let .array(engines)? = peers["peers"] else { Issue.record("no engines in /peers"); return }
        #expect(engines.map { $0["state"]?.stringValue } == ["ready", "down"])

        // /ready follows the engine's health.
        engine.stop()
        #expect(waitUntil(timeout: 10) { (try? client.request("GET", "/ready").status) == 503 })
    }
}
