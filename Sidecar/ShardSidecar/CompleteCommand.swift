import ArgumentParser
import Foundation
import ShardEngine
import ShardProtocol
import ShardTokenizers

/// `shard-sidecar complete`: runs a prompt through the engine in this process and prints the completion.
struct CompleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "complete",
        abstract: "Generate a completion locally and print it to stdout as it is produced.",
        discussion: "Timing (prefill and decode tokens/s) goes to stderr. The prompt itself is not printed."
    )

    @Option(help: "Path of the GGUF model file (llama architecture; F32, F16 or Q8_0 weights).")
    var model: String

    @Option(help: "SentencePiece tokenizer model; without it the vocabulary embedded in the GGUF file is used.")
    var tokenizer: String?

    @Option(help: "The prompt text.")
    var prompt: String

    @Option(help: "Maximum number of tokens to generate (1 or more).")
    var maxNewTokens: Int = 128

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Double = 0

    @Option(help: "Sample only among the K most likely tokens; 0 disables.")
    var topK: Int = 0

    @Option(help: "Sample only among the most likely tokens whose probabilities add up to P; 1 disables.")
    var topP: Double = 1

    @Option(help: "Random seed; the same seed and prompt give the same text.")
    var seed: UInt64?

    @Option(help: "Number of in-process shards the layers are split over, by cost like peer --part.")
    var shards: Int = 1

    func validate() throws {
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1") }
        guard !prompt.isEmpty else { throw ValidationError("--prompt must not be empty") }
        guard shards >= 1 else { throw ValidationError("--shards must be at least 1") }
        do throws(ProtocolError) { try sampling.validate() } catch { throw ValidationError(error.message) }
    }

    /// The request's sampling. `min_tokens` 0: like llama.cpp, `complete` lets the model end at once.
    private var sampling: Sampling {
        Sampling(temperature: temperature, topK: topK, topP: topP, seed: seed, minTokens: 0)
    }

    func run() throws {
        do {
            let bundle = try ModelBundle(modelPath: model, tokenizerPath: tokenizer,
                                         progress: LoadProgressPrinter().report)
            let hyper = bundle.hyperparameters
            let pipeline = try LocalPipeline(
                model: bundle.gguf, ranges: try LayerSplit.balanced(model: bundle.gguf, stageCount: shards))
            let generator = TextGenerator(pipeline: pipeline, tokenizer: bundle.tokenizer,
                                          contextLength: hyper.contextLength)
            let promptIDs = bundle.tokenizer.encode(prompt, addBOS: bundle.addsBOS)
            let budget = min(maxNewTokens, hyper.contextLength - promptIDs.count)
            let summary = try generator.generate(promptIDs: promptIDs, maxNewTokens: max(budget, 1),
                                                 sampling: sampling) { _, text in
                if !text.isEmpty { FileHandle.standardOutput.write(Data(text.utf8)) }
                return true
            }
            FileHandle.standardOutput.write(Data("\n".utf8))
            let prefill = Double(summary.promptTokens) / max(summary.prefillSeconds, 1e-9)
            let decode = Double(max(summary.completionTokens - 1, 0)) / max(summary.decodeSeconds, 1e-9)
            Diagnostics.print(String(format: "prompt %d tokens, prefill %.1f tok/s; generated %d tokens, "
                + "decode %.1f tok/s; finish: %@", summary.promptTokens, prefill, summary.completionTokens, decode,
                summary.finishReason.rawValue))
        } catch {
            Diagnostics.print("error: \(error)")
            throw ExitCode.failure
        }
    }
}

/// Diagnostics go to stderr; stdout carries only data.
enum Diagnostics {
    static func print(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// One line on stdout that scripts and tests wait for (the bound address).
    static func announce(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
