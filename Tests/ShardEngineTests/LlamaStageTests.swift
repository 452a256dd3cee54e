import Testing
@testable import ShardEngine
import ShardTokenizers

@Suite("Llama stage on a random model")
struct LlamaStageTests {
    let model: GGUFFile
    init() throws { model = try GGUFReaderTests.parse(GGUFWriter.tinyLlama(blockCount: 4, tiedOutput: false)) }

    func pipeline(_ ranges: [Range<Int>]) throws -> [LlamaStage] {
        try ranges.map { try LlamaStage(model: model, layers: $0) }
    }

    @Test(arguments: [[0 ..< 2, 2 ..< 4], [0 ..< 1, 1 ..< 3, 3 ..< 4], [0 ..< 1, 1 ..< 2, 2 ..< 3, 3 ..< 4]])
    func chainedRangesGiveTheSameLogitsAsOneRange(_ ranges: [Range<Int>]) throws {
        let whole = try pipeline([0 ..< 4]), split = try pipeline(ranges)
        let prompt = EngineTestSupport.tokens(20, vocabulary: 40, seed: 1)
        let slice = SequenceSlice(sequence: SequenceID(1), startPosition: 0, count: prompt.count)
        #expect(try EngineTestSupport.logits(stages: whole, slices: [slice], tokens: prompt)
            == EngineTestSupport.logits(stages: split, slices: [slice], tokens: prompt))
        for step in 0 ..< 5 {
            let next = SequenceSlice(sequence: SequenceID(1), startPosition: 20 + step, count: 1)
            let token: [TokenID] = [TokenID(step * 7 % 40)]
            #expect(try EngineTestSupport.logits(stages: whole, slices: [next], tokens: token)
                == EngineTestSupport.logits(stages: split, slices: [next], tokens: token))
        }
    }

    @Test func batchedSequencesMatchEachSequenceAlone() throws {
        let batched = try pipeline([0 ..< 2, 2 ..< 4])
        let prompts = [EngineTestSupport.tokens(3, vocabulary: 40, seed: 2),
                       EngineTestSupport.tokens(18, vocabulary: 40, seed: 3),
                       EngineTestSupport.tokens(7, vocabulary: 40, seed: 4)]
        // Alone: each sequence prefilled and then stepped on its own pipeline.
        var alone: [[HiddenStates]] = []
        for (index, prompt) in prompts.enumerated() {
            let stages = try pipeline([0 ..< 2, 2 ..< 4])
            let id = SequenceID(UInt64(index))
            var results = [try EngineTestSupport.logits(
                stages: stages, slices: [SequenceSlice(sequence: id, startPosition: 0, count: prompt.count)],
                tokens: prompt)]
            for step in 0 ..< 4 {
                results.append(try EngineTestSupport.logits(
                    stages: stages, slices: [SequenceSlice(sequence: id, startPosition: prompt.count + step, count: 1)],
                    tokens: [TokenID(step + index)]))
            }
            alone.append(results)
        }
        // Batched: sequence 0 and 1 prefill together; sequence 2 joins one step later while the others decode.
        let first = try EngineTestSupport.logits(
            stages: batched,
            slices: [SequenceSlice(sequence: SequenceID(0), startPosition: 0, count: 3),
                     SequenceSlice(sequence: SequenceID(1), startPosition: 0, count: 18)],
            tokens: prompts[0] + prompts[1])
        #expect(Array(first.row(0)) == Array(alone[0][0].row(0)))
        #expect(Array(first.row(1)) == Array(alone[1][0].row(0)))
        let second = try EngineTestSupport.logits(
            stages: batched,
            slices: [SequenceSlice(sequence: SequenceID(2), startPosition: 0, count: 7),
                     SequenceSlice(sequence: SequenceID(0), startPosition: 3, count: 1),
                     SequenceSlice(sequence: SequenceID(1), startPosition: 18, count: 1)],
            tokens: prompts[2] + [0, 1])
        #expect(Array(second.row(0)) == Array(alone[2][0].row(0)))
        #expect(Array(second.row(1)) == Array(alone[0][1].row(0)))
        #expect(Array(second.row(2)) == Array(alone[1][1].row(0)))
        for step in 1 ..< 4 {
            let slices = (0 ..< 3).map { index in
                SequenceSlice(sequence: SequenceID(UInt64(index)),
                              startPosition: prompts[index].count + step - (index == 2 ? 1 : 0), count: 1)
            }
            let tokens = (0 ..< 3).map { TokenID(step - ($0 == 2 ? 1 : 0) + $0) }
            let logits = try EngineTestSupport.logits(stages: batched, slices: slices, tokens: tokens)
            #expect(Array(logits.row(0)) == Array(alone[0][step + 1].row(0)))
            #expect(Array(logits.row(1)) == Array(alone[1][step + 1].row(0)))
            #expect(Array(logits.row(2)) == Array(alone[2][step].row(0)))
        }
    }

    @Test func prefillMatchesTokenByTokenDecoding() throws {
        let prompt = EngineTestSupport.tokens(24, vocabulary: 40, seed: 9)
        let prefill = try pipeline([0 ..< 4])
        let stepwise = try pipeline([0 ..< 4])
        let all = try EngineTestSupport.logits(
            stages: prefill, slices: [SequenceSlice(sequence: SequenceID(5), startPosition: 0, count: 24)],
            tokens: prompt)
        var last: HiddenStates?
        for (position, token) in prompt.enumerated() {
            last = try EngineTestSupport.logits(
                stages: stepwise, slices: [SequenceSlice(sequence: SequenceID(5), startPosition: position, count: 1)],
                tokens: [token])
        }
        let stepLogits = try #require(last)
        #expect(EngineTestSupport.maxDifference(all.values, stepLogits.values) < 1e-4)
    }

    @Test func releasingASequenceFreesItsCacheOnEveryStage() throws {
        let stages = try pipeline([0 ..< 2, 2 ..< 4])
        for id in 1 ... 3 {
            _ = try EngineTestSupport.logits(
                stages: stages, slices: [SequenceSlice(sequence: SequenceID(UInt64(id)), startPosition: 0, count: 5)],
                tokens: [1, 2, 3, 4, 5])
        }
        #expect(stages.allSatisfy { $0.activeSequences.count == 3 })
        for stage in stages { stage.release(SequenceID(2)) }
        #expect(stages.allSatisfy { $0.activeSequences == [SequenceID(1), SequenceID(3)] })
        #expect(stages[0].cachedLength(of: SequenceID(1)) == 5)
        for stage in stages { stage.releaseAll() }
        #expect(stages.allSatisfy { $0.activeSequences.isEmpty })
    }

    @Test func invalidBatchesAreRejectedWithoutChangingState() throws {
        let stages = try pipeline([0 ..< 2, 2 ..< 4])
        let id = SequenceID(1)
        _ = try EngineTestSupport.logits(stages: stages, slices: [SequenceSlice(sequence: id, startPosition: 0, count: 3)],
                                         tokens: [1, 2, 3])
        let first = stages[0]
        #expect(throws: EngineError.positionMismatch(sequence: id, expected: 3, got: 5)) {
            try first.forward(StageBatch(slices: [SequenceSlice(sequence: id, startPosition: 5, count: 1)],
                                         input: .tokens([1])))
        }
        #expect(throws: EngineError.tokenOutOfRange(40, vocabularySize: 40)) {
            try first.forward(StageBatch(slices: [SequenceSlice(sequence: id, startPosition: 3, count: 1)],
                                         input: .tokens([40])))
        }
        #expect(throws: EngineError.contextOverflow(sequence: SequenceID(9), length: 65, contextLength: 64)) {
            try first.forward(StageBatch(slices: [SequenceSlice(sequence: SequenceID(9), startPosition: 0, count: 65)],
                                         input: .tokens(Array(repeating: 1, count: 65))))
        }
        #expect(throws: EngineError.self) {
            try first.forward(StageBatch(slices: [SequenceSlice(sequence: id, startPosition: 3, count: 2)],
                                         input: .tokens([1])))
        }
        #expect(throws: EngineError.self) {
            try stages[1].forward(StageBatch(slices: [SequenceSlice(sequence: id, startPosition: 3, count: 1)],
                                             input: .tokens([1])))
        }
        #expect(throws: EngineError.self) {
            try stages[1].forward(StageBatch(slices: [SequenceSlice(sequence: id, startPosition: 3, count: 1)],
                                             input: .hidden(HiddenStates(rows: 1, width: 31, values: Array(repeating: 0, count: 31)))))
        }
        #expect(throws: EngineError.self) {
            try stages[1].forward(StageBatch(slices: [SequenceSlice(sequence: id, startPosition: 3, count: 1)],
                                             input: .hidden(HiddenStates(rows: 1, width: 32, values: [.nan] + Array(repeating: 0, count: 31)))))
        }
        #expect(throws: EngineError.self) {
            try first.forward(StageBatch(slices: [SequenceSlice(sequence: id, startPosition: 3, count: 1),
                                                  SequenceSlice(sequence: id, startPosition: 3, count: 1)],
                                         input: .tokens([1, 2])))
        }
        #expect(stages.allSatisfy { $0.cachedLength(of: id) == 3 })
        #expect(throws: EngineError.invalidLayerRange(3 ..< 7, blockCount: 4)) { try LlamaStage(model: model, layers: 3 ..< 7) }
        #expect(throws: EngineError.invalidLayerRange(2 ..< 2, blockCount: 4)) { try LlamaStage(model: model, layers: 2 ..< 2) }
    }
}
