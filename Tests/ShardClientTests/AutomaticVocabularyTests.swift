import Foundation
import ShardClient
import ShardProtocol
import ShardTestSupport
import ShardTokenizers
import Testing

/// The `.automatic` tokenizer when the sidecar serves the vocabulary embedded in the GGUF file.
@Suite("SDK automatic tokenizer with a GGUF vocabulary", .serialized, .timeLimit(.minutes(3)))
struct AutomaticVocabularyTests {
    static let model = "Fixtures/kjv-tiny/model-q8_0.gguf"

    @Test func automaticDownloadsChecksAndUsesTheEmbeddedVocabulary() async throws {
        // No --tokenizer: the sidecar uses (and serves) the GGUF file's own vocabulary.
        let sidecar = try SidecarProcess(["serve", "--port", "0", "--model", Self.model])
        defer { sidecar.stop() }
        let (_, models) = try ShardClientTests.json(sidecar, "/models")
        guard case let .array(entries)? = models["models"], let entry = entries.first,
              let wire = entry["tokenizer"]?.stringValue, let id = entry["id"]?.stringValue else {
            Issue.record("no models"); return
        }
        #expect(wire.hasPrefix("gguf-vocab:"))

        let file = try RawSocket(port: sidecar.port).request("GET", "/models/\(id)/tokenizer.vocab")
        #expect(file.status == 200)
        let vocabulary = try GGUFVocabulary(serialized: [UInt8](file.body))
        #expect(GGUFVocabulary.wireName(fingerprint: Fingerprint.short(file.body)) == wire)
        #expect(vocabulary.fingerprint == String(wire.dropFirst("gguf-vocab:".count)))
        // The served vocabulary tokenizes like the fixture's SentencePiece model it was exported from.
        let served = try vocabulary.makeTokenizer()
        let sentencePiece = try SentencePieceTokenizer(
            contentsOf: ExecutableRunner.repositoryRoot.appendingPathComponent("Fixtures/kjv-tiny/tokenizer.model").path)
        let prompt = "Und Gott sprach: Es werde Licht — 光 🙏 café. And God said,"
        #expect(served.encode(prompt, addBOS: true) == sentencePiece.encode(prompt, addBOS: true))

        let automatic = try await ShardClientTests.load(sidecar)
        let bytes = try await ShardClientTests.load(sidecar, tokenizer: .utf8Bytes)
        #expect(automatic.tokenizerName == wire)
        // A second load finds the cached, fingerprint-checked copy.
        #expect(try await ShardClientTests.load(sidecar).tokenizerName == wire)
        let viaVocabulary = try await automatic.generate(prompt, maxNewTokens: 30)
        #expect(try await bytes.generate(prompt, maxNewTokens: 30) == viaVocabulary)
        var joined = ""
        for try await piece in automatic.streamGenerate(prompt, maxNewTokens: 30) { joined += piece }
        #expect(joined == viaVocabulary)
    }

    /// SmolLM2 as downloaded: byte-level BPE, ChatML special tokens, <|im_end|> ends the turn.
    @Test func smolLM2ChatThroughTheAutomaticTokenizer() async throws {
        let path = try RealModels.path("SmolLM2-135M-Instruct.Q4_1.gguf")
        let sidecar = try SidecarProcess(["serve", "--port", "0", "--model", path])
        defer { sidecar.stop() }
        let automatic = try await ShardClientTests.load(sidecar)
        #expect(automatic.tokenizerName.hasPrefix("gguf-vocab:"))
        let (_, models) = try ShardClientTests.json(sidecar, "/models")
        guard case let .array(entries)? = models["models"], let special = entries.first?["special_tokens"] else {
            Issue.record("no models"); return
        }
        #expect(special["eog"] == .array([.int(0), .int(2), .int(4)]))
        #expect(special["eos"]?["text"]?.stringValue == "<|im_end|>")
        let prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
        var text = "", completion: Completion?
        for try await event in automatic.events(prompt, maxNewTokens: 16) {
            switch event {
            case let .token(piece): text += piece.text
            case let .done(done): completion = done
            }
        }
        // The special-token text became single tokens (16 prompt tokens, as llama.cpp), and the reply ended on
        // <|im_end|>, an end-of-generation token, before the length limit.
        #expect(completion?.promptTokens == 16)
        #expect(completion?.finishReason == .eos)
        #expect(text.contains("Paris"))
        let bytes = try await ShardClientTests.load(sidecar, tokenizer: .utf8Bytes)
        #expect(try await bytes.generate(prompt, maxNewTokens: 16) == text)
    }

    @Test func aSentencePieceSidecarHasNoVocabularyFile() async throws {
        let sidecar = try ShardClientTests.sidecar()
        defer { sidecar.stop() }
        let (_, models) = try ShardClientTests.json(sidecar, "/models")
        guard case let .array(entries)? = models["models"], let id = entries.first?["id"]?.stringValue else {
            Issue.record("no models"); return
        }
        #expect(try RawSocket(port: sidecar.port).request("GET", "/models/\(id)/tokenizer.vocab").status == 404)
    }
}
