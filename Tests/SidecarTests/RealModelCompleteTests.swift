import Foundation
import ShardEngine
import ShardTestSupport
import ShardTokenizers
import Testing

/// `shard-sidecar complete` on the two real models in their Q4_K_M files (SmolLM2-135M-Instruct as we re-quantize it,
/// Gemma 3 270M as published), greedy: for every plain prompt of the references, the text of llama.cpp's greedy
/// tokens with the prompt evaluated one token at a time (`stepwise` in `Fixtures/reference`). Our kernels are
/// llama.cpp's single-token kernels bit for bit, so the whole path (tokenizer, batched prefill, decode, streaming
/// of the text) must give exactly those tokens.
@Suite("complete on real models", .serialized, .timeLimit(.minutes(5)))
struct RealModelCompleteTests {
    @Test(arguments: ["smollm2-q4_k_m", "gemma3-270m-q4_k_m"])
    func completeGivesLlamaCppsStepwiseTokens(_ name: String) throws {
        let reference = try GenerationReference.load(name)
        let model = try RealModels.path(for: reference)
        let bundle = try ModelBundle(modelPath: model)
        let eog = Set(reference.eogTokenIds)
        for item in reference.cases where item.kind == .text {
            #expect(bundle.tokenizer.encode(item.prompt, addBOS: bundle.addsBOS) == item.promptTokenIds)
            let tokens = item.stepwise.greedyTokenIds
            let expected = try bundle.tokenizer.decode(Array(tokens.prefix { !eog.contains($0) }))
            let text = try completeReference(model: ["--model", model], prompt: item.prompt,
                                             maxNewTokens: tokens.count)
            #expect(text == expected, "\(name) \(item.name)")
        }
    }
}
