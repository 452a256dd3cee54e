import Foundation
import ShardProtocol
@testable import ShardSidecarCore
import ShardTokenizers
import Testing

/// One HTTP connection as the registry sees it: alive or gone, and whether its answer gets written.
final class FakeConnection: @unchecked Sendable {
    private let lock = NSLock()
    private var received: [GenerationEvent] = []
    private var pendingWrites: [@Sendable (Bool) -> Void] = []
    private var answered = false
    /// A closed connection takes nothing (`respond` returns false).
    var alive = true
    /// Whether a taken answer's write completes at once (true) or waits for ``finishWrites(_:)``.
    var writesAtOnce = true

    var events: [GenerationEvent] { lock.withLock { received } }
    var wasAnswered: Bool { lock.withLock { answered } }

    var deliver: PollDelivery {
        { [self] events, written in
            let taken = lock.withLock { () -> Bool in
                guard alive, !answered else { return false }
                answered = true
                received += events
                if !writesAtOnce { pendingWrites.append(written) }
                return true
            }
            if taken, writesAtOnce { DispatchQueue.global().async { written(true) } }
            return taken
        }
    }

    /// Completes the writes that were waiting: written, or lost with the connection.
    func finishWrites(_ written: Bool) {
        let writes = lock.withLock { () -> [@Sendable (Bool) -> Void] in
            defer { pendingWrites.removeAll() }
            return pendingWrites
        }
        writes.forEach { $0(written) }
    }

    /// A complete `/pop-result` without waiting, written at once; returns what it got.
    static func read(_ registry: RequestRegistry, _ id: RequestID, after: Int? = nil, max: Int = 100,
                     wait: Bool = false) -> [GenerationEvent] {
        let connection = FakeConnection()
        connection.writesAtOnce = false
        _ = registry.poll(id, maxEvents: max, after: after, wait: wait, deliver: connection.deliver)
        connection.finishWrites(true)
        return connection.events
    }
}

/// A WebSocket as the registry sees it.
final class FakeSocket: @unchecked Sendable {
    private let lock = NSLock()
    private var received: [GenerationEvent] = []
    var alive = true
    var events: [GenerationEvent] { lock.withLock { received } }
    var send: @Sendable (GenerationEvent) -> Bool {
        { [self] event in
            lock.withLock {
                guard alive else { return false }
                received.append(event)
                return true
            }
        }
    }
}

extension GenerationEvent {
    /// The token index, or -1 for the final event.
    var index: Int {
        if case let .token(_, _, index) = self { return index }
        return -1
    }
}

@Suite("Event log and delivery: nothing lost, nothing repeated")
struct EventDeliveryTests {
    static func running(_ id: String = "s") throws -> (RequestRegistry, RequestID) {
        let registry = RequestLifecycleTests.registry()
        _ = try RequestLifecycleTests.submit(registry, id)
        #expect(registry.admit(limit: 1).count == 1)
        return (registry, RequestID(id)!)
    }

    static func token(_ registry: RequestRegistry, _ id: RequestID, _ byte: Character = "a") {
        _ = registry.accept(Int32(byte.asciiValue!), for: id, contextFull: false)
    }

    /// Regression for defect 3: a long-poll whose client went away stayed registered; the next events were handed
    /// to it, the read cursor moved past them, and they were lost.
    @Test func aLongPollWhoseClientLeftTakesNothing() throws {
        let (registry, id) = try Self.running()
        let gone = FakeConnection()
        guard case .waiting = registry.poll(id, maxEvents: 10, wait: true, deliver: gone.deliver) else {
            Issue.record("expected to wait"); return
        }
        gone.alive = false
        Self.token(registry, id)
        Self.token(registry, id, "b")
        #expect(gone.events.isEmpty)
        #expect(FakeConnection.read(registry, id).map(\.index) == [0, 1])
    }

    /// An answer taken by a connection that then closed before it was written is given back.
    @Test func anAnswerLostInTheWriteIsReadAgain() throws {
        let (registry, id) = try Self.running()
        Self.token(registry, id)
        let cut = FakeConnection()
        cut.writesAtOnce = false
        #expect(registry.poll(id, maxEvents: 10, wait: false, deliver: cut.deliver) == .answered)
        #expect(cut.events.map(\.index) == [0])
        #expect(registry.snapshot(id)?.eventsPending == 1, "not read until written")
        cut.finishWrites(false)
        Self.token(registry, id, "b")
        #expect(FakeConnection.read(registry, id).map(\.index) == [0, 1])
        #expect(registry.snapshot(id)?.eventsPending == 0)
        #expect(FakeConnection.read(registry, id).isEmpty, "each event is popped once")
    }

    /// Two polls whose clients left, with an event between them: the first hand-out is given back before anything
    /// after it is handed out, so no event is skipped (this lost the first token under load).
    @Test func handOutsAreSerialSoALostOneIsGivenBackInOrder() throws {
        let (registry, id) = try Self.running()
        let first = FakeConnection(), second = FakeConnection()
        first.writesAtOnce = false
        second.writesAtOnce = false
        _ = registry.poll(id, maxEvents: 10, wait: true, deliver: first.deliver)
        Self.token(registry, id, "a")
        _ = registry.poll(id, maxEvents: 10, wait: true, deliver: second.deliver)
        Self.token(registry, id, "b")
        #expect(first.events.map(\.index) == [0])
        #expect(second.events.isEmpty, "nothing is handed out while a hand-out is in flight")
        first.finishWrites(false)
        #expect(second.events.map(\.index) == [0, 1])
        second.finishWrites(true)
        #expect(registry.snapshot(id)?.eventsPending == 0)
    }

    /// Waiting polls are served in turn; one that is gone passes its events to the next.
    @Test func aDeadWaiterPassesItsEventsToTheNextOne() throws {
        let (registry, id) = try Self.running()
        let gone = FakeConnection(), live = FakeConnection()
        _ = registry.poll(id, maxEvents: 10, wait: true, deliver: gone.deliver)
        _ = registry.poll(id, maxEvents: 10, wait: true, deliver: live.deliver)
        gone.alive = false
        Self.token(registry, id)
        #expect(live.events.map(\.index) == [0])
    }

    /// `after` reads are repeatable and consume nothing a plain poll still needs... but count as delivered once
    /// written, so `events_pending` and the shutdown drain see them.
    @Test func readsAfterAnIndexResumeWithoutGapOrDuplicate() throws {
        let (registry, id) = try Self.running()
        for byte in "abcd" { Self.token(registry, id, byte) }
        #expect(FakeConnection.read(registry, id, after: -1, max: 2).map(\.index) == [0, 1])
        #expect(FakeConnection.read(registry, id, after: 1).map(\.index) == [2, 3])
        #expect(FakeConnection.read(registry, id, after: 1).map(\.index) == [2, 3], "a resume can be repeated")
        #expect(registry.snapshot(id)?.eventsPending == 0)
        registry.finish(id, reason: .length, error: nil)
        let rest = FakeConnection.read(registry, id, after: 3)
        #expect(rest.count == 1 && rest[0].isFinal)
        // A resume past everything waits for what comes next, like any long-poll.
        let waiting = FakeConnection()
        if case .waiting = registry.poll(id, maxEvents: 10, after: Int.max - 1, wait: true, deliver: waiting.deliver) {
        } else { Issue.record("expected to wait") }
    }

    /// A WebSocket subscriber that drops is detached, not cancelled; a resume elsewhere continues where the
    /// client says it was, in order.
    @Test func aDroppedSubscriberIsResumedWithoutGapOrDuplicate() throws {
        let (registry, id) = try Self.running()
        let first = FakeSocket()
        #expect(registry.subscribe(id, token: 1, send: first.send))
        Self.token(registry, id, "a")
        Self.token(registry, id, "b")
        first.alive = false
        Self.token(registry, id, "c")
        registry.unsubscribe(id, token: 1, cancel: false)
        #expect(registry.snapshot(id)?.state == .running)
        Self.token(registry, id, "d")
        let second = FakeSocket()
        // The client saw index 0 only (index 1 was queued but the connection died before it arrived).
        #expect(registry.subscribe(id, token: 2, after: 0, send: second.send))
        Self.token(registry, id, "e")
        #expect(second.events.map(\.index) == [1, 2, 3, 4])
        // The old connection's late close does not touch the resumed stream.
        registry.unsubscribe(id, token: 1, cancel: true)
        #expect(registry.snapshot(id)?.state == .running)
        #expect(!registry.subscribe(RequestID("nope")!, token: 3, send: second.send))
    }

    /// Nobody resumes within the grace period: the request is cancelled and its shards freed; a deliberate close
    /// cancels at once.
    @Test func aDetachedRequestIsCancelledAfterTheGrace() throws {
        let (registry, id) = try Self.running("grace")
        let socket = FakeSocket()
        _ = registry.subscribe(id, token: 1, send: socket.send)
        let start = Date()
        registry.unsubscribe(id, token: 1, cancel: false, now: start)
        registry.sweep(now: start.addingTimeInterval(5))
        #expect(registry.snapshot(id)?.state == .running)
        registry.sweep(now: start.addingTimeInterval(31))
        #expect(registry.takeCancellations() == [id])
        let (other, otherID) = try Self.running("closed")
        _ = other.subscribe(otherID, token: 7, send: socket.send)
        other.unsubscribe(otherID, token: 7, cancel: true)
        #expect(other.takeCancellations() == [otherID])
    }

    /// The final event of a request nobody reads counts as undelivered until a poll's answer was written.
    @Test func theShutdownDrainWaitsForWrittenAnswers() throws {
        let (registry, id) = try Self.running()
        registry.finish(id, reason: .cancelled, error: nil)
        #expect(registry.undeliveredCount == 1)
        let slow = FakeConnection()
        slow.writesAtOnce = false
        _ = registry.poll(id, maxEvents: 10, wait: false, deliver: slow.deliver)
        #expect(registry.undeliveredCount == 1)
        slow.finishWrites(true)
        #expect(registry.undeliveredCount == 0)
    }
}
