import Foundation
import ShardEngine
import ShardProtocol
import ShardTokenizers
import ShardSync

/// Limits and lifetimes of the registry, all configurable on the command line.
public struct RegistryConfiguration: Sendable {
    /// Queued plus running requests accepted at once; past it, submissions get 503 with `Retry-After`.
    public var queueCapacity = 1024
    /// How long a finished request stays readable.
    public var finishedTTL: TimeInterval = 300
    /// A live request nobody has read for this long is cancelled and then expires like a finished one.
    public var abandonedTTL: TimeInterval = 600
    /// A live request whose WebSocket dropped (no close frame) is cancelled unless a client resumes it this soon.
    public var detachedGrace: TimeInterval = 30
    /// Creates the default configuration.
    public init() {}
}

/// All requests the sidecar knows: a table of ``RequestMachine``s, the queue in admission order, the cancellations
/// the scheduler has not carried out, and the counters. Thread-safe: HTTP and WebSocket handlers, the scheduler (on
/// its own thread) and timers all call in. Each method runs a request's transition under the lock, only briefly,
/// and applies the ``DeliveryAction``s it returned after releasing it (``apply(_:for:)``), as it wakes the
/// scheduler after releasing it.
public final class RequestRegistry: @unchecked Sendable {
    // @unchecked: everything mutable below is guarded by `lock`.
    let configuration: RegistryConfiguration
    /// Guards everything below.
    let lock = Lock()
    var records: [RequestID: RequestMachine] = [:]
    private var queue: [RequestID] = []
    /// Running requests whose cancellation the scheduler has not yet carried out.
    private var cancelRequests: Set<RequestID> = []
    private var nextSequence: UInt64 = 1
    /// Numbers long-poll waiters and WebSocket subscriptions.
    var nextConsumer: UInt64 = 1
    /// Set by ``closeAndCancelQueued()`` at shutdown: new requests are refused.
    private var closed = false
    /// Broadcast (holding it) whenever readers collected events, so a shutdown drain notices when everything was
    /// collected. Never taken while `lock` is held.
    let readSignal = ConditionLock()
    /// Wakes the scheduler when there is new work or a cancellation.
    var onWork: @Sendable () -> Void = {}
    var counters = Counters()

    /// Totals for `/metrics`.
    struct Counters {
        var tokensGenerated = 0
        var finished: [FinishReason: Int] = [:]
    }

    init(configuration: RegistryConfiguration) { self.configuration = configuration }

    /// Result of a submission.
    enum Submission { case accepted(queuePosition: Int), duplicate(queuePosition: Int) }

    /// Registers a request whose prompt is already resolved.
    ///
    /// - Throws: ``ProtocolError`` 409 for a live id with a different body, 503 when the queue is full.
    /// `endOfGeneration`: the ids that end it (default: the tokenizer's ``Tokenizer/endOfGenerationIDs``).
    func submit(id: RequestID, request: GenerationRequest, promptIDs: [TokenID], tokenizer: any Tokenizer,
                endOfGeneration: Set<TokenID>? = nil, now: Date = Date()) throws(ProtocolError) -> Submission {
        let result = try lock.withLock { () throws(ProtocolError) -> Submission in
            if let existing = records[id] {
                guard existing.request == request else {
                    throw ProtocolError(status: 409, code: "request_id_conflict",
                                        message: "request \(id) exists with a different body", requestID: id.rawValue)
                }
                records[id]?.touch(now)
                return .duplicate(queuePosition: queue.firstIndex(of: id) ?? 0)
            }
            guard !closed else {
                throw ProtocolError(status: 503, code: "shutting_down", message: "the sidecar is shutting down",
                                    requestID: id.rawValue)
            }
            let live = records.values.filter { !$0.state.isTerminal }.count
            guard live < configuration.queueCapacity else {
                throw ProtocolError(status: 503, code: "queue_full",
                                    message: "the sidecar has \(live) requests in flight; retry later",
                                    requestID: id.rawValue)
            }
            var random = SystemRandomNumberGenerator()
            records[id] = RequestMachine(
                id: id, request: request, promptIDs: promptIDs, seed: request.seed ?? random.next(),
                sequence: nextSequence,
                progress: GenerationProgress(tokenizer: tokenizer, promptIDs: promptIDs, limits: .init(
                    maxNewTokens: request.maxNewTokens, minTokens: request.minTokens, stopStrings: request.stop,
                    endOfGeneration: endOfGeneration ?? tokenizer.endOfGenerationIDs)),
                now: now)
            nextSequence += 1
            queue.append(id)
            return .accepted(queuePosition: queue.count - 1)
        }
        if case .accepted = result { onWork() }
        return result
    }

    /// A snapshot for `GET /requests/ID`.
    struct Snapshot: Sendable {
        var id: RequestID, state: RequestState, tokens: Int, promptTokens: Int, eventsPending: Int
        var finishReason: FinishReason?
        /// A cancellation was received and the scheduler has not carried it out yet.
        var cancelRequested: Bool
    }

    func snapshot(_ id: RequestID, now: Date = Date()) -> Snapshot? {
        lock.withLock {
            records[id]?.touch(now)
            guard let record = records[id] else { return nil }
            var reason: FinishReason?
            if case let .done(finish, _, _) = record.log.events.last { reason = finish }
            return Snapshot(id: id, state: record.state, tokens: record.generatedIDs.count,
                            promptTokens: record.promptIDs.count, eventsPending: record.undelivered,
                            finishReason: reason, cancelRequested: record.cancelRequested && !record.state.isTerminal)
        }
    }

    /// A request's text so far, with its state (for `GET /v1/responses/ID`).
    struct Transcript: Sendable {
        var state: RequestState, text: String, usage: Usage, error: ProtocolError?
    }

    /// The text of every token event so far, or `nil` for an unknown (or expired) request.
    func transcript(_ id: RequestID, now: Date = Date()) -> Transcript? {
        lock.withLock {
            records[id]?.touch(now)
            guard let record = records[id] else { return nil }
            var text = "", error: ProtocolError?
            for event in record.log.events {
                switch event {
                case let .token(piece, _, _): text += piece
                case let .done(_, _, failure): error = failure
                }
            }
            return Transcript(state: record.state, text: text, usage: record.usage, error: error)
        }
    }

    /// What a cancellation found.
    enum CancelOutcome { case unknown, alreadyFinished, queued, running }

    /// Cancels a request. Queued ones end at once; running ones end when the scheduler has freed their shards.
    @discardableResult
    func cancel(_ id: RequestID, now: Date = Date()) -> CancelOutcome {
        let (outcome, actions) = lock.withLock { () -> (CancelOutcome, [DeliveryAction]) in
            guard records[id] != nil else { return (.unknown, []) }
            switch records[id]!.cancel(now: now) {
            case let .ended(actions):
                queue.removeAll { $0 == id }
                counters.finished[.cancelled, default: 0] += 1
                return (.queued, actions)
            case .flagged:
                cancelRequests.insert(id)
                return (.running, [])
            case .alreadyFinished:
                return (.alreadyFinished, [])
            }
        }
        apply(actions, for: id)
        if outcome == .running { onWork() }
        return outcome
    }

    // MARK: Shutdown

    /// Refuses new requests from now on (503 `shutting_down`) and ends every queued one with a final `cancelled`
    /// event, which its client can still collect.
    func closeAndCancelQueued(now: Date = Date()) {
        let ended = lock.withLock { () -> [(RequestID, [DeliveryAction])] in
            closed = true
            defer { queue.removeAll() }
            return queue.map { id in (id, end(id, .cancelled, error: nil, now: now)) }
        }
        for (id, actions) in ended { apply(actions, for: id) }
    }

    /// Finished requests whose final event no client has collected yet (queued on a WebSocket counts as collected).
    var undeliveredCount: Int {
        lock.withLock { records.values.filter { $0.undelivered > 0 }.count }
    }

    /// Waits until every final event was collected or `timeout` passed; returns whether all were collected.
    @discardableResult
    func waitUntilCollected(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        return readSignal.withLock {
            // Readers broadcast holding `readSignal` (``DeliveryAction/readersProgressed``), so no wake-up is missed
            // between this check and the wait.
            while undeliveredCount > 0 {
                guard Date() < deadline else { return false }
                readSignal.wait(until: deadline)
            }
            return true
        }
    }

    /// The number of requests per state, and queue depth, for `/metrics`.
    func stateCounts() -> (states: [RequestState: Int], queueDepth: Int, counters: Counters) {
        lock.withLock {
            var counts: [RequestState: Int] = [:]
            for record in records.values { counts[record.state, default: 0] += 1 }
            return (counts, queue.count, counters)
        }
    }

    /// Whether the request is held (any state); does not count as interest in it.
    func holds(_ id: RequestID) -> Bool { lock.withLock { records[id] != nil } }

    /// Number of requests held (any state), for tests and metrics.
    var count: Int { lock.withLock { records.count } }

    /// Drops finished requests past their TTL; cancels live ones nobody has read for ``RegistryConfiguration/abandonedTTL``
    /// and those whose WebSocket dropped more than ``RegistryConfiguration/detachedGrace`` ago without a resume.
    func sweep(now: Date = Date()) {
        let abandoned = lock.withLock { () -> [RequestID] in
            records = records.filter { !$0.value.isExpired(now: now, ttl: configuration.finishedTTL) }
            return records.values.filter {
                $0.isAbandoned(now: now, grace: configuration.detachedGrace, abandonedAfter: configuration.abandonedTTL)
            }.map(\.id)
        }
        abandoned.forEach { cancel($0, now: now) }
    }

    // MARK: Scheduler side

    /// A request as the scheduler needs it.
    struct Admission: Sendable {
        var id: RequestID, sequence: UInt64, promptIDs: [TokenID], seed: UInt64, request: GenerationRequest
    }

    /// Moves up to `limit` queued requests to running, oldest first.
    func admit(limit: Int) -> [Admission] {
        lock.withLock {
            var admitted: [Admission] = []
            while admitted.count < limit, !queue.isEmpty {
                let id = queue.removeFirst()
                guard records[id]?.start() == true, let record = records[id] else { continue }
                admitted.append(Admission(id: id, sequence: record.sequence, promptIDs: record.promptIDs,
                                          seed: record.seed, request: record.request))
            }
            return admitted
        }
    }

    /// Whether requests are waiting to be admitted.
    var hasQueued: Bool { lock.withLock { !queue.isEmpty } }

    /// Running requests whose cancellation is pending; clears the set.
    func takeCancellations() -> Set<RequestID> {
        lock.withLock {
            defer { cancelRequests.removeAll() }
            return cancelRequests
        }
    }
}
