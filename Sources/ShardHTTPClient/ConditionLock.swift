#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `pthread_mutex_t` with a `pthread_cond_t` beside it (pthread rather than `Synchronization.Mutex` so that
/// ThreadSanitizer models it). Guards whatever state its owner documents.
final class ConditionLock: @unchecked Sendable {
    // @unchecked: the two pointers never change; the pthread objects they point to are thread-safe by design.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    /// A fresh, unlocked lock.
    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deinitialize(count: 1)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` holding the lock. Not reentrant.
    func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for ``signal()``; call only inside ``withLock(_:)`` and re-check the predicate after waking.
    func wait() {
        pthread_cond_wait(condition, mutex)
    }

    /// Wakes one waiter.
    func signal() {
        pthread_cond_signal(condition)
    }
}
