import Foundation
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
    /// The event log; `readCursor` is how far `/pop-result` has read.
    var events: [GenerationEvent] = []
    var readCursor = 0
    var generatedIDs: [TokenID] = []
    var textProcessor: TokenTextProcessor
    var finishedAt: Date?
    /// Last time a client showed interest (submit, poll, status, WebSocket delivery).
    var lastActivity: Date
    /// Long-polls waiting for events.
    var waiters: [PollWaiter] = []
    /// Push delivery for WebSocket requests.
    var subscriber: (@Sendable (GenerationEvent) -> Void)?

    init(id: RequestID, request: GenerationRequest, promptIDs: [TokenID], seed: UInt64, sequence: UInt64,
         textProcessor: TokenTextProcessor, now: Date) {
        self.id = id
        self.request = request
        self.promptIDs = promptIDs
        self.seed = seed
        self.sequence = sequence
        self.textProcessor = textProcessor
        self.createdAt = now
        self.lastActivity = now
    }

    var usage: Usage { Usage(promptTokens: promptIDs.count, completionTokens: generatedIDs.count) }
}

/// A `GET /pop-result` waiting for events.
struct PollWaiter {
    let token: UInt64
    let maxEvents: Int
    let deliver: @Sendable ([GenerationEvent]) -> Void
}
