import COpenBLAS
import CShardKernels
import Foundation
import ShardTokenizers
import ShardSync

/// Runs the blocks `[layers.lowerBound, layers.upperBound)` of a Llama model, with a KV cache per sequence.
///
/// The first stage (`layers` starts at 0) embeds token ids; the last stage (it ends at `blockCount`) returns logits;
/// a stage covering every layer does both. A batch carries any mix of sequences at different positions, prefill and
/// decode alike. Calls are serialized by an internal lock; a batch that fails validation changes nothing.
public final class LlamaStage: @unchecked Sendable {
    /// The model's shape.
    public let hyperparameters: LlamaHyperparameters
    /// The blocks this stage computes.
    public let layers: Range<Int>
    /// The model file; weights are views into its mapping.
    public let model: GGUFFile
    let weights: StageWeights
    /// Guards `caches` and `scratch`.
    private let lock = Lock()
    private var caches: [SequenceID: SequenceCache] = [:]
    private let scratch = Scratch()

    /// True when the stage takes token ids.
    public var isFirst: Bool { layers.lowerBound == 0 }
    /// True when the stage returns logits.
    public var isLast: Bool { layers.upperBound == hyperparameters.blockCount }
    /// Bytes of weights read per token, for bandwidth estimates.
    public var weightBytesPerToken: Int { weights.bytesPerToken }

    /// Loads the blocks `layers` of `model`.
    ///
    /// - Throws: ``EngineError`` for an invalid range, missing or misshapen tensors, or unsupported types.
    public init(model: GGUFFile, layers: Range<Int>) throws(EngineError) {
        let hyper: LlamaHyperparameters
        do { hyper = try LlamaHyperparameters(gguf: model) } catch { throw .invalidModel(error) }
        guard !layers.isEmpty, layers.lowerBound >= 0, layers.upperBound <= hyper.blockCount else {
            throw .invalidLayerRange(layers, blockCount: hyper.blockCount)
        }
        self.hyperparameters = hyper
        self.layers = layers
        self.model = model
        self.weights = try StageWeights(layers: layers, hyper: hyper, gguf: model)
        Self.configureBLAS
    }

    /// OpenBLAS runs one thread per call: the engine parallelises above it (see ``Parallel``).
    private static let configureBLAS: Void = openblas_set_num_threads(1)

    /// Sequences with cached state.
    public var activeSequences: Set<SequenceID> { lock.withLock { Set(caches.keys) } }

    /// Number of positions cached for `sequence` (0 when unknown).
    public func cachedLength(of sequence: SequenceID) -> Int { lock.withLock { caches[sequence]?.count ?? 0 } }

    /// Frees the cache of `sequence`. Unknown sequences are ignored.
    public func release(_ sequence: SequenceID) { _ = lock.withLock { caches.removeValue(forKey: sequence) } }

    /// Frees every cache.
    public func releaseAll() { lock.withLock { caches.removeAll() } }

    /// Runs one batch through this stage's blocks.
    ///
    /// - Throws: ``EngineError`` when the batch is malformed; no cache is changed then.
    public func forward(_ batch: StageBatch) throws(EngineError) -> StageOutput {
        try lock.withLock { () throws(EngineError) -> StageOutput in
            try validate(batch)
            return compute(batch, caches: &caches, scratch: scratch)
        }
    }

    private func validate(_ batch: StageBatch) throws(EngineError) {
        let h = hyperparameters
        guard !batch.slices.isEmpty else { throw .invalidBatch("the batch has no sequences") }
        var seen = Set<SequenceID>()
        for slice in batch.slices {
            guard slice.count > 0 else { throw .invalidBatch("\(slice.sequence) has no rows") }
            guard seen.insert(slice.sequence).inserted else {
                throw .invalidBatch("\(slice.sequence) appears twice in one batch")
            }
            let cached = caches[slice.sequence]?.count ?? 0
            guard slice.startPosition == cached else {
                throw .positionMismatch(sequence: slice.sequence, expected: cached, got: slice.startPosition)
            }
            let end = slice.startPosition + slice.count
            guard end <= h.contextLength else {
                throw .contextOverflow(sequence: slice.sequence, length: end, contextLength: h.contextLength)
            }
        }
        let rows = batch.rowCount
        switch batch.input {
        case let .tokens(ids):
            guard isFirst else { throw .invalidBatch("stage \(layers) takes hidden states, not token ids") }
            guard ids.count == rows else { throw .invalidBatch("\(ids.count) token ids for \(rows) rows") }
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= h.vocabularySize }) {
                throw .tokenOutOfRange(bad, vocabularySize: h.vocabularySize)
            }
        case let .hidden(states):
            guard !isFirst else { throw .invalidBatch("stage \(layers) takes token ids, not hidden states") }
            guard states.rows == rows, states.width == h.embeddingLength,
                  states.values.count == rows * h.embeddingLength
            else {
                throw .invalidBatch("hidden states \(states.rows)x\(states.width) (\(states.values.count) values) "
                    + "for \(rows) rows of width \(h.embeddingLength)")
            }
            guard states.values.allSatisfy(\.isFinite) else { throw .invalidBatch("hidden states are not finite") }
        }
    }
}
