import Foundation
import ShardNetworking
import ShardProtocol
import ShardSync

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
        var role = Role.direct

        /// What this link does for the step.
        enum Role {
            /// Sent to this peer, which answers it: past its deadline, this peer stalled.
            case direct
            /// A routed step this peer answers (the last of its path): past its deadline, the path (not necessarily
            /// this peer) stalled.
            case routedAnswer
            /// A routed step passing through (or starting at) this peer and answered by a later one: it only fails,
            /// when this link does.
            case routedWatch
        }

        /// Whether this link's answer completes the step (and its deadline counts).
        var answersHere: Bool { role != .routedWatch }
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
    private let lock = Lock()
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
    private var task: Task<Void, Never>?
    /// The token the peer gave this link (`ready`), for routed frames; `nil` from a peer that does not forward.
    private var linkToken: UInt64?
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
        let reason = event == .stepTimedOut ? ShardError(shard: configuration.url, message: "step timed out")
            : ShardError(shard: configuration.url, message: "link lost", cause: .linkLost)
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
        // A peer that accepts the connection but does not answer (stopped, overloaded) is dropped.
        let deadline = Task {
            try await Task.sleep(for: .milliseconds(Int(configuration.handshakeTimeout * 1000)))
            client.close(code: 1008, reason: "no handshake within \(Int(configuration.handshakeTimeout)) s")
        }
        defer { deadline.cancel() }
        let hello: PeerHandshake.Hello, ready: JSONValue
        do {
            (hello, ready) = try await PeerHandshake.authenticate(
                client, expectedModel: configuration.expectedModelSHA256, secret: configuration.secret,
                extra: ["hidden_dtype": .string(configuration.hiddenType.name)])
        } catch let failure as PeerHandshake.HandshakeFailure {
            throw ShardError(shard: configuration.url, message: failure.message)
        }
        deadline.cancel()
        var messages = client.messages.makeAsyncIterator()
        lock.withLock {
            self.client = client
            linkToken = ready["link"]?.stringValue.flatMap { UInt64($0, radix: 16) }
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
        if frame.kind == .failed {
            guard let step = lock.withLock({ pending.removeValue(forKey: frame.step) }) else { return }
            step.completion(.failure(ShardError(shard: configuration.url,
                                                message: "the routed step could not be passed on or run")))
            return
        }
        guard let step = lock.withLock({ () -> PendingStep? in
            guard let step = pending[frame.step], step.answersHere else { return nil }
            pending[frame.step] = nil
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
            let (late, routedLate) = lock.withLock { () -> (Bool, [PendingStep]) in
                let routed = pending.filter { $0.value.role == .routedAnswer && $0.value.deadline < now }
                for step in routed.keys { pending[step] = nil }
                return (pending.values.contains { $0.role == .direct && $0.deadline < now }, Array(routed.values))
            }
            // A routed step may have stalled on any peer of its path: the pipeline resets the whole path.
            for step in routedLate {
                step.completion(.failure(ShardError(shard: configuration.url, message: "the routed step timed out",
                                                    cause: .routedTimeout)))
            }
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
            guard link == .ready, let client else { return nil }
            let frame = PeerFrame(forward: work, step: PeerStepIDs.next())
            // Steps queue on the peer: this one's time starts when the one before it is due at the latest.
            let start = max(now, pending.values.filter(\.answersHere).map(\.deadline).max() ?? now)
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

    /// How a routed frame reaches this peer: its URL, the token of this link there, the precision asked of it.
    /// `nil` while not ready, or when the peer does not forward (no token).
    var routeHop: PeerFrame.Route.Hop? {
        lock.withLock {
            guard link == .ready, let linkToken else { return nil }
            return PeerFrame.Route.Hop(url: configuration.url, link: linkToken, dtype: configuration.hiddenType)
        }
    }

    /// Registers a routed step on this link: the peer that `answers` (the last of the path) completes it with its
    /// answer to `request`; the others only fail it, when their link fails or they report that the step failed.
    /// Returns `false` when the link is not ready.
    func expect(_ request: PeerFrame, answers: Bool, completion: @escaping ShardCompletion) -> Bool {
        let now = DispatchTime.now().uptimeNanoseconds
        let timeout = answers ? stallTimeout(rows: request.rowCount) : 0
        return lock.withLock {
            guard link == .ready, client != nil else { return false }
            let start = max(now, pending.values.filter(\.answersHere).map(\.deadline).max() ?? now)
            pending[request.step] = PendingStep(
                request: request, last: true, sentAt: now,
                deadline: answers ? start + UInt64(timeout * 1e9) : .max, completion: completion,
                role: answers ? .routedAnswer : .routedWatch)
            return true
        }
    }

    /// Drops the link and reconnects: the peer frees every cache of this link, and frames still on their way to it
    /// under the old link's token are refused, so none can land in a replayed sequence's cache.
    func resetLink(because reason: String) {
        let client = lock.withLock { self.client }
        apply(.stepTimedOut)
        client?.close(code: 1011, reason: reason)
    }

    /// Forgets a routed step (it completed elsewhere).
    func forget(_ step: UInt64) { lock.withLock { pending[step] = nil } }

    /// Sends a routed frame registered with ``expect(_:answers:completion:)``; `false` when it could not be sent.
    func sendRouted(_ frame: PeerFrame) -> Bool {
        guard let client = lock.withLock({ link == .ready ? self.client : nil }) else { return false }
        do { try client.send(.binary(frame.encoded())) } catch { return false }
        return true
    }

    func release(_ sequences: [UInt64]) {
        guard !sequences.isEmpty, let client = lock.withLock({ link == .ready ? self.client : nil }) else { return }
        let frame = PeerFrame(kind: .release, dtype: .tokens, step: 0,
                              slices: sequences.map { PeerFrame.Slice(sequence: $0, startPosition: 0, count: 0) })
        try? client.send(.binary(frame.encoded()))
    }
}

/// Step ids, unique in this process: a routed step is known to every peer link of its path under one id.
enum PeerStepIDs {
    private static let counter = Locked<UInt64>(0)
    static func next() -> UInt64 { counter.withLock { $0 += 1; return $0 } }
}
