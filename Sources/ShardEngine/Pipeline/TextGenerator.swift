import Foundation
import ShardProtocol
import ShardTokenizers

/// Figures of one finished generation.
public struct GenerationSummary: Sendable {
    /// Why it ended.
    public var finishReason: FinishReason
    /// Prompt length in tokens.
    public var promptTokens: Int
    /// Generated tokens, end-of-sequence excluded.
    public var completionTokens: Int
    /// Seconds spent on the prompt (prefill and the first token).
    public var prefillSeconds: Double
    /// Seconds spent generating the remaining tokens.
    public var decodeSeconds: Double
}

/// Generates text for one prompt on a local pipeline: prefill, then one decode step per token, streaming the
/// text as it becomes complete.
public struct TextGenerator: Sendable {
    /// The pipeline that runs the model.
    public let pipeline: LocalPipeline
    /// Tokenizer for prompt and output.
    public let tokenizer: any Tokenizer
    /// The model's context length.
    public let contextLength: Int

    /// Creates a generator.
    public init(pipeline: LocalPipeline, tokenizer: any Tokenizer, contextLength: Int) {
        self.pipeline = pipeline
        self.tokenizer = tokenizer
        self.contextLength = contextLength
    }

    /// Generates up to `maxNewTokens` tokens after `promptIDs`.
    ///
    /// - Parameter onToken: called with each token id and the text it completed (possibly `""`; the last one also
    ///   carries text held back until the end), or with `nil` and the held-back text when an end-of-generation id
    ///   ends it; return `false` to stop. The loop is ``GenerationProgress``, as in the sidecar's scheduler.
    /// - Throws: ``EngineError`` for an empty prompt, one longer than the context, or invalid ids.
    public func generate(promptIDs: [TokenID], maxNewTokens: Int, sampling: Sampling,
                         onToken: (TokenID?, String) -> Bool) throws(EngineError) -> GenerationSummary {
        guard !promptIDs.isEmpty else { throw .invalidBatch("the prompt is empty") }
        guard promptIDs.count < contextLength else {
            throw .contextOverflow(sequence: SequenceID(0), length: promptIDs.count, contextLength: contextLength)
        }
        let sequence = SequenceID(UInt64.random(in: 1 ... .max))
        defer { pipeline.release(sequence) }
        let sampler = TokenSampler(parameters: sampling)
        var progress = GenerationProgress(tokenizer: tokenizer, promptIDs: promptIDs, limits: .init(
            maxNewTokens: maxNewTokens, minTokens: sampling.minTokens, endOfGeneration: tokenizer.endOfGenerationIDs))
        let start = Date()
        var firstTokenAt = start
        var slice = SequenceSlice(sequence: sequence, startPosition: 0, count: promptIDs.count)
        var input = promptIDs
        var reason = FinishReason.length
        while true {
            let logits = try pipeline.forward(slices: [slice], tokens: input)
            let token = sampler.sample(logits: logits.row(0), generatedCount: progress.generated.count,
                                       endOfGeneration: tokenizer.endOfGenerationIDs)
            if progress.generated.isEmpty { firstTokenAt = Date() }
            let next = slice.startPosition + slice.count
            let step: GenerationProgress.Step
            do { step = try progress.accept(token, contextFull: next >= contextLength) } catch { throw .tokenizer(error) }
            if let text = step.text, !onToken(step.counted ? token : nil, text) {
                reason = .cancelled
                break
            }
            if let finish = step.finish {
                reason = finish
                break
            }
            slice = SequenceSlice(sequence: sequence, startPosition: next, count: 1)
            input = [token]
        }
        let end = Date()
        return GenerationSummary(finishReason: reason, promptTokens: promptIDs.count,
                                 completionTokens: progress.generated.count,
                                 prefillSeconds: firstTokenAt.timeIntervalSince(start),
                                 decodeSeconds: end.timeIntervalSince(firstTokenAt))
    }
}
