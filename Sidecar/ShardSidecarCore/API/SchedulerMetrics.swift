import Foundation
import ShardSync

/// Step latency histogram and counters kept by the scheduler, read by `/metrics`.
final class SchedulerMetrics: @unchecked Sendable {
    /// Upper bounds of the step-latency histogram buckets, in seconds.
    static let bucketBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
    /// Guards everything below.
    private let lock = Lock()
    private var bucketCounts = [Int](repeating: 0, count: bucketBounds.count)
    private var stepCount = 0
    private var stepSeconds = 0.0
    private var failures = 0

    func recordStep(seconds: Double) {
        lock.withLock {
            for (index, bound) in Self.bucketBounds.enumerated() where seconds <= bound { bucketCounts[index] += 1 }
            stepCount += 1
            stepSeconds += seconds
        }
    }

    func recordFailure() { lock.withLock { failures += 1 } }

    struct Snapshot {
        var cumulativeBuckets: [Int], count: Int, sum: Double, failures: Int
    }

    func snapshot() -> Snapshot {
        lock.withLock { Snapshot(cumulativeBuckets: bucketCounts, count: stepCount, sum: stepSeconds, failures: failures) }
    }
}
