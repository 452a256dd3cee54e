import Foundation
import ShardEngine
import ShardNetworking
import ShardProtocol
import ShardSync

/// `shard-sidecar peer`: serves one layer range of a model over WebSocket (`/peer`) with binary frames.
///
/// Frames are accepted only after the handshake (and, with a secret, only from a sidecar that proved it);
/// every frame is decoded with bounds checks and checked against the stage before use. A connection that sends
/// garbage is closed; the peer keeps serving its other connections.
public final class PeerServer: HTTPWebSocketHandler, @unchecked Sendable {
    /// Settings of a peer.
    public struct Configuration: Sendable {
        /// Address to bind.
        public var host = "127.0.0.1"
        /// Port to bind; 0 picks a free one.
        public var port = 0
        /// Secret the sidecar must prove; `nil` accepts any sidecar.
        public var secret: String?
        /// Sequences the peer accepts at once (announced as capacity).
        public var capacity = 256
        /// Element type of the hidden states this peer sends; `nil` (the default) sends what each sidecar asks
        /// for in its `auth` message (f32 on loopback, bit-exact with one process; f16 between machines, half the
        /// bytes), f16 when it does not say.
        public var hiddenType: PeerFrame.DType?
        /// Creates a configuration.
        public init(host: String = "127.0.0.1", port: Int = 0, secret: String? = nil,
                    hiddenType: PeerFrame.DType? = nil) {
            self.host = host
            self.port = port
            self.secret = secret
            self.hiddenType = hiddenType
        }
    }

    private struct Link {
        var nonce: String
        /// Names this link in routed frames (sent in `ready`).
        var token = PeerHandshake.linkToken()
        var authenticated = false
        /// Precision of the hidden states sent on this link.
        var precision = HiddenPrecision.f16
    }

    private let configuration: Configuration
    private let executor: StageExecutor
    private let modelSHA256: String
    private let compute = DispatchQueue(label: "shard-peer-compute")
    /// Guards `links` and `sequences`.
    private let lock = Lock()
    private var links: [ConnectionID: Link] = [:]
    private var sequences: PeerSequenceTable
    /// Authenticated links by token.
    private var linksByToken: [UInt64: ConnectionID] = [:]
    /// Frames passed on to a next stage (for `/health`).
    private var forwardedCount = 0
    /// Steps computed and the time spent computing them (for `/health`).
    private struct ComputeTally {
        var steps = 0
        var nanoseconds: UInt64 = 0
        var seconds: Double { Double(nanoseconds) / 1e9 }
        mutating func add(_ elapsed: UInt64) {
            steps += 1
            nanoseconds += elapsed
        }
    }

    /// Every forward frame computed: the benchmark subtracts it from a step's time to get the cost of the hops.
    private var computed = ComputeTally()
    /// Decode steps only (one row per sequence): a prefill step computes many rows, so the benchmark compares a
    /// decode step's time with these.
    private var decoded = ComputeTally()
    private var server: HTTPWebSocketServer?
    private let forwarder: PeerForwarder
    /// `--hidden-dtype f16|f32`: what this peer sends whatever a sidecar or a route asks.
    private let forcedPrecision: HiddenPrecision?

    /// Loads layers `layers` of the model at `modelPath`.
    /// `progress`, when given, hears about the load and the file is read into memory first.
    public init(modelPath: String, layers: Range<Int>, configuration: Configuration,
                progress: ((ModelLoadProgress) -> Void)? = nil) throws {
        let started = Date()
        let file = try GGUFFile(path: modelPath)
        if let progress {
            progress(.opened(path: modelPath, bytes: file.mapping.bytes.count, tensors: file.tensors.count))
            file.readIntoMemory { done, total in progress(.reading(done: done, total: total)) }
        }
        executor = StageExecutor(stage: try LlamaStage(model: file, layers: layers))
        modelSHA256 = file.sha256Hex()
        forwarder = PeerForwarder(modelSHA256: modelSHA256, secret: configuration.secret)
        forcedPrecision = configuration.hiddenType.map(HiddenPrecision.init)
        self.configuration = configuration
        sequences = PeerSequenceTable(capacity: configuration.capacity)
        progress?(.ready(seconds: Date().timeIntervalSince(started)))
    }

    /// The stage, for tests.
    public var stage: LlamaStage { executor.stage }

    /// Starts listening; returns the bound port.
    public func start() throws -> Int {
        var serverConfiguration = HTTPWebSocketServer.Configuration()
        serverConfiguration.host = configuration.host
        serverConfiguration.port = configuration.port
        serverConfiguration.webSocketPaths = ["/peer"]
        serverConfiguration.maxWebSocketMessageBytes = Self.maxFrameBytes
        // Until a link has authenticated, only the small handshake messages are accepted (no large reassembly
        // for strangers), and only so many links may be open.
        serverConfiguration.initialWebSocketMessageBytes = 64 << 10
        serverConfiguration.maxWebSocketConnections = Self.maxLinks
        // A reply (hidden states of a step's rows) is bounded like a frame; the queue holds two of them.
        serverConfiguration.maxQueuedBytesPerConnection = 2 * Self.maxFrameBytes
        let server = HTTPWebSocketServer(configuration: serverConfiguration, handler: self)
        self.server = server
        return try server.start()
    }

    /// Largest frame a sidecar may send once authenticated.
    static let maxFrameBytes = 64 << 20
    /// Most links (sidecars, authenticated or not) at once.
    static let maxLinks = 64

    /// Stops serving.
    public func shutdown() {
        forwarder.shutdown()
        server?.shutdown()
    }

    // MARK: HTTPWebSocketHandler (called on the server thread)

    /// Answers `GET /health` with the layer range, the number of cached sequences, the frames forwarded, and the
    /// steps computed and the time spent computing them (all steps, and decode steps alone); everything else is 404.
    public func httpRequest(_ request: HTTPRequest, server: HTTPWebSocketServer) {
        let layers = executor.stage.layers
        let (forwarded, computed, decoded) = lock.withLock { (forwardedCount, self.computed, self.decoded) }
        let body: JSONValue = request.path == "/health"
            ? .object(["status": .string("ok"), "layers": .array([.int(Int64(layers.lowerBound)),
                                                                 .int(Int64(layers.upperBound))]),
                       "sequences": .int(Int64(executor.stage.activeSequences.count)),
                       "forwarded": .int(Int64(forwarded)),
                       "steps": .int(Int64(computed.steps)), "compute_seconds": .double(computed.seconds),
                       "decode_steps": .int(Int64(decoded.steps)), "decode_compute_seconds": .double(decoded.seconds)])
            : ProtocolError(status: 404, code: "not_found", message: "a peer serves /peer and /health").body()
        server.respond(HTTPResponse(status: request.path == "/health" ? 200 : 404,
                                    headers: [("Content-Type", "application/json")], body: body.encoded()),
                       to: request.connection)
    }

    /// Nothing to clean up for plain HTTP.
    public func httpConnectionClosed(_ connection: ConnectionID, server: HTTPWebSocketServer) {}

    /// Starts the handshake: sends `hello` with a fresh nonce.
    public func webSocketOpened(_ connection: ConnectionID, path: String, query: [String: String],
                                headers: [String: String], server: HTTPWebSocketServer) {
        let nonce = PeerHandshake.nonce()
        lock.withLock { links[connection] = Link(nonce: nonce) }
        let hello = PeerHandshake.Hello(modelSHA256: modelSHA256, layers: executor.stage.layers,
                                        capacity: configuration.capacity, nonce: nonce)
        _ = server.send(.text(hello.json.encodedString()), to: connection)
    }

    /// Text frames carry the handshake; binary frames carry work once the link is authenticated.
    public func webSocketMessage(_ message: WebSocketMessage, connection: ConnectionID, server: HTTPWebSocketServer) {
        switch message {
        case let .text(text): handshake(text, connection: connection, server: server)
        case let .binary(bytes): frame(bytes, connection: connection, server: server)
        }
    }

    /// Forgets the link and frees the caches of its sequences (their sidecar replays them when it reconnects);
    /// other links' sequences are untouched.
    public func webSocketClosed(_ connection: ConnectionID, server: HTTPWebSocketServer) {
        compute.async { [self] in
            let freed = lock.withLock { () -> [SequenceID] in
                if let token = links.removeValue(forKey: connection)?.token { linksByToken[token] = nil }
                return sequences.close(connection)
            }
            for id in freed { executor.stage.release(id) }
        }
    }

    private func handshake(_ text: String, connection: ConnectionID, server: HTTPWebSocketServer) {
        guard let value = JSONValue.decode(Array(text.utf8)), value["type"]?.stringValue == "auth",
              let sidecarNonce = value["nonce"]?.stringValue,
              let link = lock.withLock({ links[connection] })
        else {
            server.close(connection, code: PeerHandshake.badFrame, reason: "expected an auth message")
            return
        }
        guard PeerHandshake.verify(value["mac"]?.stringValue, secret: configuration.secret, role: "sidecar",
                                   nonce: link.nonce)
        else {
            Log.warning("peer link refused: authentication failed")
            server.close(connection, code: PeerHandshake.authenticationFailed, reason: "authentication failed")
            return
        }
        // The peer's own setting wins; else what the sidecar asks for (it knows whether the link leaves the machine).
        let asked = value["hidden_dtype"]?.stringValue.flatMap(PeerFrame.DType.init(hiddenStateName:))
            .map(HiddenPrecision.init)
        lock.withLock {
            links[connection]?.authenticated = true
            links[connection]?.precision = forcedPrecision ?? asked ?? .f16
            linksByToken[link.token] = connection
        }
        server.setMessageLimit(Self.maxFrameBytes, for: connection)
        let mac = PeerHandshake.mac(secret: configuration.secret, role: "peer", nonce: sidecarNonce)
        let ready: JSONValue = .object(["type": .string("ready"), "mac": .string(mac),
                                        "link": .string(String(link.token, radix: 16))])
        _ = server.send(.text(ready.encodedString()), to: connection)
    }

    private func frame(_ bytes: [UInt8], connection: ConnectionID, server: HTTPWebSocketServer) {
        guard lock.withLock({ links[connection]?.authenticated }) == true else {
            server.close(connection, code: PeerHandshake.authenticationFailed, reason: "frame before authentication")
            return
        }
        compute.async { [weak server, self] in
            guard let server else { return }
            do {
                let frame = try PeerFrame.decode(bytes)
                let answer: (PeerFrame, ConnectionID)?
                do { answer = try execute(frame, on: connection) } catch where frame.route != nil {
                    // A routed frame that cannot run fails its step at the sidecar, not the link that passed it.
                    reportFailure(of: frame, on: connection, because: error, server: server)
                    return
                }
                guard let (result, answerLink) = answer else { return }
                if let next = frame.route?.hops.first {
                    forward(result, of: frame, to: next, answerLink: answerLink, server: server)
                } else {
                    _ = server.send(.binary(result.encoded()), to: answerLink)
                }
            } catch {
                Log.warning("closing peer link: \(error)")
                server.close(connection, code: PeerHandshake.badFrame, reason: String("\(error)".prefix(100)))
            }
        }
    }

    /// Runs a frame with its sequence numbers mapped to this peer's own (on the compute queue): those of the link
    /// it came on, or, for a routed frame, of the sidecar link its route names (where a last stage answers).
    /// Returns the answer and that link; `nil` for a release, or a routed frame whose sidecar link is gone.
    private func execute(_ frame: PeerFrame, on link: ConnectionID) throws -> (PeerFrame, ConnectionID)? {
        let wire = frame.slices.map(\.sequence)
        if frame.kind == .release {
            let freed = lock.withLock { sequences.release(wire, on: link) }
            for id in freed { executor.stage.release(id) }
            return nil
        }
        guard frame.kind == .forward else { throw PeerFrameError("a shard accepts forward and release frames, not \(frame.kind)") }
        let owner: ConnectionID? = lock.withLock {
            guard let token = frame.route?.link, token != 0 else { return link }
            return linksByToken[token]
        }
        // The sidecar that owns these sequences has gone: its caches are freed, nobody waits for the answer.
        guard let owner else { return nil }
        let (local, precision) = try lock.withLock { () throws -> ([SequenceID], HiddenPrecision) in
            (try sequences.resolve(wire, on: owner), links[owner]?.precision ?? .f16)
        }
        let hopPrecision = frame.route?.hops.first.map { HiddenPrecision($0.dtype) }
        let started = DispatchTime.now().uptimeNanoseconds
        let result: ShardResult
        do {
            result = try executor.execute(try ShardWork(frame: frame, sequences: local),
                                          precision: forcedPrecision ?? hopPrecision ?? precision)
        } catch {
            // A refused frame (a position that does not continue a cache, say a late frame of a released sequence)
            // must not keep the table entries it made: they would count against the capacity until the link closes.
            let cached = executor.stage.activeSequences
            let unused = zip(wire, local).filter { !cached.contains($0.1) }.map(\.0)
            _ = lock.withLock { sequences.release(unused, on: owner) }
            throw error
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds - started
        let decoding = frame.slices.allSatisfy { $0.count == 1 }
        lock.withLock {
            computed.add(elapsed)
            if decoding { decoded.add(elapsed) }
        }
        return (PeerFrame(result: result, answering: frame), owner)
    }

    /// Tells the sidecar that owns a routed frame's sequences that its step failed here.
    private func reportFailure(of frame: PeerFrame, on link: ConnectionID, because error: any Error,
                               server: HTTPWebSocketServer) {
        Log.warning("routed step \(frame.step) failed: \(error)")
        let owner = lock.withLock { frame.route.map { $0.link == 0 ? link : linksByToken[$0.link] } ?? link }
        guard let owner else { return }
        _ = server.send(.binary(PeerFrame(kind: .failed, dtype: .tokens, step: frame.step, slices: frame.slices).encoded()),
                        to: owner)
    }

    /// Passes a stage's hidden states on to the next stage as its forward frame (same step, sequences and
    /// sampling records, the rest of the route). If it cannot, the sidecar hears so on its link (`failed`) and
    /// replays the step.
    private func forward(_ result: PeerFrame, of frame: PeerFrame, to next: PeerFrame.Route.Hop, answerLink: ConnectionID,
                         server: HTTPWebSocketServer) {
        guard let route = frame.route else { return }
        var onward = result
        onward.kind = .forward
        onward.sampling = frame.sampling
        onward.route = PeerFrame.Route(link: next.link, hops: Array(route.hops.dropFirst()))
        lock.withLock { forwardedCount += 1 }
        let failed = PeerFrame(kind: .failed, dtype: .tokens, step: frame.step, slices: frame.slices)
        forwarder.send(onward, to: next.url) { [weak server] reason in
            Log.warning("step \(frame.step): \(reason)")
            _ = server?.send(.binary(failed.encoded()), to: answerLink)
        }
    }
}
