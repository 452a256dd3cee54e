/// The life of the sidecar's link to one peer, as an explicit state machine (what `/peers` shows).
///
/// ```
/// connecting ──connected──▶ handshaking ──handshakeSucceeded──▶ ready ──stepTimedOut──▶ stalled
///     ▲  │                        │                               │                        │
///     │  └──failed──▶ down ◀──failed                          linkLost                  dial
///     └───────dial────────────────────────────────────────────────┴────────────────────────┘
/// ```
/// `down` keeps its reason while the runner retries (a dial does not hide why the peer is down); only a completed
/// handshake makes the link `ready` again.
enum PeerLinkState: Equatable, Sendable {
    /// Opening the connection (first time, or after a ready link was lost).
    case connecting
    /// Connected; checking the model and authenticating.
    case handshaking
    /// Serving steps.
    case ready
    /// A step got no answer in time; the link is being dropped and its sequences moved.
    case stalled
    /// Refused (another model, failed authentication) or unreachable; retried with backoff.
    case down(reason: String)

    /// What happens to a link.
    enum Event: Equatable, Sendable {
        /// A connection attempt starts.
        case dial
        /// The WebSocket is open.
        case connected
        /// The peer proved itself and serves the expected model.
        case handshakeSucceeded
        /// A step's answer did not come in time.
        case stepTimedOut
        /// The connection ended.
        case linkLost
        /// The attempt failed, for this reason.
        case failed(String)
    }

    /// The state after `event`.
    func applying(_ event: Event) -> PeerLinkState {
        switch (self, event) {
        case (.down, .dial): self
        case (_, .dial): .connecting
        case (_, .connected): .handshaking
        case (.handshaking, .handshakeSucceeded): .ready
        case (.ready, .stepTimedOut): .stalled
        case (.ready, .linkLost): .connecting
        case (_, .linkLost): self
        case let (_, .failed(reason)): .down(reason: reason)
        default: self
        }
    }

    /// The coarse state for `/peers` and readiness.
    var shardState: ShardState {
        switch self {
        case .connecting: .connecting
        case .handshaking: .handshaking
        case .ready: .ready
        case .stalled: .stalled
        case .down: .down
        }
    }

    /// Why the link is down, if it is.
    var reason: String? {
        if case let .down(reason) = self { return reason }
        return nil
    }
}
