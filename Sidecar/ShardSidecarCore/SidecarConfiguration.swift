import Foundation
import ShardEngine
import ShardProtocol

/// Everything `shard-sidecar serve` can be told.
public struct SidecarConfiguration: Sendable {
    /// Address to bind; loopback by default.
    public var host = "127.0.0.1"
    /// Port; 0 picks a free one.
    public var port = 9091
    /// GGUF model.
    public var modelPath: String
    /// SentencePiece tokenizer; the GGUF vocabulary when `nil`.
    public var tokenizerPath: String?
    /// In-process shards the model's layers are split over (0 when peers serve every layer).
    public var localShards = 2
    /// Peer shard URLs (`ws://HOST:PORT/peer`).
    public var peers: [String] = []
    /// Existing inference servers (`http://host:port`: llama-server, vLLM, Ollama) that each serve the whole
    /// model; used in turn, a failing one skipped.
    public var engines: [String] = []
    /// Bearer key sent to the engines.
    public var engineAPIKey: String?
    /// Precision of the hidden states peers send; `nil` picks per peer: f32 for a peer on this machine (loopback,
    /// bit-exact with one process), f16 for a peer elsewhere (half the bytes on the network).
    public var linkHiddenType: PeerFrame.DType?
    /// Shared secret peers must prove.
    public var peerSecret: String?
    /// Longest wait for a peer's answer to one step; a step usually gets a much shorter stall timeout, from the
    /// link's measured time per row (at least 3 s).
    public var peerStepTimeout: Double = 30
    /// Whether peers pass hidden states straight to the next stage's peer (when every stage is a peer); off, every
    /// hop goes through the sidecar.
    public var peerForwarding = true
    /// Largest request body accepted.
    public var maxBodyBytes = 1 << 20
    /// At shutdown, how long polling clients may take to collect the final events of their requests.
    public var shutdownDrain: TimeInterval = 5
    /// Hears about the model load (a terminal progress display); the model is read into memory when set.
    public var loadProgress: (@Sendable (ModelLoadProgress) -> Void)?
    var registry = RegistryConfiguration()
    var scheduler = Scheduler.Configuration()
    var api = SidecarAPI.Configuration()

    /// Creates a configuration for `modelPath`.
    public init(modelPath: String, tokenizerPath: String? = nil) {
        self.modelPath = modelPath
        self.tokenizerPath = tokenizerPath
    }

    /// API key required on every route but `/health`.
    public var apiKey: String? {
        get { api.apiKey }
        set { api.apiKey = newValue }
    }

    /// Queued plus running requests accepted at once.
    public var queueCapacity: Int {
        get { registry.queueCapacity }
        set { registry.queueCapacity = newValue }
    }

    /// Highest `max_new_tokens` accepted.
    public var maxNewTokensCap: Int {
        get { api.limits.maxNewTokensCap }
        set { api.limits.maxNewTokensCap = newValue }
    }

    /// Requests one WebSocket connection may have in flight.
    public var maxRequestsPerConnection: Int {
        get { api.maxRequestsPerConnection }
        set { api.maxRequestsPerConnection = newValue }
    }

    /// Sequences in one batched step.
    public var maxBatchSequences: Int {
        get { scheduler.maxBatchSequences }
        set { scheduler.maxBatchSequences = newValue }
    }

    /// Seconds requests wait for a missing layer range before they fail with `shards_unavailable`.
    public var shardOutageTimeout: Double {
        get { scheduler.shardOutageTimeout }
        set { scheduler.shardOutageTimeout = newValue }
    }

    /// Seconds a finished request stays readable.
    public var finishedTTL: Double {
        get { registry.finishedTTL }
        set { registry.finishedTTL = newValue }
    }

    /// Seconds a request whose WebSocket dropped without a close frame keeps running for a client to resume it.
    public var resumeGrace: Double {
        get { registry.detachedGrace }
        set { registry.detachedGrace = newValue }
    }

    /// Most prompt tokens one step carries; longer prompts are prefilled in chunks.
    public var maxStepTokens: Int {
        get { scheduler.maxStepTokens }
        set { scheduler.maxStepTokens = newValue }
    }

    /// Micro-batches in flight at once (pipeline parallelism); 0 picks one when every shard is in process, else
    /// one per layer range plus one.
    public var microBatches: Int {
        get { scheduler.microBatches }
        set { scheduler.microBatches = newValue }
    }
}
