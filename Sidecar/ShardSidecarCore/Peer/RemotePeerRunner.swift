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
        /// Longest wait for a step's answer before the peer counts as stalled and is dropped.
        var stepTimeout: TimeInterval = 30
        var handshakeTimeout: TimeInterval = 10
    }

    private let configuration: Configuration
    /// Called when the peer becomes ready (wakes the scheduler).
    private let onReady: @Sendable () -> Void
    /// Guards the fields below.
    private let lock = NSLock()
    private var state: ShardState = .connecting
    private var detail: String?
    private var announcedLayers: Range<Int> = 0 ..< 0
    private var announcedCapacity: Int?
    private var client: WebSocketClient?
    private var latency: Double?
    private var pending: (step: UInt64, semaphore: DispatchSemaphore, result: PeerFrame?)?
    private var task: Task<Void, Never>?
    private var stopped = false

    init(configuration: Configuration, onReady: @escaping @Sendable () -> Void) {
        self.configuration = configuration
        self.onReady = onReady
    }

    var layers: Range<Int> { lock.withLock { announcedLayers } }

    var status: ShardStatus {
        lock.withLock {
            ShardStatus(name: configuration.url, layers: announcedLayers, state: state,
                        latencyMilliseconds: latency, detail: detail)
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
                do {
                    try await connectAndServe()
                    backoff = 0.2
                } catch {
                    setState(.connecting, detail: "\(error)")
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

    private func setState(_ newState: ShardState, detail: String? = nil) {
        let waiting = lock.withLock { () -> DispatchSemaphore? in
            state = newState
            self.detail = detail
            guard newState != .ready, let pending else { return nil }
            return pending.semaphore
        }
        waiting?.signal()
    }

    private func connectAndServe() async throws {
        let client = try await WebSocketClient.connect(to: configuration.url)
        var messages = client.messages.makeAsyncIterator()
        guard case let .text(helloText)? = try await messages.next(),
              let hello = JSONValue.decode(Array(helloText.utf8)).flatMap(PeerHandshake.Hello.init)
        else {
            client.close(code: PeerHandshake.badFrame, reason: "expected hello")
            throw ShardError(shard: configuration.url, message: "the peer did not send a valid hello")
        }
        guard hello.modelSHA256 == configuration.expectedModelSHA256 else {
            client.close(code: 1008, reason: "different model")
            setState(.down, detail: "serves model \(hello.modelSHA256.prefix(16)), not \(configuration.expectedModelSHA256.prefix(16))")
            throw ShardError(shard: configuration.url, message: "the peer serves a different model")
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
            setState(.down, detail: "authentication failed")
            throw ShardError(shard: configuration.url, message: "the peer failed authentication")
        }
        lock.withLock {
            self.client = client
            announcedLayers = hello.layers
            announcedCapacity = max(1, hello.capacity)
        }
        setState(.ready)
        Log.info("peer \(configuration.url) ready: layers \(hello.layers.lowerBound)..<\(hello.layers.upperBound)")
        onReady()
        defer {
            lock.withLock { self.client = nil }
            setState(.connecting, detail: "link lost")
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

    func run(_ frame: PeerFrame) throws(ShardError) -> PeerFrame {
        let semaphore = DispatchSemaphore(value: 0)
        let client = lock.withLock { () -> WebSocketClient? in
            guard state == .ready else { return nil }
            pending = (frame.step, semaphore, nil)
            return self.client
        }
        guard let client else { throw ShardError(shard: configuration.url, message: "not connected") }
        let started = Date()
        do { try client.send(.binary(frame.encoded())) } catch {
            lock.withLock { pending = nil }
            throw ShardError(shard: configuration.url, message: "send failed: \(error)")
        }
        let timedOut = semaphore.wait(timeout: .now() + configuration.stepTimeout) == .timedOut
        let result = lock.withLock { () -> PeerFrame? in
            defer { pending = nil }
            return pending?.result
        }
        guard let result else {
            if timedOut {
                // A stalled peer is dropped so its sequences move elsewhere.
                client.close(code: 1011, reason: "step timed out")
                setState(.connecting, detail: "stalled")
            }
            throw ShardError(shard: configuration.url, message: timedOut ? "step timed out" : "link lost")
        }
        let elapsed = Date().timeIntervalSince(started) * 1000
        lock.withLock { latency = latency.map { $0 * 0.8 + elapsed * 0.2 } ?? elapsed }
        return result
    }

    func release(_ sequences: [UInt64]) {
        guard !sequences.isEmpty, let client = lock.withLock({ state == .ready ? self.client : nil }) else { return }
        let frame = PeerFrame(kind: .release, dtype: .tokens, step: 0,
                              slices: sequences.map { PeerFrame.Slice(sequence: $0, startPosition: 0, count: 0) })
        try? client.send(.binary(frame.encoded()))
    }
}
