import Foundation
import ShardNetworking
import ShardProtocol

/// A peer shard reached over WebSocket. Connects, checks the model and authenticates, then runs frames for the
/// scheduler; reconnects with backoff whenever the link drops, reporting its state to `/peers` and `/ready`.
final class RemotePeerRunner: ShardRunner, @unchecked Sendable {
    struct Configuration: Sendable {
        var url: String
        var expectedModelSHA256: String
        var secret: String?
        /// Longest wait for a step's answer (a large prefill chunk on a slow peer) before the peer counts as stalled.
        var stepTimeout: TimeInterval = 30
        /// Shortest stall timeout. Between the two, a step may take ten times the slowest time per row recently
        /// measured on this link, so a stopped peer is noticed in seconds, not after `stepTimeout`.
        var minimumStallTimeout: TimeInterval = 3
        var handshakeTimeout: TimeInterval = 10
    }

    private let configuration: Configuration
    /// Called when the peer becomes ready (wakes the scheduler).
    private let onReady: @Sendable () -> Void
    /// Guards the fields below.
    private let lock = NSLock()
    private var link = PeerLinkState.connecting
    private var announcedLayers: Range<Int> = 0 ..< 0
    private var announcedCapacity: Int?
    private var client: WebSocketClient?
    private var latency: Double?
    /// Seconds per row of recent steps (newest last), for the stall timeout.
    private var secondsPerRow: [Double] = []
    private var pending: (step: UInt64, semaphore: DispatchSemaphore, result: PeerFrame?)?
    /// Step id of the last frame sent on this runner's links (answers carry it back).
    private var nextStep: UInt64 = 0
    private var task: Task<Void, Never>?
    private var stopped = false

    init(configuration: Configuration, onReady: @escaping @Sendable () -> Void) {
        self.configuration = configuration
        self.onReady = onReady
    }

    var layers: Range<Int> { lock.withLock { announcedLayers } }

    var status: ShardStatus {
        lock.withLock {
            ShardStatus(name: configuration.url, layers: announcedLayers, state: link.shardState,
                        latencyMilliseconds: latency, detail: link.reason)
        }
    }

    func cachedSequenceCount() -> Int? { nil }

    /// The capacity the peer announced in its hello.
    var capacity: Int? { lock.withLock { announcedCapacity } }

    /// Starts the connect / serve / reconnect loop.
    func start() {
        task = Task { [self] in
            var backoff = 0.2
            while !Task.isCancelled, !lock.withLock({ stopped }) {
                apply(.dial)
                do {
                    try await connectAndServe()
                    backoff = 0.2
                } catch {
                    apply(.failed("\(error)"))
                    Log.warning("peer \(configuration.url): \(error)")
                }
                try? await Task.sleep(for: .seconds(backoff))
                backoff = min(backoff * 2, 5)
            }
        }
    }

    /// Closes the link and stops reconnecting.
    func shutdown() {
        let client = lock.withLock { () -> WebSocketClient? in
            stopped = true
            return self.client
        }
        task?.cancel()
        client?.close(code: 1001, reason: "sidecar shutting down")
    }

    /// Moves the link's state machine; a step waiting on a link that stops being ready is woken.
    private func apply(_ event: PeerLinkState.Event) {
        let waiting = lock.withLock { () -> DispatchSemaphore? in
            link = link.applying(event)
            guard link != .ready, let pending else { return nil }
            return pending.semaphore
        }
        waiting?.signal()
    }

    /// How long a step of `rows` rows may take before the peer counts as stalled.
    private func stallTimeout(rows: Int) -> TimeInterval {
        lock.withLock {
            guard let slowest = secondsPerRow.max() else { return configuration.stepTimeout }
            return min(configuration.stepTimeout,
                       max(configuration.minimumStallTimeout, 1 + 10 * slowest * Double(max(rows, 1))))
        }
    }

    private func connectAndServe() async throws {
        let client = try await WebSocketClient.connect(
            to: configuration.url, timeout: .milliseconds(Int(configuration.handshakeTimeout * 1000)))
        apply(.connected)
        var messages = client.messages.makeAsyncIterator()
        // A peer that accepts the connection but does not answer (stopped, overloaded) is dropped.
        let deadline = Task {
            try await Task.sleep(for: .milliseconds(Int(configuration.handshakeTimeout * 1000)))
            client.close(code: 1008, reason: "no handshake within \(Int(configuration.handshakeTimeout)) s")
        }
        defer { deadline.cancel() }
        guard case let .text(helloText)? = try await messages.next(),
              let hello = JSONValue.decode(Array(helloText.utf8)).flatMap(PeerHandshake.Hello.init)
        else {
            client.close(code: PeerHandshake.badFrame, reason: "expected hello")
            throw ShardError(shard: configuration.url, message: "the peer did not send a valid hello")
        }
        guard hello.modelSHA256 == configuration.expectedModelSHA256 else {
            client.close(code: 1008, reason: "different model")
            throw ShardError(shard: configuration.url, message: "serves model \(hello.modelSHA256.prefix(16)), not \(configuration.expectedModelSHA256.prefix(16))")
        }
        let nonce = PeerHandshake.nonce()
        try client.send(.text(JSONValue.object([
            "type": .string("auth"), "nonce": .string(nonce),
            "mac": .string(PeerHandshake.mac(secret: configuration.secret, role: "sidecar", nonce: hello.nonce)),
        ]).encodedString()))
        guard case let .text(readyText)? = try await messages.next(),
              let ready = JSONValue.decode(Array(readyText.utf8)), ready["type"]?.stringValue == "ready",
              PeerHandshake.verify(ready["mac"]?.stringValue, secret: configuration.secret, role: "peer", nonce: nonce)
        else {
            client.close(code: PeerHandshake.authenticationFailed, reason: "authentication failed")
            throw ShardError(shard: configuration.url, message: "authentication failed")
        }
        deadline.cancel()
        lock.withLock {
            self.client = client
            announcedLayers = hello.layers
            announcedCapacity = max(1, hello.capacity)
            secondsPerRow = []
        }
        apply(.handshakeSucceeded)
        Log.info("peer \(configuration.url) ready: layers \(hello.layers.lowerBound)..<\(hello.layers.upperBound)")
        onReady()
        defer {
            lock.withLock { self.client = nil }
            apply(.linkLost)
        }
        while let message = try await messages.next() {
            guard case let .binary(bytes) = message, let frame = try? PeerFrame.decode(bytes) else {
                client.close(code: PeerHandshake.badFrame, reason: "bad frame")
                throw ShardError(shard: configuration.url, message: "the peer sent an invalid frame")
            }
            let waiting = lock.withLock { () -> DispatchSemaphore? in
                guard let current = pending, current.step == frame.step else { return nil }
                pending?.result = frame
                return current.semaphore
            }
            waiting?.signal()
        }
    }

    /// Sends the work as a forward frame and waits for the answer, which must answer exactly that frame.
    func run(_ work: ShardWork) throws(ShardError) -> ShardResult {
        let semaphore = DispatchSemaphore(value: 0)
        let (client, frame) = lock.withLock { () -> (WebSocketClient?, PeerFrame) in
            nextStep += 1
            let frame = PeerFrame(forward: work, step: nextStep)
            guard link == .ready else { return (nil, frame) }
            pending = (frame.step, semaphore, nil)
            return (self.client, frame)
        }
        guard let client else { throw ShardError(shard: configuration.url, message: "not connected") }
        let started = Date()
        do { try client.send(.binary(frame.encoded())) } catch {
            lock.withLock { pending = nil }
            throw ShardError(shard: configuration.url, message: "send failed: \(error)")
        }
        let timedOut = semaphore.wait(timeout: .now() + stallTimeout(rows: frame.rowCount)) == .timedOut
        let answer = lock.withLock { () -> PeerFrame? in
            defer { pending = nil }
            return pending?.result
        }
        guard let answer else {
            if timedOut {
                // A stalled peer is dropped so its sequences move elsewhere.
                apply(.stepTimedOut)
                client.close(code: 1011, reason: "step timed out")
            }
            throw ShardError(shard: configuration.url, message: timedOut ? "step timed out" : "link lost")
        }
        let result: ShardResult
        do { result = try ShardResult(answer: answer, request: frame, last: work.sampling != nil) } catch {
            throw ShardError(shard: configuration.url, message: error.message)
        }
        let seconds = Date().timeIntervalSince(started)
        lock.withLock {
            latency = latency.map { $0 * 0.8 + seconds * 200 } ?? seconds * 1000
            secondsPerRow.append(seconds / Double(max(frame.rowCount, 1)))
            if secondsPerRow.count > 32 { secondsPerRow.removeFirst() }
        }
        return result
    }

    func release(_ sequences: [UInt64]) {
        guard !sequences.isEmpty, let client = lock.withLock({ link == .ready ? self.client : nil }) else { return }
        let frame = PeerFrame(kind: .release, dtype: .tokens, step: 0,
                              slices: sequences.map { PeerFrame.Slice(sequence: $0, startPosition: 0, count: 0) })
        try? client.send(.binary(frame.encoded()))
    }
}
