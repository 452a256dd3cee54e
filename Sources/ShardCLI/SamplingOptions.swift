import ArgumentParser
import ShardClient

/// Options shared by the generating subcommands: how many tokens and how they are chosen.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Maximum number of tokens to generate.") var maxNewTokens = 128
    @Option(help: "websocket or http-poll.") var transport: Transport = .httpPolling
    @Option(help: "Sampling temperature; 0 is greedy.") var temperature: Double = 0
    @Option(help: "Top-k cut-off; 0 disables.") var topK = 0
    @Option(help: "Top-p cut-off; 1 disables.") var topP: Double = 1
    @Option(help: "Random seed.") var seed: UInt64?

    func validate() throws {
        guard (1 ... 4096).contains(maxNewTokens) else { throw ValidationError("--max-new-tokens must be in 1...4096") }
        guard temperature >= 0, temperature <= 100 else { throw ValidationError("--temperature must be in 0...100") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        guard topK >= 0 else { throw ValidationError("--top-k must be >= 0") }
    }

    /// The SDK's sampling settings.
    var sampling: Sampling { Sampling(temperature: temperature, topK: topK, topP: topP, seed: seed) }
}
