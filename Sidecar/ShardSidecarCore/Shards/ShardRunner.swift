import ShardEngine
import ShardProtocol

/// State of a shard as shown by `/peers` and used for readiness.
public enum ShardState: String, Sendable {
    /// Serving.
    case ready
    /// Connecting or reconnecting.
    case connecting
    /// Connected; checking the model and authenticating.
    case handshaking
    /// A step got no answer in time: out of rotation while the link is dropped and re-established.
    case stalled
    /// Refused (wrong model, failed authentication) or unreachable; retried with backoff.
    case down
}

/// A snapshot of one shard for `/peers`.
public struct ShardStatus: Sendable {
    /// `local-N` or the peer's URL.
    public var name: String
    /// The blocks it serves.
    public var layers: Range<Int>
    /// Ready, connecting or down.
    public var state: ShardState
    /// Mean round-trip of recent steps, in milliseconds.
    public var latencyMilliseconds: Double?
    /// Why it is down, when it is.
    public var detail: String?
}

/// Why a step could not run.
public struct ShardError: Error, Sendable, CustomStringConvertible {
    /// The shard at fault.
    public var shard: String
    /// What went wrong.
    public var message: String
    /// What the pipeline makes of it (a routed step's failure says whether the peer at fault is known).
    var cause = Cause.failed

    /// Kinds of failure the pipeline tells apart.
    enum Cause: Sendable, Equatable {
        /// The shard failed the work.
        case failed
        /// The shard's link is down (or was not up): that peer is known to be at fault.
        case linkLost
        /// A routed step got no answer in time: some peer of its path stalled, which one is not known.
        case routedTimeout
    }
    /// `shard NAME: message`.
    public var description: String { "shard \(shard): \(message)" }
}

/// What a started step delivers, exactly once: the shard's result or why it failed.
typealias ShardCompletion = @Sendable (Result<ShardResult, ShardError>) -> Void

/// One stage of the pipeline: a local stage or a remote peer, serving a range of layers.
protocol ShardRunner: AnyObject, Sendable {
    /// The blocks this runner computes.
    var layers: Range<Int> { get }
    /// For `/peers`.
    var status: ShardStatus { get }
    /// Whether the work runs elsewhere (a peer): ``submit(_:completion:)`` returns at once and several steps may be
    /// in flight on the link. A local runner computes on the calling thread.
    var isRemote: Bool { get }
    /// Starts one step's work (a last stage gets sampling records and returns ids); `completion` gets its result
    /// exactly once, on any thread (a local runner: on this one, before `submit` returns). Steps submitted to one
    /// runner are computed in the order submitted.
    func submit(_ work: ShardWork, completion: @escaping ShardCompletion)
    /// Frees these sequences' caches (best effort; a dead peer has nothing to free).
    func release(_ sequences: [UInt64])
    /// Sequences holding cache on this shard (for tests and metrics), or `nil` when unknown.
    func cachedSequenceCount() -> Int?
    /// Most sequences this shard holds at once (a peer announces it), or `nil` for no limit.
    var capacity: Int? { get }
}

/// A shard that computes in this process, on the calling thread.
protocol InlineShardRunner: ShardRunner {
    /// Runs one step's work and returns its result. Blocks the calling thread.
    func run(_ work: ShardWork) throws(ShardError) -> ShardResult
}

extension InlineShardRunner {
    /// In this process.
    var isRemote: Bool { false }

    /// Computes on the calling thread.
    func submit(_ work: ShardWork, completion: @escaping ShardCompletion) {
        do throws(ShardError) { completion(.success(try run(work))) } catch { completion(.failure(error)) }
    }
}

/// A shard computed in this process.
public final class LocalShardRunner: InlineShardRunner {
    private let executor: StageExecutor
    private let index: Int

    /// Wraps a local stage; `index` names it `local-<index>`.
    public init(stage: LlamaStage, index: Int) {
        executor = StageExecutor(stage: stage)
        self.index = index
    }

    /// The stage's layers.
    public var layers: Range<Int> { executor.stage.layers }

    /// Always ready: it runs in this process.
    public var status: ShardStatus {
        ShardStatus(name: "local-\(index)", layers: layers, state: .ready, latencyMilliseconds: nil)
    }

    /// Runs the work on the stage in this thread.
    func run(_ work: ShardWork) throws(ShardError) -> ShardResult {
        do { return try executor.execute(work) } catch let error as ShardError { throw error } catch {
            throw ShardError(shard: status.name, message: "\(error)")
        }
    }

    /// Frees the sequences' caches.
    public func release(_ sequences: [UInt64]) {
        for sequence in sequences { executor.stage.release(SequenceID(sequence)) }
    }

    /// Sequences with a cache on the stage.
    public func cachedSequenceCount() -> Int? { executor.stage.activeSequences.count }

    /// No limit but memory.
    public var capacity: Int? { nil }
}
