import Foundation
import ShardEngine
import ShardProtocol
import ShardTokenizers

/// One request as a value-type state machine: its lifecycle (``RequestState``), its ``EventLog`` and its consumers
/// (long-polls, one WebSocket subscription). Every transition is a mutating method that returns the
/// ``DeliveryAction``s it implies; ``RequestRegistry`` runs transitions under its lock and applies the actions after
/// releasing it (async-http-client's `Transaction+StateMachine` pattern). Nothing here performs I/O or calls a
/// closure, so each transition can be tested on its own.
struct RequestMachine: Sendable {
    let id: RequestID
    /// The request as parsed; compared on a repeated `request_id` to tell a retry from a conflict.
    let request: GenerationRequest
    let promptIDs: [TokenID]
    /// Seed in use (the request's, or one drawn at registration), so replays sample the same tokens.
    let seed: UInt64
    /// Internal sequence id used on the shards.
    let sequence: UInt64
    private(set) var state: RequestState = .queued
    /// A cancellation arrived while running; it holds until the scheduler has ended the request.
    private(set) var cancelRequested = false
    /// Everything that happened, for every consumer to read from its own position.
    private(set) var log = EventLog()
    /// The position of `/pop-result` reads without `after`.
    private(set) var pollCursor = PollCursor()
    /// Text, stop strings and the end of generation, token by token (the loop `complete` runs too).
    private var progress: GenerationProgress
    private(set) var finishedAt: Date?
    /// Last time a client showed interest (submit, poll, status, WebSocket delivery).
    private(set) var lastActivity: Date
    /// Long-polls waiting for events.
    private var waiters: [PollWaiter] = []
    /// Push delivery to the one WebSocket streaming this request.
    private var subscription: Subscription?
    /// When the WebSocket streaming this live request dropped without closing; it is cancelled unless someone
    /// resumes it within ``RegistryConfiguration/detachedGrace``.
    private(set) var detachedSince: Date?

    init(id: RequestID, request: GenerationRequest, promptIDs: [TokenID], seed: UInt64, sequence: UInt64,
         progress: GenerationProgress, now: Date) {
        self.id = id
        self.request = request
        self.promptIDs = promptIDs
        self.seed = seed
        self.sequence = sequence
        self.progress = progress
        self.lastActivity = now
    }

    /// The generated tokens.
    var generatedIDs: [TokenID] { progress.generated }
    var usage: Usage { Usage(promptTokens: promptIDs.count, completionTokens: generatedIDs.count) }
    /// Events not yet collected by a poll or delivered to a WebSocket.
    var undelivered: Int { log.count - pollCursor.committed }

    /// A client showed interest (a retry, a status read).
    mutating func touch(_ now: Date) { lastActivity = now }

    // MARK: Lifecycle

    /// queued → running (the scheduler admitted it); `false` when it is no longer queued.
    mutating func start() -> Bool {
        guard let next = state.applying(.start) else { return false }
        state = next
        return true
    }

    /// What a cancellation did.
    enum Cancellation {
        /// It was queued and has ended now, with these deliveries of its final event.
        case ended([DeliveryAction])
        /// It is running: the scheduler ends it when it has freed its shards.
        case flagged
        case alreadyFinished
    }

    mutating func cancel(now: Date) -> Cancellation {
        switch state {
        case .queued: return .ended(finish(.cancelled, error: nil, now: now))
        case .running:
            cancelRequested = true
            return .flagged
        case .completed, .failed, .cancelled: return .alreadyFinished
        }
    }

    /// What a sampled token did.
    struct TokenResult {
        /// Whether generation goes on.
        var proceeds: Bool
        /// Whether the id counts as a generated token (an end-of-generation id does not).
        var counted = false
        /// Set when this token ended the request.
        var finish: FinishReason?
        var actions: [DeliveryAction] = []
    }

    /// A sampled token: ``GenerationProgress`` turns it into text and decides whether generation ends (end of
    /// generation, stop string, length, full context); the events follow from that.
    mutating func accept(_ token: TokenID, contextFull: Bool, now: Date) -> TokenResult {
        guard state == .running else { return TokenResult(proceeds: false) }
        let step: GenerationProgress.Step
        do { step = try progress.accept(token, contextFull: contextFull) } catch {
            let error = ProtocolError(status: 500, code: "invalid_token", message: "\(error)")
            return TokenResult(proceeds: false, finish: .error, actions: finish(.error, error: error, now: now))
        }
        var result = TokenResult(proceeds: true, counted: step.counted)
        if let text = step.text {
            result.actions = append(.token(text: text, tokenID: Int(token), index: step.index), now: now)
        }
        guard let reason = step.finish else { return result }
        result.proceeds = false
        result.finish = reason
        result.actions += finish(reason, error: nil, now: now)
        return result
    }

    /// Applies the final transition and appends the final event; nothing when the request has already ended.
    mutating func finish(_ reason: FinishReason, error: ProtocolError?, now: Date) -> [DeliveryAction] {
        let transition: RequestState.Transition = switch reason {
        case .cancelled: .cancel
        case .error: .fail
        default: .finish(reason)
        }
        guard let next = state.applying(transition) else { return [] }
        state = next
        finishedAt = now
        var failure = error
        failure?.requestID = id.rawValue
        return append(.done(reason: reason, usage: usage, error: failure), now: now)
    }

    /// Whether a finished request has outlived `ttl`.
    func isExpired(now: Date, ttl: TimeInterval) -> Bool {
        guard let finishedAt else { return false }
        return now.timeIntervalSince(finishedAt) >= ttl
    }

    /// Whether a live request should be cancelled: its WebSocket dropped longer than `grace` ago without a resume,
    /// or nobody has read it for `abandonedAfter`.
    func isAbandoned(now: Date, grace: TimeInterval, abandonedAfter: TimeInterval) -> Bool {
        guard !state.isTerminal else { return false }
        if let detachedSince, now.timeIntervalSince(detachedSince) > grace { return true }
        return now.timeIntervalSince(lastActivity) > abandonedAfter
    }

    // MARK: Events to consumers

    /// Appends an event and delivers it to the subscriber and the waiting polls.
    private mutating func append(_ event: GenerationEvent, now: Date) -> [DeliveryAction] {
        log.append(event)
        return push() + serveWaiters()
    }

    /// A long-poll arrives: it is answered now when it has something to read (or must not wait), else it waits.
    mutating func poll(_ waiter: PollWaiter, wait: Bool, now: Date) -> (answered: Bool, actions: [DeliveryAction]) {
        lastActivity = now
        detachedSince = nil
        guard hasEvents(for: waiter) || !wait else {
            waiters.append(waiter)
            return (false, [])
        }
        return (true, [serve(waiter)])
    }

    /// A long-poll that got no event in time is answered with none.
    mutating func expireWaiter(token: UInt64) -> [DeliveryAction] {
        guard let index = waiters.firstIndex(where: { $0.token == token }) else { return [] }
        let start = waiters[index].start ?? pollCursor.handedOut
        return [.answerPoll(waiters.remove(at: index), events: [], positions: start ..< start, shared: false)]
    }

    /// A poll's answer was written (or lost with its connection). Events read through the shared cursor count as
    /// read only now, and a lost hand-out is given back for the next poll; events read with `after` advance the
    /// shared cursor too (another consumer delivered them).
    mutating func pollEnded(positions: Range<Int>, shared: Bool, written: Bool) -> [DeliveryAction] {
        if shared {
            pollCursor.settle(positions, written: written)
            return serveWaiters() + [.readersProgressed]
        }
        guard written, !positions.isEmpty else { return [] }
        pollCursor.advance(to: positions.upperBound)
        return [.readersProgressed]
    }

    /// Whether `waiter` has something to read.
    private func hasEvents(for waiter: PollWaiter) -> Bool {
        guard let start = waiter.start else { return pollCursor.canHandOut(below: log.count) }
        return start < log.count
    }

    /// The answer to `waiter`: what it may read, possibly nothing. Events read through the shared cursor are handed
    /// out (one hand-out at a time) until ``pollEnded(positions:shared:written:)`` settles them.
    private mutating func serve(_ waiter: PollWaiter) -> DeliveryAction {
        guard let start = waiter.start else {
            let from = pollCursor.handedOut
            guard pollCursor.canHandOut(below: log.count) else {
                return .answerPoll(waiter, events: [], positions: from ..< from, shared: false)
            }
            let events = log.read(from: from, limit: waiter.maxEvents)
            return .answerPoll(waiter, events: events, positions: pollCursor.handOut(upTo: from + events.count),
                               shared: true)
        }
        let events = start < log.count ? log.read(from: start, limit: waiter.maxEvents) : []
        let from = min(start, log.count)
        return .answerPoll(waiter, events: events, positions: from ..< from + events.count, shared: false)
    }

    /// Answers the waiting polls that can read something, oldest first.
    private mutating func serveWaiters() -> [DeliveryAction] {
        var actions: [DeliveryAction] = []
        var index = 0
        while index < waiters.count {
            guard hasEvents(for: waiters[index]) else {
                index += 1
                continue
            }
            actions.append(serve(waiters.remove(at: index)))
        }
        return actions
    }

    // MARK: WebSocket subscription

    /// Pushes the events from position `after + 1` on to `send`, replacing the previous subscriber (a resume):
    /// `after` -1 for a new stream.
    mutating func subscribe(token: UInt64, serial: UInt64, after: Int, now: Date,
                            send: @escaping @Sendable (GenerationEvent) -> Bool) -> [DeliveryAction] {
        lastActivity = now
        detachedSince = nil
        subscription = Subscription(token: token, serial: serial, next: after < Int.max ? max(0, after + 1) : Int.max,
                                    send: send)
        return push()
    }

    /// The subscriber `token` is gone. Returns whether the request must be cancelled (`cancel`: the client closed
    /// deliberately); otherwise a live request keeps running for a resume. Nothing happens when another subscriber
    /// has taken over.
    mutating func unsubscribe(token: UInt64, cancel: Bool, now: Date) -> Bool {
        guard subscription?.token == token else { return false }
        subscription = nil
        guard !state.isTerminal else { return false }
        if cancel { return true }
        detachedSince = now
        return false
    }

    /// A send of subscription `serial` ended with the events before `end` queued; `ok` is false when the connection
    /// refused one (gone or too slow), which detaches the subscriber. Events sent since are sent next.
    mutating func sent(serial: UInt64, through end: Int, ok: Bool, now: Date) -> [DeliveryAction] {
        pollCursor.advance(to: end)
        guard var current = subscription, current.serial == serial else { return [.readersProgressed] }
        current.sending = false
        current.next = end
        guard ok else {
            subscription = nil
            if !state.isTerminal { detachedSince = now }
            return [.readersProgressed]
        }
        subscription = current
        lastActivity = now
        return push() + [.readersProgressed]
    }

    /// The send of everything the subscriber has not had, unless one is already in flight.
    private mutating func push() -> [DeliveryAction] {
        guard var current = subscription, !current.sending, current.next < log.count else { return [] }
        current.sending = true
        subscription = current
        return [.send(serial: current.serial, events: Array(log.events[current.next...]), start: current.next,
                      through: current.send)]
    }
}
