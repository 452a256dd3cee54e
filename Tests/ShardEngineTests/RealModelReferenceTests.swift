import Foundation
@testable import ShardEngine
import ShardTestSupport
import ShardTokenizers
import Testing

/// The engine against llama.cpp on real models (SmolLM2-135M-Instruct, Gemma 3 270M), SmolLM2 re-quantized to every
/// weight type, and small synthetic `qwen2` and Llama-3-`rope_freqs` models, from
/// `Fixtures/reference/generation-*.json` (`scripts/reference/make_engine_references.py`). Every model runs split
/// over two stages, as peers run it.
///
/// Our kernels reproduce llama.cpp's single-token CPU kernels bit for bit (its x86 AVX2/AVX-512 build: the
/// `ggml_vec_dot_*` orders, and for the matrices it repacks, Q4_0/Q4_K/Q2_K, its `gemv` orders), and we compute
/// every row of a batch that way. So against llama.cpp with the prompt evaluated one token at a time (`stepwise` in
/// the references) every quantized model gives the same first-step logits to the bit and the same greedy tokens.
/// llama.cpp itself computes a batched prompt with other kernels (sgemm for Q5_0/Q8_0 and attention from 2 rows,
/// repacked gemm from 4, its tiled K-quant matmul from 8); we deliberately do not (a replayed prefill must rebuild
/// the KV cache of token-by-token decoding), so against its batched runs a last-bit difference can flip a
/// quantized activation and part the continuations after some tokens. Only the models in `exact` follow those
/// runs token for token; the others are held to measured bounds with teacher forcing (each step scored on
/// llama.cpp's own prefix), which still catches any real kernel or architecture error (errors of whole logits).
///
/// The model files live in the model cache; a missing one fails with the command that makes it (`make models`).
@Suite("Agreement with llama.cpp on real models", .serialized)
struct RealModelReferenceTests {
    static let names = (try? GenerationReference.names()) ?? []

    /// Models whose free-running greedy continuations equal those of llama.cpp's batched prompt for every prompt
    /// (up to near ties). The others part from them where llama.cpp's batched kernels round differently from its
    /// single-token ones, e.g. SmolLM2 Q4_K_M `list` at step 12 (margin 0.16), Gemma 3 `story` at step 13 (0.08),
    /// SmolLM2 Q6_K `code` at step 0 (0.40): there llama.cpp's own stepwise run parts from its batched run too.
    static let exact: Set<String> = [
        "synthetic-qwen2", "synthetic-llama3-rope-freqs", "smollm2-q4_1", "smollm2-q5_1", "smollm2-q8_0",
    ]

    /// A greedy step whose best and second-best logits were closer than this in llama.cpp is a near tie: the other
    /// token is a legitimate pick for an engine that rounds differently, and the continuations part there.
    static let tieMargin: Float = 0.05

    /// Bounds per model: the largest first-step logit difference, and the llama.cpp margin (best minus second-best
    /// logit) above which our pick on llama.cpp's prefix must equal llama.cpp's. Measured worst cases here, with
    /// headroom: F32 models differ by summation order only (2e-6); 32-value block types by up to 0.52 on the long
    /// prompts (llama.cpp's batched kernels); K types and Gemma by up to 0.97.
    static func bounds(_ name: String) -> (logit: Float, margin: Float) {
        if name.hasPrefix("synthetic") { return (1e-3, tieMargin) }
        if ["smollm2-q4_0", "smollm2-q4_1", "smollm2-q5_0", "smollm2-q5_1", "smollm2-q8_0"].contains(name) {
            return (0.75, 0.75)
        }
        return (1.5, 1.5)
    }

    @Test func everyModelHasAReference() {
        for name in ["smollm2-q4_1", "smollm2-q4_k_m", "smollm2-q8_0", "gemma3-270m-q4_k_m", "synthetic-qwen2",
                     "synthetic-llama3-rope-freqs"] {
            #expect(Self.names.contains(name), "\(name)")
        }
    }

    /// Loads the model of `reference` as two stages.
    static func stages(_ reference: GenerationReference) throws -> [LlamaStage] {
        let file = try GGUFFile(path: try RealModels.path(for: reference))
        let hyper = try LlamaHyperparameters(gguf: file)
        #expect(hyper.architecture.rawValue == reference.architecture)
        #expect(hyper.vocabularySize == reference.nVocab)
        let middle = hyper.blockCount / 2
        return [try LlamaStage(model: file, layers: 0 ..< middle),
                try LlamaStage(model: file, layers: middle ..< hyper.blockCount)]
    }

    /// Greedy decoding: the prompt as one batch, then `steps` single tokens (fewer after an end-of-generation
    /// token), each the argmax of the logits; and the logits after the prompt.
    static func greedy(_ stages: [LlamaStage], sequence id: SequenceID, prompt: [TokenID],
                       steps: Int) throws -> (tokens: [TokenID], first: [Float]) {
        var logits = try EngineTestSupport.logits(
            stages: stages, slices: [SequenceSlice(sequence: id, startPosition: 0, count: prompt.count)], tokens: prompt)
        let first = logits.values
        var tokens: [TokenID] = []
        while tokens.count < steps {
            tokens.append(TokenID(TokenSampler.argmax(logits.values)))
            guard tokens.count < steps else { break }
            logits = try EngineTestSupport.logits(
                stages: stages,
                slices: [SequenceSlice(sequence: id, startPosition: prompt.count + tokens.count - 1, count: 1)],
                tokens: [tokens.last!])
        }
        stages.forEach { $0.release(id) }
        return (tokens, first)
    }

    /// Free-running greedy decoding from the prompt: llama.cpp's tokens (its prompt evaluated as one batch, as
    /// `complete` does), except after a near tie.
    @Test(arguments: exact.sorted())
    func greedyContinuationsAreLlamaCppsTokenForToken(_ name: String) throws {
        let reference = try GenerationReference.load(name)
        let stages = try Self.stages(reference)
        for (index, item) in reference.cases.enumerated() {
            let theirs = item.greedyTokenIds
            let ours = try Self.greedy(stages, sequence: SequenceID(UInt64(index)), prompt: item.promptTokenIds,
                                       steps: theirs.count).tokens
            if let step = ours.indices.first(where: { ours[$0] != theirs[$0] }) {
                #expect(item.greedyMargins[step] < Self.tieMargin, """
                    \(name) \(item.name): step \(step) gave \(ours[step]), llama.cpp \(theirs[step]) (margin \
                    \(item.greedyMargins[step])); ours so far \(ours[..<step])
                    """)
            }
        }
    }

    /// Every model against llama.cpp with the prompt evaluated one token at a time (its single-token kernels at
    /// every position), our prompt still evaluated as one batch: the first-step top-10 logits are llama.cpp's bit
    /// for bit and the greedy continuations its tokens exactly, on every quantized model. The synthetic models'
    /// F32 products are summed in another order than llama.cpp's (logits within 1e-5), so there a near tie may part.
    @Test(arguments: names)
    func stepwiseRunsAreLlamaCppsBitForBit(_ name: String) throws {
        let reference = try GenerationReference.load(name)
        let stages = try Self.stages(reference)
        let bitExact = !name.hasPrefix("synthetic")
        for (index, item) in reference.cases.enumerated() {
            let theirs = item.stepwise
            let ours = try Self.greedy(stages, sequence: SequenceID(UInt64(index)), prompt: item.promptTokenIds,
                                       steps: theirs.greedyTokenIds.count)
            for top in theirs.firstStepTop10 {
                let value = ours.first[Int(top.tokenId)]
                if bitExact {
                    #expect(value.bitPattern == top.logit.bitPattern,
                            "\(name) \(item.name): logit of \(top.tokenId) \(value), llama.cpp \(top.logit)")
                } else {
                    #expect(abs(value - top.logit) <= 1e-5, "\(name) \(item.name): \(value) vs \(top.logit)")
                }
            }
            if let step = ours.tokens.indices.first(where: { ours.tokens[$0] != theirs.greedyTokenIds[$0] }) {
                #expect(!bitExact && theirs.greedyMargins[step] < Self.tieMargin, """
                    \(name) \(item.name): step \(step) gave \(ours.tokens[step]), llama.cpp stepwise \
                    \(theirs.greedyTokenIds[step]) (margin \(theirs.greedyMargins[step]))
                    """)
            }
        }
    }

    /// Every model, teacher-forced: first-step logits within the model's bound, and at every step of llama.cpp's
    /// continuation our pick on llama.cpp's prefix equals llama.cpp's token unless llama.cpp's own margin was
    /// below the model's bound.
    @Test(arguments: names)
    func teacherForcedPicksAndFirstLogitsFollowLlamaCpp(_ name: String) throws {
        let reference = try GenerationReference.load(name)
        let stages = try Self.stages(reference)
        let bounds = Self.bounds(name)
        for (index, item) in reference.cases.enumerated() {
            let id = SequenceID(UInt64(index))
            let prompt = item.promptTokenIds
            var logits = try EngineTestSupport.logits(
                stages: stages, slices: [SequenceSlice(sequence: id, startPosition: 0, count: prompt.count)],
                tokens: prompt)
            let worst = item.firstStepTop10.map { abs(logits.values[Int($0.tokenId)] - $0.logit) }.max() ?? 0
            #expect(worst <= bounds.logit, "\(name) \(item.name): first-step logits differ by up to \(worst)")
            for step in item.greedyTokenIds.indices {
                let ours = TokenID(TokenSampler.argmax(logits.values)), theirs = item.greedyTokenIds[step]
                #expect(ours == theirs || item.greedyMargins[step] < bounds.margin, """
                    \(name) \(item.name): step \(step) picks \(ours), llama.cpp \(theirs) with margin \
                    \(item.greedyMargins[step])
                    """)
                guard step + 1 < item.greedyTokenIds.count else { break }
                logits = try EngineTestSupport.logits(
                    stages: stages, slices: [SequenceSlice(sequence: id, startPosition: prompt.count + step, count: 1)],
                    tokens: [theirs])
            }
            stages.forEach { $0.release(id) }
        }
    }
}
