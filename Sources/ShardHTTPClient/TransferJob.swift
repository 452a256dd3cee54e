import ShardSync

/// Why a request must stop before it completes.
enum StopReason: Sendable {
    /// The awaiting task was cancelled.
    case cancelled
    /// The client was shut down.
    case shutdown
}

/// One request on its way through the work queue, shared by the awaiting task, the cancellation handler, the worker
/// thread and libcurl's progress callback (it is the `CURLOPT_XFERINFODATA` object).
///
/// The continuation is resumed exactly once, by whichever side gets to ``Phase/done`` first.
final class TransferJob: @unchecked Sendable {
    // @unchecked: `phase` and `stopReason` are only read or written inside `lock.withLock`.
    typealias Outcome = Result<HTTPClientResponse, HTTPClientError>

    /// Where the job is. Each state names the race it guards against.
    private enum Phase {
        /// Built, continuation not installed yet: a cancellation handler that runs now (task already cancelled)
        /// only records ``StopReason``; ``install(_:)`` then finishes the job without queueing it.
        case created
        /// Queued (or about to be). A stop finishes it at once; the worker later skips it (``claim()`` fails), so a
        /// job cancelled before it starts never runs.
        case waiting(CheckedContinuation<Outcome, Never>)
        /// libcurl is transferring it on the worker thread. A stop only sets the flag: the progress callback aborts
        /// the transfer and the worker finishes the job.
        case running(CheckedContinuation<Outcome, Never>)
        /// Resumed; nothing more happens.
        case done
    }

    /// The request to perform.
    let request: TransferRequest
    private let lock = ConditionLock()
    private var phase = Phase.created
    private var stopReasonValue: StopReason?

    /// A job for `request`.
    init(request: TransferRequest) {
        self.request = request
    }

    /// Why the job must stop, or nil. The progress callback polls this during the transfer.
    var stopReason: StopReason? { lock.withLock { stopReasonValue } }

    /// Installs the awaiting continuation. Returns false (after resuming it) if the job was already stopped:
    /// then it must not be queued.
    func install(_ continuation: CheckedContinuation<Outcome, Never>) -> Bool {
        let stop: StopReason? = lock.withLock {
            if let stopReasonValue {
                phase = .done
                return stopReasonValue
            }
            phase = .waiting(continuation)
            return nil
        }
        guard let stop else { return true }
        continuation.resume(returning: .failure(HTTPClientError(stop: stop, request: request)))
        return false
    }

    /// Asks the job to stop (the first reason wins). A job not running yet is finished now; returns true if it is
    /// running, in which case the caller should wake the transfer loop so the progress callback sees the flag.
    @discardableResult
    func stop(_ reason: StopReason) -> Bool {
        let (continuation, effective, running): (CheckedContinuation<Outcome, Never>?, StopReason, Bool) = lock.withLock {
            if stopReasonValue == nil { stopReasonValue = reason }
            switch phase {
            case .waiting(let continuation):
                phase = .done
                return (continuation, stopReasonValue!, false)
            case .running:
                return (nil, stopReasonValue!, true)
            case .created, .done:
                return (nil, stopReasonValue!, false)
            }
        }
        continuation?.resume(returning: .failure(HTTPClientError(stop: effective, request: request)))
        return running
    }

    /// The worker takes the job; false if it was stopped meanwhile (skip it).
    func claim() -> Bool {
        lock.withLock {
            guard case .waiting(let continuation) = phase, stopReasonValue == nil else { return false }
            phase = .running(continuation)
            return true
        }
    }

    /// Delivers the outcome unless the job is already done.
    func finish(_ outcome: Outcome) {
        let continuation: CheckedContinuation<Outcome, Never>? = lock.withLock {
            switch phase {
            case .waiting(let continuation), .running(let continuation):
                phase = .done
                return continuation
            case .created, .done:
                return nil
            }
        }
        continuation?.resume(returning: outcome)
    }
}
