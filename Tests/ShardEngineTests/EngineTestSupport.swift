import Foundation
@testable import ShardEngine
import ShardTokenizers

/// Helpers shared by the engine tests.
enum EngineTestSupport {
    static let fixtureDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/kjv-tiny")
    static func fixture(_ name: String) -> String { fixtureDirectory.appendingPathComponent(name).path }

    /// Runs `tokens` as one slice through a chain of stages and returns the last row's logits.
    static func logits(stages: [LlamaStage], slices: [SequenceSlice], tokens: [TokenID]) throws -> HiddenStates {
        var batch = StageBatch(slices: slices, input: .tokens(tokens))
        for stage in stages {
            switch try stage.forward(batch) {
            case let .hidden(states): batch.input = .hidden(states)
            case let .logits(logits): return logits
            }
        }
        fatalError("no last stage")
    }

    /// Deterministic pseudo-random token ids below `vocabulary`.
    static func tokens(_ count: Int, vocabulary: Int, seed: UInt64) -> [TokenID] {
        var random = SeededRandom(seed: seed)
        return (0 ..< count).map { _ in TokenID(random.next() % UInt64(vocabulary)) }
    }

    static func maxDifference(_ a: some Collection<Float>, _ b: some Collection<Float>) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
