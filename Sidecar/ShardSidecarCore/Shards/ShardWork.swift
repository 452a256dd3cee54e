import ShardEngine
import ShardProtocol
import ShardTokenizers

/// How finely hidden states travel between stages (f16 halves the bytes on a link; in-process it is always f32).
public enum HiddenPrecision: Sendable, Equatable {
    /// Full precision.
    case f32
    /// Half precision: the values were (or will be) rounded to f16.
    case f16
}

extension HiddenPrecision {
    /// The precision of hidden states carried as `dtype` (f16 for f16, else f32).
    init(_ dtype: PeerFrame.DType) { self = dtype == .f16 ? .f16 : .f32 }

    /// The element type that carries hidden states of this precision on a link.
    var dtype: PeerFrame.DType { self == .f16 ? .f16 : .f32 }
}

/// One step's work for one shard, in the engine's terms. Only the peer link (``RemotePeerRunner``,
/// ``PeerServer``) turns it into wire frames.
struct ShardWork: Sendable, Equatable {
    /// The sequences, their positions and their input rows.
    var batch: StageBatch
    /// For a last stage: how to sample each slice.
    var sampling: [SliceSampling]?
    /// The precision the hidden-state input already has (a link keeps it).
    var precision: HiddenPrecision = .f32
}

/// What a shard returns for a step.
enum ShardResult: Sendable, Equatable {
    /// Activations for every row, for the next stage.
    case hidden(HiddenStates, precision: HiddenPrecision)
    /// One sampled token per slice (a last stage).
    case sampled([TokenID])
}

/// Runs work on a local ``LlamaStage``: the one code path behind in-process shards and `peer` servers. A last
/// stage samples one token per slice with the slice's sampling record, so sampling happens where the logits are.
struct StageExecutor: Sendable {
    let stage: LlamaStage
    /// Ids that end a generation (EOS and end-of-turn tokens of the model's vocabulary): never sampled before
    /// `min_tokens`.
    let endOfGeneration: Set<TokenID>
    /// Precision of the hidden states this executor returns.
    let precision: HiddenPrecision

    init(stage: LlamaStage, precision: HiddenPrecision = .f32) {
        self.stage = stage
        let eos = stage.model.metadata["tokenizer.ggml.eos_token_id"]?.intValue.map(TokenID.init)
        endOfGeneration = (try? ModelBundle.embeddedTokenizer(of: stage.model))?.endOfGenerationIDs
            ?? eos.map { [$0] } ?? []
        self.precision = precision
    }

    /// Runs one step; hidden states are labelled `precision` (default: the executor's).
    ///
    /// - Throws: ``ShardError`` when a last stage gets no sampling record per slice; ``EngineError`` from the engine.
    func execute(_ work: ShardWork, precision: HiddenPrecision? = nil) throws -> ShardResult {
        switch try stage.forward(work.batch) {
        case let .hidden(states):
            return .hidden(states, precision: precision ?? self.precision)
        case let .logits(logits):
            guard let sampling = work.sampling, sampling.count == work.batch.slices.count else {
                throw ShardError(shard: "layers \(stage.layers)", message: "the last stage needs one sampling record per slice")
            }
            return .sampled(sampling.indices.map { index in
                TokenSampler(parameters: sampling[index].sampling).sample(
                    logits: logits.row(index), generatedCount: sampling[index].generatedCount,
                    endOfGeneration: endOfGeneration)
            })
        }
    }
}
