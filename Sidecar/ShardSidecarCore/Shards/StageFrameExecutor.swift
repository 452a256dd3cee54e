import ShardEngine
import ShardProtocol
import ShardTokenizers

/// Executes peer frames on a local ``LlamaStage``: the one code path behind in-process shards and `peer` servers.
///
/// A forward frame of token ids or hidden states runs through the stage; a last stage samples one token per slice
/// with the sampling record the frame carries, so sampling happens where the logits are.
public struct StageFrameExecutor: Sendable {
    /// The stage that computes.
    public let stage: LlamaStage
    /// Ids that end a generation (EOS and end-of-turn tokens of the model's vocabulary): never sampled before
    /// `min_tokens`.
    public let endOfGeneration: Set<TokenID>
    /// Payload type of hidden states this executor sends.
    public let hiddenType: PeerFrame.DType

    /// Wraps `stage`.
    public init(stage: LlamaStage, hiddenType: PeerFrame.DType = .f32) {
        self.stage = stage
        let eos = stage.model.metadata["tokenizer.ggml.eos_token_id"]?.intValue.map(TokenID.init)
        self.endOfGeneration = (try? ModelBundle.embeddedTokenizer(of: stage.model))?.endOfGenerationIDs
            ?? eos.map { [$0] } ?? []
        self.hiddenType = hiddenType
    }

    /// Runs one frame; `.release` frames free caches and return `nil`.
    ///
    /// - Throws: ``PeerFrameError`` for frames that do not fit this stage, ``EngineError`` from the engine.
    public func execute(_ frame: PeerFrame) throws -> PeerFrame? {
        switch frame.kind {
        case .release:
            for slice in frame.slices { stage.release(SequenceID(slice.sequence)) }
            return nil
        case .hidden, .sampled:
            throw PeerFrameError("a shard accepts forward and release frames, not \(frame.kind)")
        case .forward:
            break
        }
        let slices = frame.slices.map {
            SequenceSlice(sequence: SequenceID($0.sequence), startPosition: Int($0.startPosition), count: Int($0.count))
        }
        let input: StageInput
        switch frame.dtype {
        case .tokens: input = .tokens(frame.tokens)
        case .f32, .f16: input = .hidden(HiddenStates(rows: frame.rowCount, width: frame.width, values: frame.values))
        }
        let output = try stage.forward(StageBatch(slices: slices, input: input))
        switch output {
        case let .hidden(states):
            return PeerFrame(kind: .hidden, dtype: hiddenType, step: frame.step, slices: frame.slices,
                             width: states.width, values: states.values)
        case let .logits(logits):
            guard let sampling = frame.sampling, sampling.count == slices.count else {
                throw PeerFrameError("the last stage needs one sampling record per slice")
            }
            let tokens = sampling.indices.map { index in
                let record = sampling[index]
                let sampler = TokenSampler(parameters: SamplingParameters(
                    temperature: record.temperature, topK: Int(record.topK), topP: record.topP, seed: record.seed,
                    minTokens: Int(record.minTokens)))
                return sampler.sample(logits: logits.row(index), generatedCount: Int(record.generatedCount),
                                      endOfGeneration: endOfGeneration)
            }
            return PeerFrame(kind: .sampled, dtype: .tokens, step: frame.step, slices: frame.slices, tokens: tokens)
        }
    }
}
