/// One event of a generation stream.
public enum StreamEvent: Sendable, Equatable {
    /// Text that became complete with a token (may be `""` for half a character), its id and index.
    case token(TokenChunk)
    /// The generation ended.
    case done(Completion)

    /// The text of a token event, `""` for the end.
    public var text: String {
        if case let .token(chunk) = self { return chunk.text }
        return ""
    }
}

/// A streamed token.
public struct TokenChunk: Sendable, Equatable {
    /// Text completed by this token.
    public var text: String
    /// The token id in the model's vocabulary.
    public var tokenID: Int
    /// 0 for the first generated token.
    public var index: Int
    /// The request's id (`sdk-<uuid>`), for correlating with the sidecar's logs and routes.
    public var requestID: String
}

/// How a generation ended.
public struct Completion: Sendable, Equatable {
    /// Why it ended.
    public enum FinishReason: String, Sendable {
        /// `maxNewTokens` reached.
        case length
        /// A stop string matched.
        case stop
        /// The model ended the sequence.
        case eos
        /// Cancelled.
        case cancelled
    }

    /// Why it ended.
    public var finishReason: FinishReason
    /// Prompt length in model tokens.
    public var promptTokens: Int
    /// Generated tokens.
    public var completionTokens: Int
    /// The request's id.
    public var requestID: String
}

/// The sidecar's liveness answer.
public struct SidecarHealth: Sendable, Equatable {
    /// `ok` when alive.
    public var status: String
    /// Sidecar version.
    public var version: String
    /// Seconds since it started.
    public var uptimeSeconds: Double
}

/// The sidecar's readiness answer.
public struct SidecarReadiness: Sendable, Equatable {
    /// True when every layer of the model is served.
    public var ready: Bool
    /// Layer ranges without a live shard.
    public var missingLayers: [Range<Int>]
}

/// One shard as listed by `/peers`.
public struct PeerStatus: Sendable, Equatable {
    /// `local-N` or the peer's URL.
    public var name: String
    /// The layers it serves.
    public var layers: Range<Int>
    /// `ready`, `connecting` or `down`.
    public var state: String
    /// Mean recent step latency.
    public var latencyMilliseconds: Double?
}
