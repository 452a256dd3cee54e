import Foundation
import ShardEngine
import ShardProtocol
@testable import ShardSidecarCore
import ShardSync
import ShardTokenizers
import Testing

/// The request state machine on its own: transitions return deliveries and never perform them; and the registry
/// applies them without its lock.
@Suite("Request state machine: transitions return actions")
struct RequestMachineTests {
    static func machine(maxNewTokens: Int = 16) -> RequestMachine {
        let id = RequestID("m")!
        let request = GenerationRequest(requestID: id, prompt: "x", maxNewTokens: maxNewTokens)
        let tokenizer = UTF8ByteTokenizer()
        return RequestMachine(
            id: id, request: request, promptIDs: [1], seed: 1, sequence: 1,
            progress: GenerationProgress(tokenizer: tokenizer, promptIDs: [1],
                                         limits: .init(maxNewTokens: maxNewTokens, endOfGeneration: [])),
            now: Date())
    }

    /// A closure that fails the test if a transition ever calls it: transitions only describe deliveries.
    static let mustNotBeCalled: @Sendable (GenerationEvent) -> Bool = { _ in
        Issue.record("a transition called a connection")
        return false
    }

    static func token(_ byte: Character) -> TokenID { TokenID(byte.asciiValue!) }

    @Test func aSubscriberHasOneSendInFlightAndGetsLaterEventsAfterIt() {
        var machine = Self.machine()
        let started = machine.start()
        #expect(started)
        let now = Date()
        _ = machine.accept(Self.token("a"), contextFull: false, now: now)
        let first = machine.subscribe(token: 1, serial: 7, after: -1, now: now, send: Self.mustNotBeCalled)
        guard case let .send(serial, events, start, _)? = first.first, first.count == 1 else {
            Issue.record("expected one send, got \(first)")
            return
        }
        #expect(serial == 7 && start == 0 && events.map(\.index) == [0])
        // While that send is being applied, new events only go to the log.
        let held = machine.accept(Self.token("b"), contextFull: false, now: now)
        #expect(held.proceeds && held.actions.isEmpty)
        // When it completes, what arrived meanwhile is sent next, in order.
        let next = machine.sent(serial: 7, through: 1, ok: true, now: now)
        let sends = next.compactMap { action -> [Int]? in
            if case let .send(_, events, start, _) = action, start == 1 { return events.map(\.index) }
            return nil
        }
        #expect(sends == [[1]])
        #expect(machine.pollCursor.committed == 1, "what the WebSocket took counts as delivered")
    }

    @Test func aSendForAReplacedSubscriptionOnlyMovesTheReadPosition() {
        var machine = Self.machine()
        let started = machine.start()
        #expect(started)
        let now = Date()
        _ = machine.accept(Self.token("a"), contextFull: false, now: now)
        _ = machine.subscribe(token: 1, serial: 1, after: -1, now: now, send: Self.mustNotBeCalled)
        // A resume elsewhere replaces the subscriber while the first send is in flight.
        let resumed = machine.subscribe(token: 2, serial: 2, after: -1, now: now, send: Self.mustNotBeCalled)
        #expect(resumed.count == 1)
        let stale = machine.sent(serial: 1, through: 1, ok: false, now: now)
        #expect(stale.allSatisfy { if case .readersProgressed = $0 { true } else { false } })
        #expect(machine.detachedSince == nil, "a stale failure must not detach the new subscriber")
    }

    @Test func cancellingAQueuedRequestAnswersItsWaitingPollWithTheFinalEvent() {
        var machine = Self.machine()
        let waiter = PollWaiter(token: 1, start: nil, maxEvents: 10) { _, _ in
            Issue.record("a transition called a connection")
            return false
        }
        let (answered, none) = machine.poll(waiter, wait: true, now: Date())
        #expect(!answered && none.isEmpty)
        guard case let .ended(actions) = machine.cancel(now: Date()) else {
            Issue.record("a queued request ends at once")
            return
        }
        #expect(machine.state == .cancelled)
        guard case let .answerPoll(_, events, positions, shared)? = actions.first else {
            Issue.record("expected the waiting poll to be answered, got \(actions)")
            return
        }
        #expect(events.map(\.isFinal) == [true] && positions == 0 ..< 1 && shared)
        if case .alreadyFinished = machine.cancel(now: Date()) {} else { Issue.record("cancel twice") }
    }

    @Test func aRunningCancelOnlyFlagsUntilTheSchedulerEndsIt() {
        var machine = Self.machine()
        let started = machine.start()
        #expect(started)
        guard case .flagged = machine.cancel(now: Date()) else {
            Issue.record("a running request ends when its shards are free")
            return
        }
        #expect(machine.state == .running && machine.cancelRequested)
        _ = machine.finish(.cancelled, error: nil, now: Date())
        #expect(machine.state == .cancelled)
        let again = machine.finish(.length, error: nil, now: Date())
        #expect(again.isEmpty && machine.state == .cancelled, "a finished request takes no transition")
        let late = machine.accept(Self.token("z"), contextFull: false, now: Date())
        #expect(!late.proceeds)
    }

    @Test func aHandOutItsConnectionLostGoesToTheNextPoll() {
        var machine = Self.machine()
        let started = machine.start()
        #expect(started)
        let now = Date()
        let ignore: PollDelivery = { _, _ in false }
        _ = machine.accept(Self.token("a"), contextFull: false, now: now)
        let (answered, first) = machine.poll(PollWaiter(token: 1, start: nil, maxEvents: 10, deliver: ignore),
                                             wait: true, now: now)
        #expect(answered)
        guard case let .answerPoll(_, _, positions, true)? = first.first else {
            Issue.record("expected a shared hand-out, got \(first)")
            return
        }
        // A second poll waits: one hand-out at a time.
        let second = machine.poll(PollWaiter(token: 2, start: nil, maxEvents: 10, deliver: ignore), wait: true, now: now)
        #expect(!second.answered)
        let retry = machine.pollEnded(positions: positions, shared: true, written: false)
        guard case let .answerPoll(waiter, events, again, true)? = retry.first else {
            Issue.record("expected the lost events to go to the waiting poll, got \(retry)")
            return
        }
        #expect(waiter.token == 2 && again == positions && events.map(\.index) == [0])
    }

    /// The registry applies deliveries after releasing its lock: a WebSocket whose send blocks does not stop the
    /// scheduler from recording tokens, and the events it missed meanwhile follow in order once it is free.
    @Test func aBlockedConnectionDoesNotHoldTheRegistry() async throws {
        let (registry, id) = try EventDeliveryTests.running("blocked")
        EventDeliveryTests.token(registry, id, "a")
        let gate = ConditionLock()
        let state = Locked((entered: false, open: false, received: [Int]()))
        let send: @Sendable (GenerationEvent) -> Bool = { event in
            gate.withLock {
                state.withLock { $0.entered = true }
                gate.broadcast()
                while !state.withLock({ $0.open }) { gate.wait() }
            }
            state.withLock { $0.received.append(event.index) }
            return true
        }
        let subscriber = Thread { _ = registry.subscribe(id, token: 1, send: send) }
        subscriber.start()
        // Wait (bounded) until the subscriber's thread is inside the blocked send.
        let entered = gate.withLock { () -> Bool in
            let deadline = Date().addingTimeInterval(30)
            while !state.withLock({ $0.entered }) { guard gate.wait(until: deadline) else { break } }
            return state.withLock { $0.entered }
        }
        #expect(entered)
        // The scheduler's side goes on while the send is blocked (under the old design it waited on the lock, and
        // this bounded wait failed instead of hanging).
        let recorded = Locked(false)
        Thread {
            for byte in "bcd" { EventDeliveryTests.token(registry, id, byte) }
            registry.finish(id, reason: .length, error: nil)
            gate.withLock {
                recorded.withLock { $0 = true }
                gate.broadcast()
            }
        }.start()
        let wentOn = gate.withLock { () -> Bool in
            let deadline = Date().addingTimeInterval(30)
            while !recorded.withLock({ $0 }) { guard gate.wait(until: deadline) else { break } }
            return recorded.withLock { $0 }
        }
        #expect(wentOn, "the registry was held while a connection's send was blocked")
        gate.withLock {
            state.withLock { $0.open = true }
            gate.broadcast()
        }
        #expect(registry.waitUntilCollected(timeout: 30))
        #expect(registry.snapshot(id)?.state == .completed)
        #expect(state.withLock { $0.received } == [0, 1, 2, 3, -1])
    }
}
