#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ShardSync

/// A dedicated OS thread that owns one ``CurlEasy`` and performs queued jobs one at a time, so blocking libcurl
/// calls never run on the Swift concurrency pool.
///
/// The thread holds the only strong reference cycle (thread -> queue) until ``shutdown()``; the client's `deinit`
/// calls it.
final class WorkQueueThread: @unchecked Sendable {
    // @unchecked: every `var` below is only read or written inside `lock.withLock`.
    private let lock = ConditionLock()
    private var pending: [TransferJob] = []
    private var current: TransferJob?
    private var isShutdown = false
    private var openedConnections = 0
    /// The worker's handle while it is alive; other threads only call `wakeup()` on it, under `lock`, and the
    /// worker clears this under `lock` before freeing the handle.
    private var easy: CurlEasy?
    private let connectTimeoutMilliseconds: Int

    /// Starts the thread.
    init(connectTimeoutMilliseconds: Int) {
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            Unmanaged<WorkQueueThread>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, box)
        precondition(created == 0, "pthread_create failed: \(created)")
        pthread_detach(thread)
    }

    /// Sum of `CURLINFO_NUM_CONNECTS` over finished transfers.
    var connectionsOpened: Int { lock.withLock { openedConnections } }

    /// Jobs waiting in the queue (stopped ones included until the worker drops them); for tests.
    var queuedJobs: Int { lock.withLock { pending.count } }

    /// Queues `job`; false once shut down (the job is not queued).
    func submit(_ job: TransferJob) -> Bool {
        lock.withLock {
            guard !isShutdown else { return false }
            pending.append(job)
            lock.signal()
            return true
        }
    }

    /// Stops `job` for `reason`: a queued job finishes now and is skipped later; a running one is aborted by the
    /// progress callback, which the wakeup lets run at once.
    func stop(_ job: TransferJob, _ reason: StopReason) {
        guard job.stop(reason) else { return }
        lock.withLock {
            if current === job { easy?.wakeup() }
        }
    }

    /// Refuses new jobs, stops queued and running ones with ``StopReason/shutdown``, and lets the thread exit and
    /// free the handle. Idempotent; does not wait for the thread.
    func shutdown() {
        let (queued, running): ([TransferJob], TransferJob?) = lock.withLock {
            guard !isShutdown else { return ([], nil) }
            isShutdown = true
            defer { pending = [] }
            lock.signal()
            return (pending, current)
        }
        queued.forEach { $0.stop(.shutdown) }
        if let running { stop(running, .shutdown) }
    }

    /// The thread's loop: take a job, perform it, deliver the result; free the handle on shutdown.
    private func run() {
        let handle = CurlEasy(connectTimeoutMilliseconds: connectTimeoutMilliseconds)
        lock.withLock { easy = handle }
        while let job = next() {
            guard let handle else {
                job.finish(.failure(HTTPClientError(kind: .transport(code: 2 /* CURLE_FAILED_INIT */),
                                                    message: "curl_easy_init failed (\(job.request.summary))")))
                continue
            }
            let (outcome, connects) = handle.perform(job)
            lock.withLock {
                current = nil
                openedConnections += connects
            }
            job.finish(outcome)
        }
        lock.withLock { easy = nil }
        // `handle` is released here, on this thread: curl_multi_cleanup / curl_easy_cleanup.
    }

    /// Blocks until a job that still wants to run is queued (and marks it current), or returns nil on shutdown.
    private func next() -> TransferJob? {
        lock.withLock {
            while true {
                if isShutdown { return nil }
                if pending.isEmpty {
                    lock.wait()
                    continue
                }
                let job = pending.removeFirst()
                if job.claim() {
                    current = job
                    return job
                }
            }
        }
    }
}
