import Foundation
import ShardProtocol
@testable import ShardSidecarCore

/// A shard that computes nothing but keeps a shard's books: which rows of which sequence it holds, so a frame that
/// does not continue a sequence where its cache ends is an error, as on a real stage. A last stage "samples" the
/// letter `a` + position % 26, so every request's text is known in advance and survives any replay unchanged.
/// Faults are injected by call number: a failure (the cache is lost, like a peer that died), a wrong answer.
final class FakeShard: ShardRunner, @unchecked Sendable {
    let layers: Range<Int>
    let isLast: Bool
    let name: String
    let capacity: Int?
    private let lock = NSLock()
    private var cache: [UInt64: Int] = [:]
    private var calls = 0
    private var failing: Set<Int> = []
    private var answeringWrong: Set<Int> = []
    private var failingFrom: Int?
    /// Per call, the rows of each slice (`[sequence: count]`).
    private(set) var frames: [[UInt64: Int]] = []
    private(set) var mostCached = 0

    init(_ name: String, layers: Range<Int>, isLast: Bool, capacity: Int? = nil) {
        self.name = name
        self.layers = layers
        self.isLast = isLast
        self.capacity = capacity
    }

    /// Makes calls number `calls` (1-based) fail; `from` makes every call from that one on fail.
    func fail(calls: Set<Int> = [], from: Int? = nil) { lock.withLock { failing = calls; failingFrom = from } }
    /// Makes calls number `calls` answer another step.
    func answerWrong(calls: Set<Int>) { lock.withLock { answeringWrong = calls } }

    var callCount: Int { lock.withLock { calls } }
    var recordedFrames: [[UInt64: Int]] { lock.withLock { frames } }
    var cachedSequences: Int { lock.withLock { cache.count } }

    static func letter(at position: Int) -> Int32 { Int32(97 + position % 26) }

    var status: ShardStatus { ShardStatus(name: name, layers: layers, state: .ready, latencyMilliseconds: nil) }

    func run(_ frame: PeerFrame) throws(ShardError) -> PeerFrame {
        lock.lock()
        defer { lock.unlock() }
        do {
            calls += 1
            frames.append(Dictionary(uniqueKeysWithValues: frame.slices.map { ($0.sequence, Int($0.count)) }))
            if failing.contains(calls) || failingFrom.map({ calls >= $0 }) == true {
                cache.removeAll()
                throw ShardError(shard: name, message: "injected failure at call \(calls)")
            }
            for slice in frame.slices {
                let held = cache[slice.sequence] ?? 0
                guard held == Int(slice.startPosition) else {
                    throw ShardError(shard: name, message: "seq \(slice.sequence) continues at \(slice.startPosition) but holds \(held)")
                }
                cache[slice.sequence] = held + Int(slice.count)
            }
            mostCached = max(mostCached, cache.count)
            let step = answeringWrong.contains(calls) ? frame.step + 1 : frame.step
            if isLast {
                let tokens = frame.slices.map { Self.letter(at: Int($0.startPosition + $0.count)) }
                return PeerFrame(kind: .sampled, dtype: .tokens, step: step, slices: frame.slices, tokens: tokens)
            }
            return PeerFrame(kind: .hidden, dtype: .f32, step: step, slices: frame.slices, width: 1,
                             values: [Float](repeating: 0, count: frame.rowCount))
        }
    }

    func release(_ sequences: [UInt64]) { lock.withLock { for sequence in sequences { cache[sequence] = nil } } }
    func cachedSequenceCount() -> Int? { cachedSequences }
}
