import Foundation
import ShardProtocol

/// How events reach clients: long-polls (`/pop-result`, with or without `after`) and WebSocket subscriptions, each
/// reading the request's ``EventLog`` from its own position. Everything here runs under the registry's lock; the
/// delivery closures only queue on the server.
extension RequestRegistry {
    /// Result of a `/pop-result` read.
    enum PollResult: Equatable {
        /// `deliver` was called (with events, or with none when nothing is there and `wait` was not set).
        case answered
        /// Nothing yet: `deliver` will be called when events arrive, or with none from ``expireWaiter(_:token:)``.
        case waiting(token: UInt64)
        case notFound
    }

    /// Reads up to `maxEvents` events: from position `after + 1` when `after` is given (a resume; nothing is
    /// consumed), else the unread ones. With none available and `wait` set, `deliver` is kept until events arrive;
    /// the caller calls ``expireWaiter(_:token:)`` when the wait runs out.
    func poll(_ id: RequestID, maxEvents: Int, after: Int? = nil, wait: Bool, now: Date = Date(),
              deliver: @escaping PollDelivery) -> PollResult {
        lock.withLock {
            guard let record = records[id] else { return .notFound }
            record.lastActivity = now
            record.detachedSince = nil
            let start = after.map { $0 < Int.max ? $0 + 1 : Int.max }
            let waiter = PollWaiter(token: nextWaiter, start: start, maxEvents: maxEvents, deliver: deliver)
            nextWaiter += 1
            if hasEvents(for: waiter, in: record) || !wait {
                serve(waiter, record)
                return .answered
            }
            record.waiters.append(waiter)
            return .waiting(token: waiter.token)
        }
    }

    /// Ends a long-poll that got no event in time: its delivery is called with no events.
    func expireWaiter(_ id: RequestID, token: UInt64) {
        lock.withLock {
            guard let record = records[id], let index = record.waiters.firstIndex(where: { $0.token == token }) else {
                return
            }
            _ = record.waiters.remove(at: index).deliver([]) { _ in }
        }
    }

    /// Whether `waiter` has something to read.
    private func hasEvents(for waiter: PollWaiter, in record: RequestRecord) -> Bool {
        guard let start = waiter.start else { return record.pollCursor.canHandOut(below: record.log.count) }
        return start < record.log.count
    }

    /// Hands `waiter` what it may read (possibly nothing); returns whether its connection took it. Events read
    /// through the shared cursor are given back if the connection does not take them or closes before they are
    /// written.
    @discardableResult
    private func serve(_ waiter: PollWaiter, _ record: RequestRecord) -> Bool {
        let id = record.id
        guard let start = waiter.start else {
            guard record.pollCursor.canHandOut(below: record.log.count) else { return waiter.deliver([]) { _ in } }
            let events = record.log.read(from: record.pollCursor.handedOut, limit: waiter.maxEvents)
            let range = record.pollCursor.handOut(upTo: record.pollCursor.handedOut + events.count)
            let taken = waiter.deliver(events) { [weak self] written in self?.settle(id, range, written: written) }
            if !taken { record.pollCursor.settle(range, written: false) }
            return taken
        }
        let events = start < record.log.count ? record.log.read(from: start, limit: waiter.maxEvents) : []
        let end = start + events.count
        return waiter.deliver(events) { [weak self] written in
            if written, !events.isEmpty { self?.advanceReaders(id, to: end) }
        }
    }

    /// A hand-out through the shared cursor was written, or lost with its connection (given back); either way the
    /// next waiting poll can be served.
    private func settle(_ id: RequestID, _ range: Range<Int>, written: Bool) {
        lock.withLock {
            guard let record = records[id] else { return }
            record.pollCursor.settle(range, written: written)
            serveWaiters(record)
        }
        readSignal.broadcast()
    }

    /// A reader with its own position delivered everything before `end`.
    private func advanceReaders(_ id: RequestID, to end: Int) {
        lock.withLock { records[id]?.pollCursor.advance(to: end) }
        readSignal.broadcast()
    }

    /// Gives waiting polls what they can read, oldest first; a waiter whose connection is gone is dropped.
    private func serveWaiters(_ record: RequestRecord) {
        var index = 0
        while index < record.waiters.count {
            let waiter = record.waiters[index]
            guard hasEvents(for: waiter, in: record) else {
                index += 1
                continue
            }
            record.waiters.remove(at: index)
            serve(waiter, record)
        }
    }

    // MARK: WebSocket subscriptions

    /// Pushes the events of `id` from position `after + 1` on to `send` (WebSocket delivery), replacing the
    /// request's previous subscriber: `after` -1 for a new stream, the last index a client saw for a resume.
    /// Returns `false` for an unknown (or expired) request.
    func subscribe(_ id: RequestID, token: UInt64, after: Int = -1, now: Date = Date(),
                   send: @escaping @Sendable (GenerationEvent) -> Bool) -> Bool {
        lock.withLock {
            guard let record = records[id] else { return false }
            record.lastActivity = now
            record.detachedSince = nil
            record.subscription = Subscription(token: token, next: after < Int.max ? max(0, after + 1) : Int.max,
                                               send: send)
            push(record, now: now)
            return true
        }
    }

    /// The subscriber `token` is gone: with `cancel` (the client closed deliberately) the request is cancelled;
    /// otherwise it keeps running for ``RegistryConfiguration/detachedGrace`` so a client can resume it. Nothing
    /// happens when another subscriber has taken over.
    func unsubscribe(_ id: RequestID, token: UInt64, cancel shouldCancel: Bool, now: Date = Date()) {
        let cancelNow = lock.withLock { () -> Bool in
            guard let record = records[id], record.subscription?.token == token else { return false }
            record.subscription = nil
            guard !record.state.isTerminal else { return false }
            if shouldCancel { return true }
            record.detachedSince = now
            return false
        }
        if cancelNow { cancel(id) }
    }

    /// Sends the subscriber everything from its position; a failed send detaches it.
    private func push(_ record: RequestRecord, now: Date) {
        guard var subscription = record.subscription else { return }
        while subscription.next < record.log.count {
            guard subscription.send(record.log.events[subscription.next]) else {
                record.subscription = nil
                if !record.state.isTerminal { record.detachedSince = now }
                return
            }
            subscription.next += 1
            record.pollCursor.advance(to: subscription.next)
        }
        record.subscription = subscription
        record.lastActivity = now
        readSignal.broadcast()
    }

    /// Appends an event and delivers it to the subscriber and waiting polls. Caller holds the lock.
    func append(_ event: GenerationEvent, to record: RequestRecord) {
        record.log.append(event)
        push(record, now: Date())
        serveWaiters(record)
    }
}
