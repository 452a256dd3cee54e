import Foundation
import ShardEngine
import ShardProtocol
@testable import ShardSidecarCore

/// A shard that computes nothing but keeps a shard's books: which rows of which sequence it holds, so a frame that
/// does not continue a sequence where its cache ends is an error, as on a real stage. A last stage "samples" the
/// letter `a` + position % 26, so every request's text is known in advance and survives any replay unchanged.
/// Faults are injected by call number: a failure (the cache is lost, like a peer that died), a wrong answer (a
/// result that does not fit its work).
final class FakeShard: InlineShardRunner, @unchecked Sendable {
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
    /// Makes calls number `calls` answer with a result that does not fit the work.
    func answerWrong(calls: Set<Int>) { lock.withLock { answeringWrong = calls } }

    var callCount: Int { lock.withLock { calls } }
    var recordedFrames: [[UInt64: Int]] { lock.withLock { frames } }
    var cachedSequences: Int { lock.withLock { cache.count } }

    static func letter(at position: Int) -> Int32 { Int32(97 + position % 26) }

    var status: ShardStatus { ShardStatus(name: name, layers: layers, state: .ready, latencyMilliseconds: nil) }

    func run(_ work: ShardWork) throws(ShardError) -> ShardResult {
        lock.lock()
        defer { lock.unlock() }
        calls += 1
        let slices = work.batch.slices
        frames.append(Dictionary(uniqueKeysWithValues: slices.map { ($0.sequence.rawValue, $0.count) }))
        if failing.contains(calls) || failingFrom.map({ calls >= $0 }) == true {
            cache.removeAll()
            throw ShardError(shard: name, message: "injected failure at call \(calls)")
        }
        for slice in slices {
            let held = cache[slice.sequence.rawValue] ?? 0
            guard held == slice.startPosition else {
                throw ShardError(shard: name, message: "seq \(slice.sequence) continues at \(slice.startPosition) but holds \(held)")
            }
            cache[slice.sequence.rawValue] = held + slice.count
        }
        mostCached = max(mostCached, cache.count)
        if answeringWrong.contains(calls) {
            return isLast ? .sampled([]) : .hidden(HiddenStates(rows: 0, width: 1, values: []), precision: .f32)
        }
        if isLast { return .sampled(slices.map { Self.letter(at: $0.startPosition + $0.count) }) }
        let rows = work.batch.rowCount
        return .hidden(HiddenStates(rows: rows, width: 1, values: [Float](repeating: 0, count: rows)), precision: .f32)
    }

    func release(_ sequences: [UInt64]) { lock.withLock { for sequence in sequences { cache[sequence] = nil } } }
    func cachedSequenceCount() -> Int? { cachedSequences }
}

/// A shard that answers from its own serial queue, like a peer: ``submit(_:completion:)`` returns at once, so the
/// scheduler may have several steps in flight on it.
final class AsyncShard: ShardRunner, @unchecked Sendable {
    let inner: FakeShard
    private let queue: DispatchQueue

    init(_ inner: FakeShard) {
        self.inner = inner
        queue = DispatchQueue(label: "async-\(inner.name)")
    }

    var layers: Range<Int> { inner.layers }
    var status: ShardStatus { inner.status }
    var isRemote: Bool { true }
    var capacity: Int? { inner.capacity }

    func submit(_ work: ShardWork, completion: @escaping ShardCompletion) {
        queue.async { [inner] in inner.submit(work, completion: completion) }
    }

    func release(_ sequences: [UInt64]) { queue.async { [inner] in inner.release(sequences) } }
    func cachedSequenceCount() -> Int? { queue.sync { inner.cachedSequenceCount() } }
}
