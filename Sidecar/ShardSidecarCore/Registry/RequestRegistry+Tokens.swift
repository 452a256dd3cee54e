import Foundation
import ShardEngine
import ShardProtocol
import ShardTokenizers

/// The scheduler's side of the registry: tokens in, final events out.
extension RequestRegistry {
    /// What the scheduler should do after a token.
    enum TokenOutcome { case proceed, finished }

    /// Records a sampled token: ``GenerationProgress`` turns it into text and decides whether generation ends
    /// (end of generation, stop string, length, full context); the events follow from that.
    func accept(_ token: TokenID, for id: RequestID, contextFull: Bool) -> TokenOutcome {
        lock.withLock { () -> TokenOutcome in
            guard let record = records[id], record.state == .running else { return .finished }
            let step: GenerationProgress.Step
            do { step = try record.progress.accept(token, contextFull: contextFull) } catch {
                complete(record, reason: .error, error: ProtocolError(status: 500, code: "invalid_token",
                                                                      message: "\(error)"))
                return .finished
            }
            if step.counted { counters.tokensGenerated += 1 }
            if let text = step.text { append(.token(text: text, tokenID: Int(token), index: step.index), to: record) }
            guard let reason = step.finish else { return .proceed }
            complete(record, reason: reason, error: nil)
            return .finished
        }
    }

    /// Ends a request with a final event (scheduler: cancellations carried out, failures; registry: queued cancels).
    func finish(_ id: RequestID, reason: FinishReason, error: ProtocolError?) {
        lock.withLock {
            guard let record = records[id], !record.state.isTerminal else { return }
            complete(record, reason: reason, error: error)
        }
    }

    /// Applies the final transition and appends the final event. Caller holds the lock.
    private func complete(_ record: RequestRecord, reason: FinishReason, error: ProtocolError?) {
        let transition: RequestState.Transition = switch reason {
        case .cancelled: .cancel
        case .error: .fail
        default: .finish(reason)
        }
        guard let next = record.state.applying(transition) else { return }
        record.state = next
        record.finishedAt = Date()
        counters.finished[reason, default: 0] += 1
        var failure = error
        failure?.requestID = record.id.rawValue
        append(.done(reason: reason, usage: record.usage, error: failure), to: record)
    }
}
