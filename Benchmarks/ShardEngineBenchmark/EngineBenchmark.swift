import ArgumentParser
import Foundation
import ShardEngine
import ShardTokenizers

/// Measures the engine on one GGUF file and prints its figures next to llama.cpp's, measured with the same
/// definitions by `Benchmarks/llama_cpp_bench.py` in the same run (see `make bench-engine`).
@main
struct EngineBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ShardEngineBenchmark",
        abstract: "Prefill and decode throughput of the Shard engine, next to llama.cpp and the bandwidth bound.")

    @Option(help: "GGUF model to measure.") var model: String
    @Option(help: "Worker threads (the engine uses one per core; this only labels the run).") var threads = 2
    @Option(help: "Prompt length for the prefill measurement.") var prefillTokens = 128
    @Option(help: "Decode steps per measurement.") var decodeTokens = 64
    @Option(help: "Sequences in the batched decode measurement.") var batch = 8
    @Option(help: "Repeats; the best run counts.") var repeats = 3
    @Option(help: "llama.cpp's figures as JSON from llama_cpp_bench.py.") var llamaJSON: String?

    func run() throws {
        let file = try GGUFFile(path: model)
        let stage = try LlamaStage(model: file, layers: 0 ..< LlamaHyperparameters(gguf: file).blockCount)
        let measure = Measurements(stage: stage, repeats: repeats)
        let prefill = try measure.prefill(tokens: prefillTokens)
        let decode1 = try measure.decode(sequences: 1, steps: decodeTokens)
        let decodeN = try measure.decode(sequences: batch, steps: decodeTokens)
        let bandwidth = MemoryBandwidth.measure()
        let reference = try llamaJSON.map { try LlamaReference(path: $0) }

        let parameters = file.tensors.reduce(0) { $0 + $1.elementCount }
        let weightBytes = stage.weightBytesPerToken
        let bound = bandwidth / Double(weightBytes)
        print("""

        == \((model as NSString).lastPathComponent): \(String(format: "%.1f", Double(parameters) / 1e6)) M parameters, \
        \(String(format: "%.1f", Double(weightBytes) / 1e6)) MB of weights read per token
        threads \(threads); measured read bandwidth \(String(format: "%.1f", bandwidth / 1e9)) GB/s \
        -> batch-1 decode bound \(String(format: "%.0f", bound)) tok/s
        """)
        if let reference {
            print("llama.cpp \(reference.version), KV cache \(reference.kvType)")
        } else {
            print("llama.cpp: unavailable (no --llama-json); engine figures only")
        }
        let rows: [(String, Double, Double?)] = [
            ("prefill \(prefillTokens) tokens, tok/s", prefill, reference?.prefill),
            ("decode batch 1, tok/s", decode1, reference?.decode1),
            ("decode batch \(batch), tok/s", decodeN, reference?.decodeN),
        ]
        print("metric".padding(30) + "shard".leftPadding(12) + "llama.cpp".leftPadding(12) + "ratio".leftPadding(8)
            + "of bound".leftPadding(10))
        for (name, ours, theirs) in rows {
            let ratio = theirs.map { String(format: "%.2fx", ours / $0) } ?? "-"
            let ofBound = name.hasPrefix("decode batch 1") ? String(format: "%.0f%%", ours / bound * 100) : ""
            print(name.padding(30) + String(format: "%.1f", ours).leftPadding(12)
                + (theirs.map { String(format: "%.1f", $0) } ?? "-").leftPadding(12) + ratio.leftPadding(8)
                + ofBound.leftPadding(10))
        }
    }
}

/// llama.cpp's figures for the same model, as written by `llama_cpp_bench.py`.
struct LlamaReference {
    let version: String, kvType: String
    let prefill: Double, decode1: Double, decodeN: Double

    init(path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let prefill = json["prefill_tok_s"] as? Double, let decode1 = json["decode_tok_s_batch1"] as? Double,
              let decodeN = json["decode_tok_s_batch8"] as? Double
        else { throw ValidationError("\(path) does not hold llama.cpp benchmark figures") }
        version = json["version"] as? String ?? "?"
        kvType = json["kv_type"] as? String ?? "?"
        (self.prefill, self.decode1, self.decodeN) = (prefill, decode1, decodeN)
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
