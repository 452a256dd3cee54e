#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// A dedicated OS thread for a libwebsockets service loop: `lws_service` blocks, so it must never run on the Swift
/// concurrency pool. The thread is detached; owners learn that it ended through their own signal (a `DispatchGroup`).
struct ServiceThread {
    private let body: @Sendable () -> Void

    /// A thread that will run `body` once started.
    init(body: @escaping @Sendable () -> Void) {
        self.body = body
    }

    /// Starts the thread.
    func start() {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(created == 0, "pthread_create failed: \(created)")
        pthread_detach(thread)
    }

    private final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}

/// Hands the result of a service thread's startup (the bound port or the error) to the thread that called `start()`.
final class StartupSignal: Sendable {
    private let result = Locked<Result<Int, NetworkError>?>(nil)
    private let semaphore = DispatchSemaphore(value: 0)

    /// Publishes the outcome; call exactly once.
    func finish(_ outcome: Result<Int, NetworkError>) {
        result.withLock { $0 = outcome }
        semaphore.signal()
    }

    /// Blocks until ``finish(_:)``, then returns the port or throws.
    func wait() throws(NetworkError) -> Int {
        semaphore.wait()
        return try result.withLock { $0! }.get()
    }
}
