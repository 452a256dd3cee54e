import ShardTokenizers

/// A chain of in-process stages that together cover every layer of a model.
public final class LocalPipeline: Sendable {
    /// The stages in order; the first takes token ids, the last returns logits.
    public let stages: [LlamaStage]

    /// Loads one stage per range.
    ///
    /// - Throws: ``EngineError/invalidLayerRange(_:blockCount:)`` when the ranges do not tile `0 ..< blockCount`
    ///   in order, or any error from loading a stage.
    public init(model: GGUFFile, ranges: [Range<Int>]) throws(EngineError) {
        let blockCount: Int
        do { blockCount = try LlamaHyperparameters(gguf: model).blockCount } catch { throw .invalidModel(error) }
        var expected = 0
        for range in ranges {
            guard range.lowerBound == expected, !range.isEmpty else {
                throw .invalidLayerRange(range, blockCount: blockCount)
            }
            expected = range.upperBound
        }
        guard expected == blockCount else { throw .invalidLayerRange(expected ..< blockCount, blockCount: blockCount) }
        var stages: [LlamaStage] = []
        for range in ranges { stages.append(try LlamaStage(model: model, layers: range)) }
        self.stages = stages
    }

    /// Runs token ids through every stage and returns the logits of each slice's last row.
    public func forward(slices: [SequenceSlice], tokens: [TokenID]) throws(EngineError) -> HiddenStates {
        var batch = StageBatch(slices: slices, input: .tokens(tokens))
        for stage in stages {
            switch try stage.forward(batch) {
            case let .hidden(states): batch.input = .hidden(states)
            case let .logits(logits): return logits
            }
        }
        throw .invalidBatch("the pipeline has no last stage")
    }

    /// Frees `sequence` on every stage.
    public func release(_ sequence: SequenceID) {
        for stage in stages { stage.release(sequence) }
    }
}
