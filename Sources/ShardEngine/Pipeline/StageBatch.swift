import ShardTokenizers

/// A contiguous run of positions of one sequence inside a batch.
public struct SequenceSlice: Sendable, Equatable {
    /// The sequence the rows belong to.
    public var sequence: SequenceID
    /// Position of the first row; must equal the number of positions the stage already caches for the sequence.
    public var startPosition: Int
    /// Number of rows (tokens): many for a prefill, one for a decode step.
    public var count: Int

    /// Creates a slice.
    public init(sequence: SequenceID, startPosition: Int, count: Int) {
        self.sequence = sequence
        self.startPosition = startPosition
        self.count = count
    }
}

/// A row-major matrix of activations: `rows x width` floats.
public struct HiddenStates: Sendable, Equatable {
    /// Number of rows (one per token).
    public var rows: Int
    /// Values per row.
    public var width: Int
    /// `rows * width` values, row after row.
    public var values: [Float]

    /// Wraps values; `values.count` must be `rows * width`.
    public init(rows: Int, width: Int, values: [Float]) {
        self.rows = rows
        self.width = width
        self.values = values
    }

    /// Row `index` as an array.
    public func row(_ index: Int) -> ArraySlice<Float> { values[index * width ..< (index + 1) * width] }
}

/// What enters a stage: token ids for the first stage, hidden states for the others.
public enum StageInput: Sendable, Equatable {
    /// One token id per row (first stage).
    case tokens([TokenID])
    /// Activations from the previous stage.
    case hidden(HiddenStates)
}

/// One step of work for a stage: several sequences, each with one or more new positions.
public struct StageBatch: Sendable, Equatable {
    /// The sequences in this step, in row order.
    public var slices: [SequenceSlice]
    /// Inputs for all rows of all slices, in the same order.
    public var input: StageInput

    /// Creates a batch.
    public init(slices: [SequenceSlice], input: StageInput) {
        self.slices = slices
        self.input = input
    }

    /// Total number of rows.
    public var rowCount: Int { slices.reduce(0) { $0 + $1.count } }
}

/// What leaves a stage.
public enum StageOutput: Sendable, Equatable {
    /// Activations for every row, to feed the next stage.
    case hidden(HiddenStates)
    /// Logits of the last row of each slice (`slices.count x vocabularySize`), from the last stage.
    case logits(HiddenStates)
}
