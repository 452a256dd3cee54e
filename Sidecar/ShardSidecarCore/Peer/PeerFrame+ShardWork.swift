import ShardEngine
import ShardProtocol

/// The one place where the engine's terms (``ShardWork``, ``ShardResult``) meet the wire's (``PeerFrame``):
/// the sidecar's side of a link encodes work and checks answers; the peer's side decodes work and encodes results.
extension PeerFrame {
    /// The forward frame of `work` (the sidecar sends it).
    init(forward work: ShardWork, step: UInt64) {
        let slices = work.batch.slices.map {
            PeerFrame.Slice(sequence: $0.sequence.rawValue, startPosition: UInt32($0.startPosition), count: UInt32($0.count))
        }
        let sampling = work.sampling
        switch work.batch.input {
        case let .tokens(tokens):
            self.init(kind: .forward, dtype: .tokens, step: step, slices: slices, sampling: sampling, tokens: tokens)
        case let .hidden(states):
            self.init(kind: .forward, dtype: work.precision.dtype, step: step, slices: slices,
                      sampling: sampling, width: states.width, values: states.values)
        }
    }

    /// The frame answering `request` with `result` (the peer sends it).
    init(result: ShardResult, answering request: PeerFrame) {
        switch result {
        case let .hidden(states, precision):
            self.init(kind: .hidden, dtype: precision.dtype, step: request.step,
                      slices: request.slices, width: states.width, values: states.values)
        case let .sampled(tokens):
            self.init(kind: .sampled, dtype: .tokens, step: request.step, slices: request.slices, tokens: tokens)
        }
    }
}

extension ShardWork {
    /// The work of a forward frame (the peer runs it), with the link's sequence numbers replaced by `sequences`.
    ///
    /// - Throws: ``PeerFrameError`` for a frame that is not forward work.
    init(frame: PeerFrame, sequences: [SequenceID]) throws(PeerFrameError) {
        guard frame.kind == .forward else { throw PeerFrameError("a shard accepts forward and release frames, not \(frame.kind)") }
        let slices = zip(frame.slices, sequences).map { slice, id in
            SequenceSlice(sequence: id, startPosition: Int(slice.startPosition), count: Int(slice.count))
        }
        let input: StageInput = switch frame.dtype {
        case .tokens: .tokens(frame.tokens)
        case .f32, .f16: .hidden(HiddenStates(rows: frame.rowCount, width: frame.width, values: frame.values))
        }
        self.init(batch: StageBatch(slices: slices, input: input),
                  sampling: frame.sampling,
                  precision: HiddenPrecision(frame.dtype))
    }
}

extension ShardResult {
    /// The result carried by `answer`, checked against the `request` it must answer (same step and sequences, a
    /// token per slice from a last stage, a row of hidden states per input row otherwise).
    init(answer: PeerFrame, request: PeerFrame, last: Bool) throws(PeerFrameError) {
        guard answer.step == request.step, answer.slices == request.slices else {
            throw PeerFrameError("answered a different step or sequences")
        }
        if last {
            guard answer.kind == .sampled, answer.tokens.count == request.slices.count else {
                throw PeerFrameError("a last stage must return one sampled id per sequence")
            }
            self = .sampled(answer.tokens)
        } else {
            guard answer.kind == .hidden, answer.width > 0, answer.values.count == request.rowCount * answer.width else {
                throw PeerFrameError("a stage returned malformed hidden states")
            }
            self = .hidden(HiddenStates(rows: request.rowCount, width: answer.width, values: answer.values),
                           precision: HiddenPrecision(answer.dtype))
        }
    }
}
