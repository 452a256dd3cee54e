import ShardProtocol

/// The lifecycle of one request, as an explicit state machine.
///
/// ```
/// queued ──start──▶ running ──finish(length|stop|eos)──▶ completed
///   │                  ├──fail──▶ failed
///   └──cancel──────────┴──cancel──▶ cancelled
/// ```
/// Terminal states accept no transition; an illegal transition is reported, never applied, so a late event from
/// the scheduler (a token after a cancel) cannot resurrect a finished request.
public enum RequestState: String, Sendable, Equatable, CaseIterable {
    case queued, running, completed, failed, cancelled

    /// An input to the state machine.
    public enum Transition: Sendable, Equatable {
        /// The scheduler admitted the request into the batch.
        case start
        /// Generation ended normally.
        case finish(FinishReason)
        /// Generation failed.
        case fail
        /// The client cancelled (route, WebSocket message, or closed socket), or the sidecar is shutting down.
        case cancel
    }

    /// True for completed, failed and cancelled.
    public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled }

    /// The state after `transition`, or `nil` when the transition is not allowed from this state.
    public func applying(_ transition: Transition) -> RequestState? {
        switch (self, transition) {
        case (.queued, .start): .running
        case (.running, .finish): .completed
        case (.queued, .fail), (.running, .fail): .failed
        case (.queued, .cancel), (.running, .cancel): .cancelled
        default: nil
        }
    }
}
