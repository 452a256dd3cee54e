#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `pthread_mutex_t`: the one lock of the project. Every module (engine, server, HTTP client, SDK, sidecar)
/// guards its shared state with this type, with ``Locked`` (a value guarded by one) or with ``ConditionLock`` (one
/// with a condition variable); none uses `NSLock`, `NSCondition` or `Synchronization.Mutex`.
///
/// pthread rather than `Synchronization.Mutex` because ThreadSanitizer models pthread mutexes: with `Mutex` on Linux
/// (its lock word handled inside the uninstrumented Synchronization module) it reported every locked access as a
/// race, which would hide real ones.
public final class Lock: @unchecked Sendable {
    // @unchecked: the pointer never changes; the pthread mutex it points to is thread-safe by design.
    let mutex: UnsafeMutablePointer<pthread_mutex_t>

    /// A fresh, unlocked lock.
    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` holding the lock, keeping its typed error. Not reentrant: never take the same lock in `body`.
    public func withLock<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
