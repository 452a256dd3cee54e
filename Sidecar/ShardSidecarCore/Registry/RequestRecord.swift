import Foundation
import ShardEngine
import ShardProtocol
import ShardTokenizers

/// Everything the sidecar knows about one request. Owned by ``RequestRegistry`` and only touched under its lock.
final class RequestRecord {
    let id: RequestID
    /// The request as parsed; compared on a repeated `request_id` to tell a retry from a conflict.
    let request: GenerationRequest
    let promptIDs: [TokenID]
    /// Seed in use (the request's, or one drawn at registration), so replays sample the same tokens.
    let seed: UInt64
    /// Internal sequence id used on the shards.
    let sequence: UInt64
    let createdAt: Date
    var state: RequestState = .queued
    /// A cancellation arrived while running; it holds until the scheduler has ended the request.
    var cancelRequested = false
    /// Everything that happened, for every consumer to read from its own position.
    var log = EventLog()
    /// The position of `/pop-result` reads without `after`.
    var pollCursor = PollCursor()
    /// Text, stop strings and the end of generation, token by token (the loop `complete` runs too).
    var progress: GenerationProgress
    /// The generated tokens.
    var generatedIDs: [TokenID] { progress.generated }
    var finishedAt: Date?
    /// Last time a client showed interest (submit, poll, status, WebSocket delivery).
    var lastActivity: Date
    /// Long-polls waiting for events.
    var waiters: [PollWaiter] = []
    /// Push delivery to the one WebSocket streaming this request.
    var subscription: Subscription?
    /// When the WebSocket streaming this live request dropped without closing; it is cancelled unless someone
    /// resumes it within ``RegistryConfiguration/detachedGrace``.
    var detachedSince: Date?

    init(id: RequestID, request: GenerationRequest, promptIDs: [TokenID], seed: UInt64, sequence: UInt64,
         progress: GenerationProgress, now: Date) {
        self.id = id
        self.request = request
        self.promptIDs = promptIDs
        self.seed = seed
        self.sequence = sequence
        self.progress = progress
        self.createdAt = now
        self.lastActivity = now
    }

    var usage: Usage { Usage(promptTokens: promptIDs.count, completionTokens: generatedIDs.count) }
}

/// Hands events to a connection: returns whether the connection took them (it is alive and not yet answered) and
/// later calls the completion with whether they were written. Called under the registry's lock, so it must only
/// queue (``HTTPWebSocketServer/respond(_:to:written:)`` does) and never call back into the registry.
typealias PollDelivery = @Sendable (_ events: [GenerationEvent], _ written: @escaping @Sendable (Bool) -> Void) -> Bool

/// A `GET /pop-result` waiting for events.
struct PollWaiter {
    let token: UInt64
    /// Read from this position (`after + 1`), or from the shared ``PollCursor`` when `nil`.
    let start: Int?
    let maxEvents: Int
    let deliver: PollDelivery
}

/// The WebSocket a request's events are pushed to, and how far it got.
struct Subscription {
    /// The consumer (connection) this belongs to; a resume elsewhere replaces it.
    let token: UInt64
    /// The next position to send.
    var next: Int
    /// Queues one event on the connection; `false` when the connection is gone or too slow. Called under the
    /// registry's lock, so it must only queue (``HTTPWebSocketServer/send(_:to:)`` does).
    let send: @Sendable (GenerationEvent) -> Bool
}
