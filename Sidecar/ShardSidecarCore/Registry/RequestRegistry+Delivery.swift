import Foundation
import ShardProtocol

/// How events reach clients: long-polls (`/pop-result`, with or without `after`) and WebSocket subscriptions, each
/// reading the request's ``EventLog`` from its own position. The positions live in the ``RequestMachine``; the
/// deliveries its transitions return are applied here, after the lock is released.
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
        let (result, actions) = lock.withLock { () -> (PollResult, [DeliveryAction]) in
            guard records[id] != nil else { return (.notFound, []) }
            let start = after.map { $0 < Int.max ? $0 + 1 : Int.max }
            let waiter = PollWaiter(token: nextConsumer, start: start, maxEvents: maxEvents, deliver: deliver)
            nextConsumer += 1
            let (answered, actions) = records[id]!.poll(waiter, wait: wait, now: now)
            return (answered ? .answered : .waiting(token: waiter.token), actions)
        }
        apply(actions, for: id)
        return result
    }

    /// Ends a long-poll that got no event in time: its delivery is called with no events.
    func expireWaiter(_ id: RequestID, token: UInt64) {
        let actions = lock.withLock { records[id]?.expireWaiter(token: token) ?? [] }
        apply(actions, for: id)
    }

    // MARK: WebSocket subscriptions

    /// Pushes the events of `id` from position `after + 1` on to `send` (WebSocket delivery), replacing the
    /// request's previous subscriber: `after` -1 for a new stream, the last index a client saw for a resume.
    /// Returns `false` for an unknown (or expired) request.
    func subscribe(_ id: RequestID, token: UInt64, after: Int = -1, now: Date = Date(),
                   send: @escaping @Sendable (GenerationEvent) -> Bool) -> Bool {
        let actions = lock.withLock { () -> [DeliveryAction]? in
            guard records[id] != nil else { return nil }
            defer { nextConsumer += 1 }
            return records[id]!.subscribe(token: token, serial: nextConsumer, after: after, now: now, send: send)
        }
        guard let actions else { return false }
        apply(actions, for: id)
        return true
    }

    /// The subscriber `token` is gone: with `cancel` (the client closed deliberately) the request is cancelled;
    /// otherwise it keeps running for ``RegistryConfiguration/detachedGrace`` so a client can resume it. Nothing
    /// happens when another subscriber has taken over.
    func unsubscribe(_ id: RequestID, token: UInt64, cancel shouldCancel: Bool, now: Date = Date()) {
        let cancelNow = lock.withLock { records[id]?.unsubscribe(token: token, cancel: shouldCancel, now: now) ?? false }
        if cancelNow { cancel(id, now: now) }
    }

    // MARK: Applying deliveries

    /// Carries out what a transition of request `id` returned, without the lock. A delivery's outcome (a send that
    /// ended, a hand-out a connection did not take) is fed back to the machine, and what that returns is applied
    /// in turn.
    func apply(_ actions: [DeliveryAction], for id: RequestID) {
        var pending = actions[...]
        while let action = pending.popFirst() {
            switch action {
            case let .answerPoll(waiter, events, positions, shared):
                let taken = waiter.deliver(events) { [weak self] written in
                    guard let self else { return }
                    apply(pollEnded(id, positions: positions, shared: shared, written: written), for: id)
                }
                if !taken, shared { pending += pollEnded(id, positions: positions, shared: true, written: false) }
            case let .send(serial, events, start, send):
                var delivered = 0
                for event in events {
                    guard send(event) else { break }
                    delivered += 1
                }
                let ok = delivered == events.count, now = Date()
                pending += lock.withLock {
                    records[id]?.sent(serial: serial, through: start + delivered, ok: ok, now: now) ?? []
                }
            case .readersProgressed:
                readSignal.withLock { readSignal.broadcast() }
            }
        }
    }

    /// A poll's answer was written, or lost with its connection: the transition, and the deliveries it returns.
    private func pollEnded(_ id: RequestID, positions: Range<Int>, shared: Bool, written: Bool) -> [DeliveryAction] {
        lock.withLock { records[id]?.pollEnded(positions: positions, shared: shared, written: written) ?? [] }
    }
}
