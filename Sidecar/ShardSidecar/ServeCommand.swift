import ArgumentParser
import Foundation
import ShardProtocol
import ShardSidecarCore

/// `shard-sidecar serve` (also what `shard-sidecar` with no arguments runs): the HTTP + WebSocket daemon.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over HTTP polling and WebSocket (PROTOCOL.md), sharded over local stages and peers.",
        discussion: "Without options it serves the embedded fixture model on 127.0.0.1:9091, split over two "
            + "in-process shards. SIGINT/SIGTERM end in-flight requests with a final event and exit 0.")

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind; 0 picks a free one (printed on stdout as `listening on HOST:PORT`).") var port = 9091
    @Option(help: "GGUF model (default: the embedded Fixtures/kjv-tiny model).") var model: String?
    @Option(help: "SentencePiece tokenizer model (default: the fixture's, or the GGUF vocabulary).") var tokenizer: String?
    @Option(help: "In-process shards the layers are split over, by cost like peer --part (0 when peers serve every layer).") var localShards = 2
    @Option(name: .customLong("peer"), help: "A peer shard, ws://HOST:PORT/peer (repeatable).") var peers: [String] = []
    @Option(name: .customLong("engine"),
            help: "An OpenAI-compatible server holding the whole model, http://HOST:PORT (llama-server, vLLM, Ollama; repeatable).")
    var engines: [String] = []
    @Option(help: "Bearer key sent to the --engine servers.") var engineApiKey: String?
    @Option(help: "Seconds polling clients get at shutdown (SIGTERM) to collect their requests' final events.")
    var shutdownDrain: Double = 5
    @Option(help: "API key required on every route but /health (Bearer or X-API-Key).") var apiKey: String?
    @Option(help: "Shared secret peers must prove (HMAC challenge-response).") var peerSecret: String?
    @Flag(inversion: .prefixedNo,
          help: "Peers pass hidden states straight to the next stage's peer (when every stage is a peer).")
    var peerForwarding = true
    @Option(help: "Hidden states peers send: auto (f32 from peers on this machine, f16 from others), f16 or f32.")
    var linkDtype = HiddenDtypeOption.auto
    @Option(help: "Requests queued or running at once; past it, 503 with Retry-After.") var queueCapacity = 1024
    @Option(help: "Largest request body in bytes (413 past it).") var maxBodyBytes = 1 << 20
    @Option(help: "Highest max_new_tokens accepted.") var maxNewTokensCap = 4096
    @Option(help: "Requests one WebSocket connection may have in flight.") var maxRequestsPerConnection = 16
    @Option(help: "Sequences in one batched step.") var maxBatch = 64
    @Option(help: "Most prompt tokens one step carries; longer prompts are prefilled in chunks.")
    var maxStepTokens = 512
    @Option(help: "Micro-batches in flight at once (pipeline parallelism); 0 picks one per layer range plus one with peers, one with in-process shards only.")
    var microBatches = 0
    @Option(help: "Seconds a finished request stays readable.") var finishedTtl: Double = 300
    @Option(help: "Seconds a request whose WebSocket dropped keeps running for a client to resume it.")
    var resumeGrace: Double = 30
    @Option(help: "Seconds requests wait for a missing layer range to be served again before they fail.")
    var shardOutageTimeout: Double = 30
    @Option(help: "Longest wait for a peer's answer to one step (a stall is usually noticed much sooner).")
    var peerStepTimeout: Double = 30

    func validate() throws {
        guard (0 ... 65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard localShards >= 0, localShards > 0 || !peers.isEmpty || !engines.isEmpty else {
            throw ValidationError("--local-shards must be >= 1 unless --peer shards or --engine servers serve the layers")
        }
        for engine in engines where !(engine.hasPrefix("http://") || engine.hasPrefix("https://")) {
            throw ValidationError("--engine \(engine) must be an http:// URL")
        }
        guard queueCapacity >= 1, maxBodyBytes >= 1024, maxNewTokensCap >= 1, maxRequestsPerConnection >= 1,
              maxBatch >= 1, maxStepTokens >= 1, maxStepTokens <= 1 << 20, finishedTtl > 0, shardOutageTimeout > 0,
              peerStepTimeout >= 1, peerStepTimeout <= 3600
        else { throw ValidationError("limits must be positive (--max-body-bytes at least 1024)") }
        guard (0 ... 64).contains(microBatches) else { throw ValidationError("--micro-batches must be in 0...64") }
        // Token counts travel as UInt32 in peer frames.
        guard maxNewTokensCap <= 1 << 24 else { throw ValidationError("--max-new-tokens-cap must be at most 16777216") }
        guard shutdownDrain >= 0, shutdownDrain <= 3600 else {
            throw ValidationError("--shutdown-drain must be in 0...3600 seconds")
        }
        guard resumeGrace >= 0, resumeGrace <= 3600 else {
            throw ValidationError("--resume-grace must be in 0...3600 seconds")
        }
        // An empty key would look like protection while accepting anyone who sends an empty header.
        if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key must not be empty") }
        if let peerSecret, peerSecret.isEmpty { throw ValidationError("--peer-secret must not be empty") }
        for peer in peers where !(peer.hasPrefix("ws://") || peer.hasPrefix("wss://")) {
            throw ValidationError("--peer \(peer) must be a ws:// URL")
        }
    }

    func run() throws {
        SignalWaiter.blockTerminationSignals()
        let paths = try FixtureLocator.resolve(model: model, tokenizer: tokenizer)
        var configuration = SidecarConfiguration(modelPath: paths.model, tokenizerPath: paths.tokenizer)
        configuration.host = host
        configuration.loadProgress = LoadProgressPrinter().report
        configuration.shutdownDrain = shutdownDrain
        configuration.port = port
        configuration.localShards = localShards
        configuration.peers = peers
        configuration.engines = engines.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        configuration.engineAPIKey = engineApiKey
        configuration.apiKey = apiKey
        configuration.peerSecret = peerSecret
        configuration.peerForwarding = peerForwarding
        configuration.linkHiddenType = linkDtype.dtype
        configuration.queueCapacity = queueCapacity
        configuration.maxBodyBytes = maxBodyBytes
        configuration.maxNewTokensCap = maxNewTokensCap
        configuration.maxRequestsPerConnection = maxRequestsPerConnection
        configuration.maxBatchSequences = maxBatch
        configuration.maxStepTokens = maxStepTokens
        configuration.microBatches = microBatches
        configuration.finishedTTL = finishedTtl
        configuration.resumeGrace = resumeGrace
        configuration.shardOutageTimeout = shardOutageTimeout
        configuration.peerStepTimeout = peerStepTimeout
        let sidecar: Sidecar
        let bound: Int
        do {
            sidecar = try Sidecar(configuration: configuration)
            bound = try sidecar.start()
        } catch {
            Diagnostics.print("error: \(error)")
            throw ExitCode.failure
        }
        Diagnostics.announce("listening on \(host):\(bound)")
        SignalWaiter.waitForTermination()
        Diagnostics.print("shutting down")
        sidecar.shutdown()
    }
}

/// Finds the embedded fixture model when no path is given: in the working directory, or next to the executable
/// (`.build/release/shard-sidecar` in a checkout).
enum FixtureLocator {
    static func resolve(model: String?, tokenizer: String?) throws -> (model: String, tokenizer: String?) {
        if let model { return (model, tokenizer) }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        var directory = executable.deletingLastPathComponent()
        for _ in 0 ..< 5 {
            candidates.append(directory)
            directory = directory.deletingLastPathComponent()
        }
        for base in candidates {
            let fixture = base.appendingPathComponent("Fixtures/kjv-tiny")
            let modelPath = fixture.appendingPathComponent("model-q8_0.gguf").path
            if FileManager.default.fileExists(atPath: modelPath) {
                return (modelPath, tokenizer ?? fixture.appendingPathComponent("tokenizer.model").path)
            }
        }
        Diagnostics.print("error: no --model given and Fixtures/kjv-tiny/model-q8_0.gguf was not found")
        throw ExitCode.failure
    }
}

/// Waits for SIGINT or SIGTERM without racing the process's threads.
///
/// A signal is delivered to any thread that does not block it; if that thread has it ignored (as a Dispatch signal
/// source requires), it is lost. So the signals are blocked in the main thread before any other thread exists —
/// every thread inherits the mask — and the main thread takes them synchronously with `sigwait`.
enum SignalWaiter {
    private static func terminationSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        return set
    }

    /// Call first thing, before any thread is started.
    static func blockTerminationSignals() {
        var set = terminationSignals()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Returns when SIGINT or SIGTERM arrives.
    static func waitForTermination() {
        var set = terminationSignals()
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
    }
}
