import ArgumentParser
import Foundation
import ShardClient
import ShardProtocol

/// Options shared by the generating subcommands: how many tokens and how they are chosen.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Maximum number of tokens to generate.") var maxNewTokens = 128
    @Option(help: "websocket or http-poll.") var transport: Transport = .httpPolling
    @Option(help: "Sampling temperature; 0 is greedy.") var temperature: Double = 0
    @Option(help: "Top-k cut-off; 0 disables.") var topK = 0
    @Option(help: "Top-p cut-off; 1 disables.") var topP: Double = 1
    @Option(help: "Random seed.") var seed: UInt64?

    /// Checked by the sidecar's own validator (``GenerationRequest/validate(limits:)``), named by option.
    func validate() throws {
        let request = GenerationRequest(prompt: "-", maxNewTokens: maxNewTokens, minTokens: 0, temperature: temperature,
                                        topK: topK, topP: topP, seed: seed)
        do throws(ProtocolError) { try request.validate(limits: RequestLimits()) } catch {
            let option = (error.field ?? "").replacingOccurrences(of: "_", with: "-")
            throw ValidationError("--\(option): \(error.message)")
        }
    }

    /// The SDK's sampling settings.
    var sampling: Sampling { Sampling(temperature: temperature, topK: topK, topP: topP, seed: seed) }
}
