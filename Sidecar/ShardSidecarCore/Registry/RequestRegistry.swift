import Foundation
import ShardProtocol
import ShardTokenizers

/// Limits and lifetimes of the registry, all configurable on the command line.
public struct RegistryConfiguration: Sendable {
    /// Queued plus running requests accepted at once; past it, submissions get 503 with `Retry-After`.
    public var queueCapacity = 1024
    /// How long a finished request stays readable.
    public var finishedTTL: TimeInterval = 300
    /// A live request nobody has read for this long is cancelled and then expires like a finished one.
    public var abandonedTTL: TimeInterval = 600
    /// Creates the default configuration.
    public init() {}
}

/// All requests the sidecar knows, their state machines and event logs. Thread-safe: HTTP and WebSocket handlers
/// (on the server thread), the scheduler (on its own thread) and timers all call in; every method holds the lock
/// only briefly and calls out (deliveries, wake-ups) after releasing it.
public final class RequestRegistry: @unchecked Sendable {
    let configuration: RegistryConfiguration
    /// Guards everything below.
    private let lock = NSLock()
    private var records: [RequestID: RequestRecord] = [:]
    private var queue: [RequestID] = []
    /// Running requests whose cancellation the scheduler has not yet carried out.
    private var cancelRequests: Set<RequestID> = []
    private var nextSequence: UInt64 = 1
    private var nextWaiter: UInt64 = 1
    /// Set by ``closeAndCancelQueued()`` at shutdown: new requests are refused.
    private var closed = false
    /// Broadcast whenever a client reads events, so a shutdown drain notices when everything was collected.
    private let readSignal = NSCondition()
    /// Wakes the scheduler when there is new work or a cancellation.
    var onWork: @Sendable () -> Void = {}
    private(set) var counters = Counters()

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
    func submit(id: RequestID, request: GenerationRequest, promptIDs: [TokenID], tokenizer: any Tokenizer,
                now: Date = Date()) throws(ProtocolError) -> Submission {
        let result = try locked { () throws(ProtocolError) -> Submission in
            if let existing = records[id] {
                guard existing.request == request else {
                    throw ProtocolError(status: 409, code: "request_id_conflict",
                                        message: "request \(id) exists with a different body", requestID: id.rawValue)
                }
                existing.lastActivity = now
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
            let record = RequestRecord(
                id: id, request: request, promptIDs: promptIDs, seed: request.seed ?? random.next(),
                sequence: nextSequence,
                textProcessor: TokenTextProcessor(tokenizer: tokenizer, promptIDs: promptIDs, stopStrings: request.stop),
                now: now)
            nextSequence += 1
            records[id] = record
            queue.append(id)
            return .accepted(queuePosition: queue.count - 1)
        }
        if case .accepted = result { onWork() }
        return result
    }

    /// Runs `body` under the lock, keeping its typed error (`NSLock.withLock` erases it).
    private func locked<T>(_ body: () throws(ProtocolError) -> T) throws(ProtocolError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
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
            guard let record = records[id] else { return nil }
            record.lastActivity = now
            var reason: FinishReason?
            if case let .done(finish, _, _) = record.events.last { reason = finish }
            return Snapshot(id: id, state: record.state, tokens: record.generatedIDs.count,
                            promptTokens: record.promptIDs.count, eventsPending: record.events.count - record.readCursor,
                            finishReason: reason, cancelRequested: cancelRequests.contains(id))
        }
    }

    /// Result of a `/pop-result` read.
    enum PollResult { case events([GenerationEvent]), waiting(token: UInt64), notFound }

    /// Reads up to `maxEvents` unread events. With none available and `wait` set, registers `deliver` to be called
    /// (once) when events arrive; the caller calls ``expireWaiter(_:token:)`` when the wait runs out.
    func poll(_ id: RequestID, maxEvents: Int, wait: Bool, now: Date = Date(),
              deliver: @escaping @Sendable ([GenerationEvent]) -> Void) -> PollResult {
        lock.withLock {
            guard let record = records[id] else { return .notFound }
            record.lastActivity = now
            if record.readCursor < record.events.count || !wait {
                return .events(take(record, maxEvents))
            }
            let token = nextWaiter
            nextWaiter += 1
            record.waiters.append(PollWaiter(token: token, maxEvents: maxEvents, deliver: deliver))
            return .waiting(token: token)
        }
    }

    /// Ends a long-poll that got no event in time: its delivery is called with no events.
    func expireWaiter(_ id: RequestID, token: UInt64) {
        let waiter = lock.withLock { () -> PollWaiter? in
            guard let record = records[id], let index = record.waiters.firstIndex(where: { $0.token == token }) else {
                return nil
            }
            return record.waiters.remove(at: index)
        }
        waiter?.deliver([])
    }

    /// Hands out up to `maxEvents` (at least one) unread events and advances the read cursor past them.
    /// `maxEvents` may be `Int.max` ("everything"): the count is compared, never added to the cursor.
    private func take(_ record: RequestRecord, _ maxEvents: Int) -> [GenerationEvent] {
        let unread = record.events.count - record.readCursor
        let end = record.readCursor + min(unread, max(1, maxEvents))
        defer {
            record.readCursor = end
            readSignal.broadcast()
        }
        return Array(record.events[record.readCursor ..< end])
    }

    /// Sends every future event of `id` to `subscriber` (WebSocket delivery), starting with unread ones.
    func subscribe(_ id: RequestID, _ subscriber: @escaping @Sendable (GenerationEvent) -> Void) {
        let backlog = lock.withLock { () -> [GenerationEvent] in
            guard let record = records[id] else { return [] }
            record.subscriber = subscriber
            return take(record, Int.max)
        }
        backlog.forEach(subscriber)
    }

    /// What a cancellation found.
    enum CancelOutcome { case unknown, alreadyFinished, queued, running }

    /// Cancels a request. Queued ones end at once; running ones end when the scheduler has freed their shards.
    @discardableResult
    func cancel(_ id: RequestID) -> CancelOutcome {
        let outcome = lock.withLock { () -> CancelOutcome in
            guard let record = records[id] else { return .unknown }
            switch record.state {
            case .queued:
                queue.removeAll { $0 == id }
                return .queued
            case .running:
                cancelRequests.insert(id)
                return .running
            default:
                return .alreadyFinished
            }
        }
        switch outcome {
        case .queued: finish(id, reason: .cancelled, error: nil)
        case .running: onWork()
        case .unknown, .alreadyFinished: break
        }
        return outcome
    }

    // MARK: Shutdown

    /// Refuses new requests from now on (503 `shutting_down`) and ends every queued one with a final `cancelled`
    /// event, which its client can still collect.
    func closeAndCancelQueued() {
        let queued = lock.withLock { () -> [RequestID] in
            closed = true
            defer { queue.removeAll() }
            return queue
        }
        for id in queued { finish(id, reason: .cancelled, error: nil) }
    }

    /// Finished requests whose final event no client has collected yet (WebSocket subscribers count as collected).
    var undeliveredCount: Int {
        lock.withLock {
            records.values.filter { $0.subscriber == nil && $0.readCursor < $0.events.count }.count
        }
    }

    /// Waits until every final event was collected or `timeout` passed; returns whether all were collected.
    @discardableResult
    func waitUntilCollected(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        readSignal.lock()
        defer { readSignal.unlock() }
        while undeliveredCount > 0 {
            let now = Date()
            guard now < deadline else { return false }
            // Reads broadcast without holding this condition's lock, so a wake-up can be missed: wait in slices.
            _ = readSignal.wait(until: min(deadline, now.addingTimeInterval(0.1)))
        }
        return true
    }

    /// The number of requests per state, and queue depth, for `/metrics`.
    func stateCounts() -> (states: [RequestState: Int], queueDepth: Int, counters: Counters) {
        lock.withLock {
            var counts: [RequestState: Int] = [:]
            for record in records.values { counts[record.state, default: 0] += 1 }
            return (counts, queue.count, counters)
        }
    }

    /// Number of requests held (any state), for tests and metrics.
    var count: Int { lock.withLock { records.count } }

    /// Drops finished requests past their TTL and cancels abandoned live ones.
    func sweep(now: Date = Date()) {
        let abandoned = lock.withLock { () -> [RequestID] in
            records = records.filter { _, record in
                guard let finished = record.finishedAt else { return true }
                return now.timeIntervalSince(finished) < configuration.finishedTTL
            }
            return records.values.filter {
                !$0.state.isTerminal && now.timeIntervalSince($0.lastActivity) > configuration.abandonedTTL
            }.map(\.id)
        }
        abandoned.forEach { cancel($0) }
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
                guard let record = records[id], let next = record.state.applying(.start) else { continue }
                record.state = next
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

    /// What the scheduler should do after a token.
    enum TokenOutcome { case proceed, finished }

    /// Records a sampled token: detokenizes it, checks stop strings, end of generation (any id of
    /// `endOfGeneration`, finish reason `eos`) and length, appends events.
    func accept(_ token: TokenID, for id: RequestID, endOfGeneration: Set<TokenID>, contextFull: Bool) -> TokenOutcome {
        var deliveries: [() -> Void] = []
        let outcome = lock.withLock { () -> TokenOutcome in
            guard let record = records[id], record.state == .running else { return .finished }
            if endOfGeneration.contains(token), record.generatedIDs.count >= record.request.minTokens {
                let tail = record.textProcessor.finish()
                if !tail.isEmpty {
                    // Text held back (a possible stop string, half a character) is completed by end-of-sequence.
                    append(.token(text: tail, tokenID: Int(token), index: record.generatedIDs.count), to: record,
                           deliveries: &deliveries)
                }
                complete(record, reason: .eos, error: nil, deliveries: &deliveries)
                return .finished
            }
            let text: String, stopped: Bool
            do { (text, stopped) = try record.textProcessor.push(token) } catch {
                complete(record, reason: .error, error: ProtocolError(status: 500, code: "invalid_token",
                                                                      message: "\(error)"), deliveries: &deliveries)
                return .finished
            }
            record.generatedIDs.append(token)
            counters.tokensGenerated += 1
            let index = record.generatedIDs.count - 1
            let atLength = record.generatedIDs.count >= record.request.maxNewTokens || contextFull
            let finalText = stopped || !atLength ? text : text + record.textProcessor.finish()
            append(.token(text: finalText, tokenID: Int(token), index: index), to: record, deliveries: &deliveries)
            if stopped || atLength {
                complete(record, reason: stopped ? .stop : .length, error: nil, deliveries: &deliveries)
                return .finished
            }
            return .proceed
        }
        deliveries.forEach { $0() }
        return outcome
    }

    /// Ends a request with a final event (scheduler: cancellations carried out, failures; registry: queued cancels).
    func finish(_ id: RequestID, reason: FinishReason, error: ProtocolError?) {
        var deliveries: [() -> Void] = []
        lock.withLock {
            guard let record = records[id], !record.state.isTerminal else { return }
            complete(record, reason: reason, error: error, deliveries: &deliveries)
        }
        deliveries.forEach { $0() }
    }

    private func complete(_ record: RequestRecord, reason: FinishReason, error: ProtocolError?,
                          deliveries: inout [() -> Void]) {
        let transition: RequestState.Transition = switch reason {
        case .cancelled: .cancel
        case .error: .fail
        default: .finish(reason)
        }
        guard let next = record.state.applying(transition) else { return }
        record.state = next
        record.finishedAt = Date()
        counters.finished[reason, default: 0] += 1
        var failure = error
        failure?.requestID = record.id.rawValue
        append(.done(reason: reason, usage: record.usage, error: failure), to: record, deliveries: &deliveries)
    }

    private func append(_ event: GenerationEvent, to record: RequestRecord, deliveries: inout [() -> Void]) {
        record.events.append(event)
        if let subscriber = record.subscriber {
            record.readCursor = record.events.count
            deliveries.append { subscriber(event) }
        } else {
            // Each waiting long-poll gets its own share of the unread events; the rest keep waiting.
            while let waiter = record.waiters.first, record.readCursor < record.events.count {
                record.waiters.removeFirst()
                let events = take(record, waiter.maxEvents)
                deliveries.append { waiter.deliver(events) }
            }
        }
    }
}
