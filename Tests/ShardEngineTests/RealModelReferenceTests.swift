import Foundation
@testable import ShardEngine
import ShardTestSupport
import ShardTokenizers
import Testing

/// The engine against llama.cpp on real models (SmolLM2-135M-Instruct, Gemma 3 270M), SmolLM2 re-quantized to every
/// weight type, and small synthetic `qwen2` and Llama-3-`rope_freqs` models: greedy continuations token for token
/// and first-step logits, from `Fixtures/reference/generation-*.json` (`scripts/reference/make_engine_references.py`).
///
/// The model files live in the model cache; a missing one fails with the command that makes it (`make models`).
@Suite("Agreement with llama.cpp on real models", .serialized)
struct RealModelReferenceTests {
    static let names = (try? GenerationReference.names()) ?? []

    /// Largest allowed difference of a first-step logit from llama.cpp's. Our kernels sum in another order than
    /// llama.cpp's (F32), and quantize activations per row as llama.cpp does but accumulate blocks differently
    /// (quantized types); measured differences are a fraction of these bounds.
    static func logitTolerance(_ reference: GenerationReference) -> Float {
        reference.name.hasPrefix("synthetic") ? 0.01 : 0.25
    }

    /// A greedy step whose best and second-best logits were closer than this in llama.cpp is a near tie: a different
    /// summation order may legitimately pick the other token, after which the continuations are no longer comparable.
    static let tieMargin: Float = 0.05

    @Test func everyModelHasAReference() {
        #expect(Self.names.contains("smollm2-q4_1"))
        #expect(Self.names.contains("smollm2-q4_k_m"))
        #expect(Self.names.contains("gemma3-270m-q4_k_m"))
        #expect(Self.names.contains("synthetic-qwen2"))
        #expect(Self.names.contains("synthetic-llama3-rope-freqs"))
    }

    @Test(arguments: names)
    func greedyContinuationsAndFirstLogitsMatchLlamaCpp(_ name: String) throws {
        let reference = try GenerationReference.load(name)
        let file = try GGUFFile(path: try RealModels.path(for: reference))
        let hyper = try LlamaHyperparameters(gguf: file)
        #expect(hyper.architecture.rawValue == reference.architecture)
        #expect(hyper.vocabularySize == reference.nVocab)
        // Two stages, so the split every peer arrangement relies on is exercised on every model.
        let middle = hyper.blockCount / 2
        let stages = [try LlamaStage(model: file, layers: 0 ..< middle),
                      try LlamaStage(model: file, layers: middle ..< hyper.blockCount)]
        let tolerance = Self.logitTolerance(reference)
        for (index, item) in reference.cases.enumerated() {
            let id = SequenceID(UInt64(index))
            let prompt = item.promptTokenIds
            var logits = try EngineTestSupport.logits(
                stages: stages, slices: [SequenceSlice(sequence: id, startPosition: 0, count: prompt.count)],
                tokens: prompt)
            var worst: Float = 0
            for top in item.firstStepTop10 {
                worst = max(worst, abs(logits.values[Int(top.tokenId)] - top.logit))
            }
            #expect(worst <= tolerance, "\(name) \(item.name): first-step logits differ by up to \(worst)")
            var generated: [TokenID] = []
            for step in item.greedyTokenIds.indices {
                let token = TokenID(TokenSampler.argmax(logits.values))
                if token != item.greedyTokenIds[step] {
                    let margin = item.greedyMargins[step]
                    #expect(margin < Self.tieMargin, """
                        \(name) \(item.name): step \(step) gave \(token), llama.cpp \(item.greedyTokenIds[step]) \
                        (margin \(margin)); ours so far \(generated), llama.cpp \(item.greedyTokenIds)
                        """)
                    break
                }
                generated.append(token)
                guard step + 1 < item.greedyTokenIds.count else { break }
                logits = try EngineTestSupport.logits(
                    stages: stages, slices: [SequenceSlice(sequence: id, startPosition: prompt.count + step, count: 1)],
                    tokens: [token])
            }
            stages.forEach { $0.release(id) }
        }
    }
}
