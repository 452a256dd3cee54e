import ShardProtocol

/// What a ``RequestMachine`` transition asks the registry to do once it has released its lock: hand events to a
/// connection, or tell a shutdown drain that readers moved on. The machine never calls a connection itself, so
/// nothing a connection does (encoding JSON, queueing bytes, calling back into the registry) runs under the lock.
enum DeliveryAction: Sendable {
    /// Answer a long-poll with `events`, which sit at `positions` in the log (empty `events`: "nothing yet").
    /// `shared`: read through the request's ``PollCursor`` (a poll without `after`), so the hand-out must be
    /// settled when the connection reports whether it was written.
    case answerPoll(PollWaiter, events: [GenerationEvent], positions: Range<Int>, shared: Bool)
    /// Send `events`, from position `start` on, to the WebSocket subscription `serial`, then report how far it got
    /// (``RequestMachine/sent(serial:through:ok:now:)``). A subscription has at most one send in flight, so its
    /// events leave in log order although they are sent without the lock.
    case send(serial: UInt64, events: [GenerationEvent], start: Int, through: @Sendable (GenerationEvent) -> Bool)
    /// Readers collected events: a shutdown drain waiting for them re-checks.
    case readersProgressed
}

/// Hands events to a connection: returns whether the connection took them (it is alive and not yet answered) and
/// later calls the completion with whether they were written. Called without the registry's lock.
typealias PollDelivery = @Sendable (_ events: [GenerationEvent], _ written: @escaping @Sendable (Bool) -> Void) -> Bool

/// A `GET /pop-result` waiting for events.
struct PollWaiter: Sendable {
    let token: UInt64
    /// Read from this position (`after + 1`), or from the shared ``PollCursor`` when `nil`.
    let start: Int?
    let maxEvents: Int
    let deliver: PollDelivery
}

/// The WebSocket a request's events are pushed to, and how far it got.
struct Subscription: Sendable {
    /// The consumer (connection) this belongs to: an unsubscribe names it.
    let token: UInt64
    /// This subscription among all of the request's (a resume on any connection makes a new one): a send that
    /// completes for an older one changes nothing but the read position.
    let serial: UInt64
    /// The next position to send.
    var next: Int
    /// A ``DeliveryAction/send(serial:events:start:through:)`` is being applied.
    var sending = false
    /// Queues one event on the connection; `false` when the connection is gone or too slow.
    let send: @Sendable (GenerationEvent) -> Bool
}
