#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import ShardSync

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
            ServiceThread.isCurrent = true
            box.body()
            return nil
        }, box)
        precondition(created == 0, "pthread_create failed: \(created)")
        pthread_detach(thread)
    }

    private static let marker = ThreadMarker()

    /// Whether the calling thread is a service thread (of any server or client): code that may block (tokenizing,
    /// parsing large bodies, waiting) asserts that it is not, the way swift-nio asserts its event loop.
    static var isCurrent: Bool {
        get { marker.isSet }
        set { marker.isSet = newValue }
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

/// A per-thread flag (a pthread key): set on service threads.
struct ThreadMarker: Sendable {
    private let key: pthread_key_t

    init() {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        self.key = key
    }

    var isSet: Bool {
        get { pthread_getspecific(key) != nil }
        nonmutating set { pthread_setspecific(key, newValue ? UnsafeRawPointer(bitPattern: 1) : nil) }
    }
}

extension HTTPWebSocketServer {
    /// Whether the calling thread runs a libwebsockets service loop (a handler callback). Such a thread must never
    /// block: handlers hand slow work (tokenizing, parsing large bodies) to another thread.
    public static var isServiceThread: Bool { ServiceThread.isCurrent }
}
