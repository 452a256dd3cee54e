import Foundation
import ShardEngine
import ShardProtocol
import ShardTokenizers

/// The scheduler's side of the registry: tokens in, final events out.
extension RequestRegistry {
    /// What the scheduler should do after a token.
    enum TokenOutcome { case proceed, finished }

    /// Records a sampled token (``RequestMachine/accept(_:contextFull:now:)``) and delivers its events.
    func accept(_ token: TokenID, for id: RequestID, contextFull: Bool, now: Date = Date()) -> TokenOutcome {
        let result = lock.withLock { () -> RequestMachine.TokenResult in
            guard let result = records[id]?.accept(token, contextFull: contextFull, now: now) else {
                return RequestMachine.TokenResult(proceeds: false)
            }
            if result.counted { counters.tokensGenerated += 1 }
            if let reason = result.finish { counters.finished[reason, default: 0] += 1 }
            return result
        }
        apply(result.actions, for: id)
        return result.proceeds ? .proceed : .finished
    }

    /// Ends a request with a final event (scheduler: cancellations carried out, failures; registry: queued cancels).
    func finish(_ id: RequestID, reason: FinishReason, error: ProtocolError?, now: Date = Date()) {
        let actions = lock.withLock { end(id, reason, error: error, now: now) }
        apply(actions, for: id)
    }

    /// Ends a live request: its final transition and event, and the counter. Caller holds the lock.
    func end(_ id: RequestID, _ reason: FinishReason, error: ProtocolError?, now: Date) -> [DeliveryAction] {
        guard let state = records[id]?.state, !state.isTerminal else { return [] }
        counters.finished[reason, default: 0] += 1
        return records[id]!.finish(reason, error: error, now: now)
    }
}
