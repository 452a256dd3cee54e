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

/// Where `GET /pop-result` without `after` reads ("each event is returned once"). Events are handed out to one
/// connection at a time and count as read only once their response was written; when the connection closed
/// first, they are given back and the next poll gets them again.
struct PollCursor: Sendable, Equatable {
    /// Events whose response was written (or that another consumer delivered).
    private(set) var committed = 0
    /// Events handed to a connection, written or not yet.
    private(set) var handedOut = 0

    /// Hands out the events from ``handedOut`` up to `end`; returns their positions.
    mutating func handOut(upTo end: Int) -> Range<Int> {
        let range = handedOut ..< max(handedOut, end)
        handedOut = range.upperBound
        return range
    }

    /// Records how a hand-out ended: written, or lost with its connection. A lost range is given back unless later
    /// events were handed out meanwhile (then those polls have moved on; the range stays readable with `after`).
    mutating func settle(_ range: Range<Int>, written: Bool) {
        if written {
            committed = max(committed, range.upperBound)
        } else if handedOut == range.upperBound {
            handedOut = max(range.lowerBound, committed)
        }
    }

    /// Another consumer (a poll with `after`, a WebSocket) delivered the events before `end`.
    mutating func advance(to end: Int) {
        committed = max(committed, end)
        handedOut = max(handedOut, end)
    }
}
