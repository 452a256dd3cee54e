import Dispatch
import Foundation
import ShardEngine
import ShardTokenizers

/// Throughput measurements with the same definitions as `llama_cpp_bench.py`: fixed pseudo-random token ids,
/// no sampling in the timed loop, best of `repeats`.
struct Measurements {
    let stage: LlamaStage
    let repeats: Int
    private var vocabulary: Int { stage.hyperparameters.vocabularySize }

    init(stage: LlamaStage, repeats: Int) {
        self.stage = stage
        self.repeats = max(1, repeats)
    }

    func tokens(_ count: Int, seed: UInt64) -> [TokenID] {
        var state = seed
        return (0 ..< count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return TokenID(3 + Int(state >> 33) % (vocabulary - 3))
        }
    }

    /// Tokens per second for one forward pass over a `tokens`-long prompt.
    func prefill(tokens count: Int) throws -> Double {
        var best = 0.0
        for run in 0 ..< repeats {
            let id = SequenceID(UInt64(1000 + run))
            let prompt = tokens(count, seed: 1)
            let seconds = try time {
                _ = try stage.forward(StageBatch(slices: [SequenceSlice(sequence: id, startPosition: 0, count: count)],
                                                 input: .tokens(prompt)))
            }
            stage.release(id)
            best = max(best, Double(count) / seconds)
        }
        return best
    }

    /// Tokens per second over `steps` decode steps of `sequences` sequences, each prefilled with 16 tokens.
    func decode(sequences: Int, steps: Int) throws -> Double {
        var best = 0.0
        for run in 0 ..< repeats {
            let ids = (0 ..< sequences).map { SequenceID(UInt64(run * 100 + $0)) }
            _ = try stage.forward(StageBatch(
                slices: ids.map { SequenceSlice(sequence: $0, startPosition: 0, count: 16) },
                input: .tokens(ids.indices.flatMap { tokens(16, seed: UInt64($0 + 2)) })))
            let stream = tokens(steps * sequences, seed: 7)
            let seconds = try time {
                for step in 0 ..< steps {
                    _ = try stage.forward(StageBatch(
                        slices: ids.map { SequenceSlice(sequence: $0, startPosition: 16 + step, count: 1) },
                        input: .tokens(Array(stream[step * sequences ..< (step + 1) * sequences]))))
                }
            }
            ids.forEach(stage.release)
            best = max(best, Double(steps * sequences) / seconds)
        }
        return best
    }

    private func time(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}

/// Sustained read bandwidth with one reader per core: the ceiling for memory-bound decoding.
enum MemoryBandwidth {
    static func measure(megabytes: Int = 512) -> Double {
        let count = megabytes << 20 / 4
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: count)
        let workers = ProcessInfo.processInfo.activeProcessorCount
        let box = SendablePointer(pointer: buffer)
        var best = 0.0
        for _ in 0 ..< 3 {
            let start = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let chunk = count / workers / 32 * 32
                let base = UnsafeRawPointer(box.pointer + worker * chunk)
                var a = SIMD8<Float>(), b = SIMD8<Float>(), c = SIMD8<Float>(), d = SIMD8<Float>()
                var offset = 0
                while offset < chunk * 4 {
                    a += base.load(fromByteOffset: offset, as: SIMD8<Float>.self)
                    b += base.load(fromByteOffset: offset + 32, as: SIMD8<Float>.self)
                    c += base.load(fromByteOffset: offset + 64, as: SIMD8<Float>.self)
                    d += base.load(fromByteOffset: offset + 96, as: SIMD8<Float>.self)
                    offset += 128
                }
                if (a + b + c + d).sum() == -1 { print("") }  // keeps the loads alive
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = max(best, Double(count * 4) / seconds)
        }
        return best
    }

    private struct SendablePointer: @unchecked Sendable { let pointer: UnsafeMutablePointer<Float> }
}
