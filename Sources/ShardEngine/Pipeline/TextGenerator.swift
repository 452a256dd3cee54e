import Foundation
import ShardTokenizers

/// Why a generation ended.
public enum FinishReason: String, Sendable, Codable {
    /// `maxNewTokens` tokens were generated (or the context filled up).
    case length
    /// The model produced an end-of-generation token (EOS, or end-of-turn such as `<|im_end|>`).
    case eos
    /// A stop string matched.
    case stop
    /// The caller stopped it.
    case cancelled
}

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
    /// - Parameter onToken: called with each token id and the text it completed (possibly `""`), and once more
    ///   with `nil` for text held back at the end (an incomplete character); return `false` to stop.
    /// - Throws: ``EngineError`` for an empty prompt, one longer than the context, or invalid ids.
    public func generate(promptIDs: [TokenID], maxNewTokens: Int, sampling: SamplingParameters,
                         onToken: (TokenID?, String) -> Bool) throws(EngineError) -> GenerationSummary {
        guard !promptIDs.isEmpty else { throw .invalidBatch("the prompt is empty") }
        guard promptIDs.count < contextLength else {
            throw .contextOverflow(sequence: SequenceID(0), length: promptIDs.count, contextLength: contextLength)
        }
        let sequence = SequenceID(UInt64.random(in: 1 ... .max))
        defer { pipeline.release(sequence) }
        let sampler = TokenSampler(parameters: sampling)
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer, context: promptIDs)
        let start = Date()
        var firstTokenAt = start
        var generated = 0
        var slice = SequenceSlice(sequence: sequence, startPosition: 0, count: promptIDs.count)
        var input = promptIDs
        var reason = FinishReason.length
        while generated < maxNewTokens {
            let logits = try pipeline.forward(slices: [slice], tokens: input)
            let token = sampler.sample(logits: logits.row(0), generatedCount: generated,
                                       endOfGeneration: tokenizer.endOfGenerationIDs)
            if generated == 0 { firstTokenAt = Date() }
            if tokenizer.endOfGenerationIDs.contains(token) { reason = .eos; break }
            generated += 1
            let text: String
            do { text = try detokenizer.push(token) } catch { throw .tokenizer(error) }
            guard onToken(token, text) else { reason = .cancelled; break }
            slice = SequenceSlice(sequence: sequence, startPosition: slice.startPosition + slice.count, count: 1)
            input = [token]
            if slice.startPosition + 1 > contextLength { break }
        }
        let tail = detokenizer.finish()
        if !tail.isEmpty { _ = onToken(nil, tail) }
        let end = Date()
        return GenerationSummary(finishReason: reason, promptTokens: promptIDs.count, completionTokens: generated,
                                 prefillSeconds: firstTokenAt.timeIntervalSince(start),
                                 decodeSeconds: end.timeIntervalSince(firstTokenAt))
    }
}
