import ShardProtocol

/// The events of one request in the order they happened, kept until the request expires. Every consumer reads it
/// from its own position, so a reader that goes away takes nothing with it.
///
/// Position `p` holds the token event whose `index` is `p` (the final `done` follows the last token), so a client
/// that saw the token with index `i` continues from position `i + 1` (`after=i` on the wire).
struct EventLog: Sendable {
    private(set) var events: [GenerationEvent] = []

    /// Number of events so far.
    var count: Int { events.count }

    /// Whether the final event is in.
    var isComplete: Bool { events.last?.isFinal ?? false }

    /// Appends an event; nothing is appended after the final one.
    mutating func append(_ event: GenerationEvent) {
        guard !isComplete else { return }
        events.append(event)
    }

    /// Up to `limit` events from position `start` on (`start` is clamped into the log; `limit` at least 1). Only
    /// counts are compared, so any `limit` (`Int.max` included) is safe.
    func read(from start: Int, limit: Int) -> [GenerationEvent] {
        let start = min(max(start, 0), events.count)
        let available = events.count - start
        return Array(events[start ..< start + min(available, max(1, limit))])
    }
}

/// Where `GET /pop-result` without `after` reads ("each event is returned once"). Events are handed to one
/// connection at a time and count as read only once their answer was written; when the connection closed first,
/// they are given back and the next poll gets them. While a hand-out is in flight, nothing else is handed out, so
/// a lost hand-out can always be given back in order.
struct PollCursor: Sendable, Equatable {
    /// Events whose answer was written (or that another consumer delivered).
    private(set) var committed = 0
    /// Events handed out, written or not yet.
    private(set) var handedOut = 0
    /// The hand-out waiting to hear whether it was written.
    private(set) var inFlight: Range<Int>?

    /// Whether events before `count` can be handed out now.
    func canHandOut(below count: Int) -> Bool { inFlight == nil && handedOut < count }

    /// Hands out the events from ``handedOut`` up to `end`; returns their positions.
    mutating func handOut(upTo end: Int) -> Range<Int> {
        precondition(inFlight == nil, "one hand-out at a time")
        let range = handedOut ..< max(handedOut, end)
        handedOut = range.upperBound
        inFlight = range
        return range
    }

    /// Records how the hand-out ended: written, or lost with its connection (then given back).
    mutating func settle(_ range: Range<Int>, written: Bool) {
        guard inFlight == range else { return }
        inFlight = nil
        if written {
            committed = max(committed, range.upperBound)
        } else {
            handedOut = max(range.lowerBound, committed)
        }
    }

    /// Another consumer (a poll with `after`, a WebSocket) delivered the events before `end`.
    mutating func advance(to end: Int) {
        committed = max(committed, end)
        if inFlight == nil { handedOut = max(handedOut, end) }
    }
}
