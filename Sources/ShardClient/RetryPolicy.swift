/// When and how often the SDK retries: submissions and idempotent reads only, and never once a token has been
/// yielded to the caller (that would risk repeating text).
public struct RetryPolicy: Sendable {
    /// Total tries, the first included (1 disables retries).
    public var maxAttempts: Int
    /// Wait before the second try; doubles each time up to ``maxBackoff``, with full jitter.
    public var initialBackoff: Duration
    /// Longest wait between tries.
    public var maxBackoff: Duration
    /// HTTP statuses worth retrying.
    public var retryableStatuses: Set<Int>
    /// Whether refused or broken connections are retried.
    public var retriesConnectionFailures: Bool
    /// Called before each retry with the attempt number that failed (1-based) and its error: for logging.
    public var onRetry: (@Sendable (_ failedAttempt: Int, _ error: ShardClientError) -> Void)?

    /// Creates a policy.
    public init(maxAttempts: Int = 4, initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(2),
                retryableStatuses: Set<Int> = [502, 503, 504], retriesConnectionFailures: Bool = true,
                onRetry: (@Sendable (Int, ShardClientError) -> Void)? = nil) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.retryableStatuses = retryableStatuses
        self.retriesConnectionFailures = retriesConnectionFailures
        self.onRetry = onRetry
    }

    /// Four attempts, 100 ms doubling to 2 s, statuses 502/503/504 and connection failures.
    public static let `default` = RetryPolicy()
    /// A single attempt.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// Whether `error` may be retried.
    func allowsRetry(of error: ShardClientError) -> Bool {
        if let status = error.httpStatus { return retryableStatuses.contains(status) }
        return retriesConnectionFailures && (error.kind == .noSidecar || error.kind == .transport)
    }

    /// The wait before try `attempt + 1`: random in [0, min(max, initial * 2^(attempt-1))].
    func backoff(after attempt: Int) -> Duration {
        let ceiling = min(maxBackoff, initialBackoff * (1 << min(attempt - 1, 20)))
        let nanoseconds = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: 0 ... max(nanoseconds, 0)))
    }

    /// Runs `operation` until it succeeds, fails with a non-retryable error, or the attempts run out.
    func run<T: Sendable>(_ operation: @Sendable () async throws(ShardClientError) -> T) async throws(ShardClientError) -> T {
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch {
                let failure = error
                guard attempt < maxAttempts, allowsRetry(of: failure), !Task.isCancelled else { throw failure }
                onRetry?(attempt, failure)
                do { try await Task.sleep(for: backoff(after: attempt)) } catch {
                    throw ShardClientError(.cancelled, "cancelled while waiting to retry", requestID: failure.requestID)
                }
                attempt += 1
            }
        }
    }
}
