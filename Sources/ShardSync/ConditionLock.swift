#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A ``Lock`` with a `pthread_cond_t` beside it, for a thread that waits until another changes what the lock
/// guards. Guards whatever state its owner documents.
public final class ConditionLock: @unchecked Sendable {
    // @unchecked: the lock and the pointer never change; the pthread objects are thread-safe by design.
    private let lock = Lock()
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    /// A fresh, unlocked lock.
    public init() {
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deinitialize(count: 1)
        condition.deallocate()
    }

    /// Runs `body` holding the lock, keeping its typed error. Not reentrant.
    public func withLock<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        try lock.withLock(body)
    }

    /// Waits for ``signal()`` or ``broadcast()``; call only inside ``withLock(_:)`` and re-check the predicate after
    /// waking (wake-ups may be spurious).
    public func wait() {
        pthread_cond_wait(condition, lock.mutex)
    }

    /// Waits for ``signal()`` or ``broadcast()`` until `deadline` (wall clock); call only inside ``withLock(_:)``.
    ///
    /// - Returns: `false` when the deadline passed.
    @discardableResult
    public func wait(until deadline: Date) -> Bool {
        let seconds = max(0, deadline.timeIntervalSince1970)
        var time = timespec()
        time.tv_sec = Int(seconds.rounded(.down))
        time.tv_nsec = Int((seconds - seconds.rounded(.down)) * 1_000_000_000)
        return pthread_cond_timedwait(condition, lock.mutex, &time) == 0
    }

    /// Wakes one waiter. Call inside ``withLock(_:)`` so a waiter cannot miss it between its check and its wait.
    public func signal() {
        pthread_cond_signal(condition)
    }

    /// Wakes every waiter. Call inside ``withLock(_:)`` so a waiter cannot miss it between its check and its wait.
    public func broadcast() {
        pthread_cond_broadcast(condition)
    }
}
