import Foundation
import ShardNetworking
import ShardProtocol

/// A peer shard reached over WebSocket. Connects, checks the model and authenticates, then runs frames for the
/// scheduler; reconnects with backoff whenever the link drops, reporting its state to `/peers` and `/ready`.
final class RemotePeerRunner: ShardRunner, @unchecked Sendable {
    /// A step on the wire: what it asked (its answer is checked against it), when, and who waits.
    private struct PendingStep {
        var request: PeerFrame
        var last: Bool
        var sentAt: UInt64
        var deadline: UInt64
        var completion: ShardCompletion
    }

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
        /// Precision asked of the peer for the hidden states it sends.
        var hiddenType: PeerFrame.DType = .f16
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
    /// Steps sent and not yet answered, by step id (the link answers them in order).
    private var pending: [UInt64: PendingStep] = [:]
    /// Checks the pending steps' deadlines while the link is up.
    private var watchdog: DispatchSourceTimer?
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

    /// Moves the link's state machine; steps waiting on a link that stops being ready fail (their caches went with
    /// it).
    private func apply(_ event: PeerLinkState.Event) {
        let abandoned = lock.withLock { () -> [PendingStep] in
            link = link.applying(event)
            guard link != .ready else { return [] }
            defer { pending = [:] }
            return Array(pending.values)
        }
        let reason = ShardError(shard: configuration.url, message: event == .stepTimedOut ? "step timed out" : "link lost")
        for step in abandoned { step.completion(.failure(reason)) }
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
            "hidden_dtype": .string(configuration.hiddenType == .f32 ? "f32" : "f16"),
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
        client.onBinaryMessage { [weak self, weak client] bytes in
            guard let self, let client else { return }
            answered(bytes, on: client)
        }
        startWatchdog(for: client)
        defer { stopWatchdog() }
        // Binary answers go to `answered` on the link's thread; the stream only says when the link ends.
        while let message = try await messages.next() {
            if case .text = message {
                client.close(code: PeerHandshake.badFrame, reason: "unexpected text message")
                throw ShardError(shard: configuration.url, message: "the peer sent a text message after the handshake")
            }
        }
    }

    /// An answer arrived (on the link's service thread): completes the step it answers.
    private func answered(_ bytes: [UInt8], on client: WebSocketClient) {
        guard let frame = try? PeerFrame.decode(bytes) else {
            client.close(code: PeerHandshake.badFrame, reason: "bad frame")
            apply(.failed("the peer sent an invalid frame"))
            return
        }
        let now = DispatchTime.now().uptimeNanoseconds
        guard let step = lock.withLock({ () -> PendingStep? in
            guard let step = pending.removeValue(forKey: frame.step) else { return nil }
            let seconds = Double(now - step.sentAt) / 1e9
            latency = latency.map { $0 * 0.8 + seconds * 200 } ?? seconds * 1000
            secondsPerRow.append(seconds / Double(max(step.request.rowCount, 1)))
            if secondsPerRow.count > 32 { secondsPerRow.removeFirst() }
            return step
        }) else { return }  // an answer to a step already given up
        do throws(PeerFrameError) {
            step.completion(.success(try ShardResult(answer: frame, request: step.request, last: step.last)))
        } catch {
            step.completion(.failure(ShardError(shard: configuration.url, message: error.message)))
        }
    }

    /// Every 100 ms while the link is up: a step past its deadline means the peer stalled; the link is dropped so
    /// its sequences move elsewhere.
    private func startWatchdog(for client: WebSocketClient) {
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 0.1, repeating: 0.1, leeway: .milliseconds(50))
        timer.setEventHandler { [weak self, weak client] in
            guard let self else { return }
            let now = DispatchTime.now().uptimeNanoseconds
            let late = lock.withLock { pending.values.contains { $0.deadline < now } }
            guard late else { return }
            apply(.stepTimedOut)
            client?.close(code: 1011, reason: "step timed out")
        }
        lock.withLock { watchdog = timer }
        timer.resume()
    }

    private func stopWatchdog() {
        lock.withLock { () -> DispatchSourceTimer? in
            defer { watchdog = nil }
            return watchdog
        }?.cancel()
    }

    /// A peer computes elsewhere.
    var isRemote: Bool { true }

    /// Sends the work as a forward frame; the answer (which must answer exactly that frame) completes it.
    func submit(_ work: ShardWork, completion: @escaping ShardCompletion) {
        let now = DispatchTime.now().uptimeNanoseconds
        let timeout = stallTimeout(rows: work.batch.rowCount)
        let sending = lock.withLock { () -> (WebSocketClient, PeerFrame)? in
            nextStep += 1
            guard link == .ready, let client else { return nil }
            let frame = PeerFrame(forward: work, step: nextStep)
            // Steps queue on the peer: this one's time starts when the one before it is due at the latest.
            let start = max(now, pending.values.map(\.deadline).max() ?? now)
            pending[frame.step] = PendingStep(request: frame, last: work.sampling != nil, sentAt: now,
                                              deadline: start + UInt64(timeout * 1e9), completion: completion)
            return (client, frame)
        }
        guard let (client, frame) = sending else {
            completion(.failure(ShardError(shard: configuration.url, message: "not connected")))
            return
        }
        do { try client.send(.binary(frame.encoded())) } catch {
            guard let step = lock.withLock({ pending.removeValue(forKey: frame.step) }) else { return }
            step.completion(.failure(ShardError(shard: configuration.url, message: "send failed: \(error)")))
        }
    }

    func release(_ sequences: [UInt64]) {
        guard !sequences.isEmpty, let client = lock.withLock({ link == .ready ? self.client : nil }) else { return }
        let frame = PeerFrame(kind: .release, dtype: .tokens, step: 0,
                              slices: sequences.map { PeerFrame.Slice(sequence: $0, startPosition: 0, count: 0) })
        try? client.send(.binary(frame.encoded()))
    }
}
