import Foundation
import ShardProtocol
@testable import ShardSidecarCore
import ShardTokenizers
import Testing

@Suite("Request state machine and registry")
struct RequestLifecycleTests {
    @Test func transitionsFollowTheDiagram() {
        #expect(RequestState.queued.applying(.start) == .running)
        #expect(RequestState.running.applying(.finish(.eos)) == .completed)
        #expect(RequestState.running.applying(.fail) == .failed)
        #expect(RequestState.queued.applying(.cancel) == .cancelled)
        #expect(RequestState.running.applying(.cancel) == .cancelled)
        #expect(RequestState.queued.applying(.finish(.length)) == nil, "a queued request has produced nothing")
        for terminal in [RequestState.completed, .failed, .cancelled] {
            #expect(terminal.isTerminal)
            for transition in [RequestState.Transition.start, .finish(.stop), .fail, .cancel] {
                #expect(terminal.applying(transition) == nil, "\(terminal) must not leave its state")
            }
        }
    }

    static func registry(ttl: TimeInterval = 300, abandoned: TimeInterval = 600) -> RequestRegistry {
        var configuration = RegistryConfiguration()
        configuration.finishedTTL = ttl
        configuration.abandonedTTL = abandoned
        configuration.queueCapacity = 2
        return RequestRegistry(configuration: configuration)
    }

    static func submit(_ registry: RequestRegistry, _ id: String, prompt: String = "x", endOfGeneration: Set<TokenID> = [],
                       now: Date = Date()) throws(ProtocolError) -> RequestRegistry.Submission {
        try registry.submit(id: RequestID(id)!, request: GenerationRequest(requestID: RequestID(id), prompt: prompt),
                            promptIDs: [1, 2], tokenizer: UTF8ByteTokenizer(), endOfGeneration: endOfGeneration,
                            now: now)
    }

    @Test func finishedAndAbandonedRequestsExpire() throws {
        let registry = Self.registry(ttl: 10, abandoned: 20)
        let start = Date()
        _ = try Self.submit(registry, "done", now: start)
        _ = try Self.submit(registry, "forgotten", now: start)
        registry.cancel(RequestID("done")!)
        registry.sweep(now: start.addingTimeInterval(5))
        #expect(registry.count == 2)
        registry.sweep(now: start.addingTimeInterval(30))
        // "done" finished more than 10 s ago; "forgotten" was never read for 30 s and is cancelled first.
        #expect(registry.snapshot(RequestID("done")!) == nil)
        #expect(registry.snapshot(RequestID("forgotten")!)?.state == .cancelled)
    }

    @Test func idsAreIdempotentQueueIsBounded() throws {
        let registry = Self.registry()
        guard case .accepted = try Self.submit(registry, "a") else { Issue.record("not accepted"); return }
        guard case .duplicate = try Self.submit(registry, "a") else { Issue.record("not a duplicate"); return }
        #expect(throws: ProtocolError.self) { try Self.submit(registry, "a", prompt: "different") }
        _ = try Self.submit(registry, "b")
        do {
            _ = try Self.submit(registry, "c")
            Issue.record("the queue took a third request")
        } catch {
            #expect(error.status == 503)
            #expect(error.code == "queue_full")
        }
    }

    @Test func longPollsGetEventsInOrderOnce() throws {
        let registry = Self.registry()
        _ = try Self.submit(registry, "p")
        let id = RequestID("p")!
        let connection = FakeConnection()
        connection.writesAtOnce = false
        guard case .waiting = registry.poll(id, maxEvents: 10, wait: true, deliver: connection.deliver) else {
            Issue.record("expected to wait"); return
        }
        #expect(registry.admit(limit: 4).map(\.id) == [id])
        #expect(registry.accept(Int32(UInt8(ascii: "h")), for: id, contextFull: false) == .proceed)
        #expect(connection.events == [.token(text: "h", tokenID: 104, index: 0)])
        connection.finishWrites(true)
        #expect(registry.accept(Int32(UInt8(ascii: "i")), for: id, contextFull: false) == .proceed)
        #expect(FakeConnection.read(registry, id) == [.token(text: "i", tokenID: 105, index: 1)])
        registry.finish(id, reason: .cancelled, error: nil)
        let final = FakeConnection.read(registry, id)
        #expect(final.count == 1)
        #expect(final.first?.isFinal == true)
    }

    @Test func anyEndOfGenerationIDFinishesTheRequest() throws {
        let registry = Self.registry()
        _ = try Self.submit(registry, "q", endOfGeneration: [2, 7])
        let id = RequestID("q")!
        #expect(registry.admit(limit: 4).map(\.id) == [id])
        // 7 (an end-of-turn id) ends it like EOS would; 104 ("h") does not.
        #expect(registry.accept(104, for: id, contextFull: false) == .proceed)
        #expect(registry.accept(7, for: id, contextFull: false) == .finished)
        let events = FakeConnection.read(registry, id)
        #expect(events.last?.isFinal == true)
        #expect(events.count == 2)
    }

    /// Regression: resending a request id after some events were read, then attaching a WebSocket subscriber,
    /// overflowed `readCursor + Int.max` and killed the process. A resubmitted stream now replays from the start.
    @Test func resubmittingAfterAReadThenSubscribingDeliversEverything() throws {
        let registry = Self.registry()
        _ = try Self.submit(registry, "r")
        let id = RequestID("r")!
        #expect(registry.admit(limit: 4).map(\.id) == [id])
        #expect(registry.accept(Int32(UInt8(ascii: "a")), for: id, contextFull: false) == .proceed)
        #expect(FakeConnection.read(registry, id) == [.token(text: "a", tokenID: 97, index: 0)])
        #expect(registry.accept(Int32(UInt8(ascii: "b")), for: id, contextFull: false) == .proceed)
        guard case .duplicate = try Self.submit(registry, "r") else { Issue.record("not a duplicate"); return }
        let socket = FakeSocket()
        #expect(registry.subscribe(id, token: 1, after: -1, send: socket.send))
        #expect(socket.events.map(\.index) == [0, 1])
        #expect(registry.accept(Int32(UInt8(ascii: "c")), for: id, contextFull: false) == .proceed)
        #expect(socket.events.map(\.index) == [0, 1, 2])
    }
}
