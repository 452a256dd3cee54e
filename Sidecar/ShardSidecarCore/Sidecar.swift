import Foundation
import ShardEngine
import ShardNetworking
import ShardProtocol

/// A running sidecar: the model, its shards (in-process and peers), the registry, the scheduler and the
/// HTTP/WebSocket server, assembled from a ``SidecarConfiguration``.
public final class Sidecar: @unchecked Sendable {
    let configuration: SidecarConfiguration
    let model: ModelService
    let registry: RequestRegistry
    let pipeline: ShardPipeline
    let scheduler: Scheduler
    let api: SidecarAPI
    private let remotePeers: [RemotePeerRunner]
    private let engines: [EngineRunner]
    private var server: HTTPWebSocketServer?
    private var sweeper: DispatchSourceTimer?

    /// Loads the model and the local shards and prepares the peers; nothing listens before ``start()``.
    public init(configuration: SidecarConfiguration) throws {
        self.configuration = configuration
        let bundle = try ModelBundle(modelPath: configuration.modelPath, tokenizerPath: configuration.tokenizerPath,
                                     progress: configuration.loadProgress)
        model = ModelService(bundle: bundle, path: configuration.modelPath)
        let blockCount = bundle.hyperparameters.blockCount
        var runners: [any ShardRunner] = []
        if configuration.localShards > 0 {
            let ranges = try LayerSplit.balanced(model: bundle.gguf, stageCount: configuration.localShards)
            for (index, range) in ranges.enumerated() {
                runners.append(LocalShardRunner(stage: try LlamaStage(model: bundle.gguf, layers: range), index: index))
            }
        }
        registry = RequestRegistry(configuration: configuration.registry)
        let metrics = SchedulerMetrics()
        let wakeBox = WakeBox()
        let wake: @Sendable () -> Void = { wakeBox.fire() }
        remotePeers = configuration.peers.map { url in
            RemotePeerRunner(configuration: .init(url: url, expectedModelSHA256: bundle.gguf.sha256Hex(),
                                                  secret: configuration.peerSecret,
                                                  stepTimeout: configuration.peerStepTimeout,
                                                  hiddenType: configuration.linkHiddenType ?? Self.hiddenType(forPeer: url)),
                             onReady: wake)
        }
        runners += remotePeers as [any ShardRunner]
        engines = configuration.engines.map { url in
            EngineRunner(configuration: .init(url: url, apiKey: configuration.engineAPIKey, connections: 16),
                         blockCount: blockCount, tokenizer: bundle.tokenizer,
                         endOfGeneration: bundle.tokenizer.endOfGenerationIDs, onReady: wake)
        }
        runners += engines as [any ShardRunner]
        pipeline = ShardPipeline(runners: runners, blockCount: blockCount)
        pipeline.forwarding = configuration.peerForwarding
        scheduler = Scheduler(registry: registry, pipeline: pipeline, configuration: configuration.scheduler,
                              contextLength: bundle.hyperparameters.contextLength,
                              metrics: metrics)
        wakeBox.target = scheduler
        registry.onWork = wake
        api = SidecarAPI(configuration: configuration.api, registry: registry, model: model, pipeline: pipeline,
                         metrics: metrics)
    }

    /// Starts the scheduler, the peer links and the server; returns the bound port.
    public func start() throws -> Int {
        scheduler.start()
        remotePeers.forEach { $0.start() }
        engines.forEach { $0.start() }
        var serverConfiguration = HTTPWebSocketServer.Configuration()
        serverConfiguration.host = configuration.host
        serverConfiguration.port = configuration.port
        serverConfiguration.maxRequestBodyBytes = configuration.maxBodyBytes
        serverConfiguration.webSocketPaths = ["/ws/generate"]
        let api = self.api
        serverConfiguration.acceptWebSocket = { _, headers in api.authenticate(headers) == nil ? nil : 401 }
        let server = HTTPWebSocketServer(configuration: serverConfiguration, handler: api)
        let port = try server.start()
        self.server = server
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 1, repeating: 1)
        let registry = self.registry, responses = api.responses
        timer.setEventHandler {
            registry.sweep()
            responses.prune { registry.holds($0) }
        }
        timer.resume()
        sweeper = timer
        Log.info("serving model \(model.id) on \(configuration.host):\(port) with \(pipeline.runners.count) shards")
        return port
    }

    /// Stops accepting new work at once, gives every live request — queued or running, polling or WebSocket — a
    /// final `cancelled` event, lets polling clients collect those for up to `configuration.shutdownDrain`
    /// seconds, then closes the peers and the server.
    public func shutdown() {
        sweeper?.cancel()
        registry.closeAndCancelQueued()
        scheduler.stop()
        if server != nil, !registry.waitUntilCollected(timeout: configuration.shutdownDrain) {
            Log.warning("shutdown: \(registry.undeliveredCount) final events were not collected in time")
        }
        remotePeers.forEach { $0.shutdown() }
        engines.forEach { $0.shutdown() }
        server?.shutdown()
    }
}

extension Sidecar {
    /// The hidden-state precision for a peer at `url` when none is configured: f32 on this machine's loopback
    /// (bandwidth is free there, and the tokens stay exactly those of one process), f16 across a network.
    static func hiddenType(forPeer url: String) -> PeerFrame.DType {
        guard let host = try? WebSocketURL(parsing: url).host else { return .f16 }
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        return loopback ? .f32 : .f16
    }
}

/// Lets the peers wake the scheduler, which is created after them.
private final class WakeBox: @unchecked Sendable {
    /// Set once during assembly, before any peer starts; read-only afterwards.
    nonisolated(unsafe) weak var target: Scheduler?
    func fire() { target?.wake() }
}
