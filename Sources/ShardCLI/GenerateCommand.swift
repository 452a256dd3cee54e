import ArgumentParser
import Foundation
import ShardClient

/// `shard generate`: streams one generation to stdout, token by token.
struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text; tokens go to stdout as they arrive, a summary to stderr.")

    @Argument(help: "The prompt.") var prompt: String
    @OptionGroup var generation: SamplingOptions
    @Option(name: .customLong("stop"), help: "A stop string (repeatable).") var stop: [String] = []
    @Flag(help: "Write one JSON event per line instead of text.") var json = false
    @OptionGroup var options: SidecarOptions

    func validate() throws {
        guard !prompt.isEmpty else { throw ValidationError("the prompt must not be empty") }
    }

    func run() async throws {
        let model = try await options.load(transport: generation.transport)
        let sampling = generation.sampling
        let output = FileHandle.standardOutput
        let start = ContinuousClock.now
        var firstToken: ContinuousClock.Instant?
        var tokens = 0
        var completion: Completion?
        let events = model.events(prompt, maxNewTokens: generation.maxNewTokens, sampling: sampling, stop: stop)
        for try await event in events {
            switch event {
            case let .token(chunk):
                firstToken = firstToken ?? .now
                tokens += 1
                output.write(Data((json ? Self.json(chunk) + "\n" : chunk.text).utf8))
            case let .done(done):
                completion = done
                if json { output.write(Data((Self.json(done) + "\n").utf8)) }
            }
        }
        if !json { output.write(Data("\n".utf8)) }
        let total = ContinuousClock.now - start
        let ttft = (firstToken ?? .now) - start
        let decode = total - ttft
        let rate = tokens > 1 ? Double(tokens - 1) / max(decode.seconds, 1e-9) : 0
        FileHandle.standardError.write(Data(String(
            format: "%d tokens, time to first token %.0f ms, %.1f tok/s, finish: %@\n", tokens, ttft.seconds * 1000,
            rate, completion?.finishReason.rawValue ?? "?").utf8))
    }

    static func json(_ chunk: TokenChunk) -> String {
        let text = String(decoding: (try? JSONEncoder().encode(chunk.text)) ?? Data("\"\"".utf8), as: UTF8.self)
        return #"{"index":\#(chunk.index),"token":\#(text),"token_id":\#(chunk.tokenID)}"#
    }

    static func json(_ done: Completion) -> String {
        #"{"completion_tokens":\#(done.completionTokens),"event":"done","finish_reason":"\#(done.finishReason.rawValue)","prompt_tokens":\#(done.promptTokens),"request_id":"\#(done.requestID)"}"#
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
