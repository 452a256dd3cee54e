import Foundation
import ShardProtocol
import ShardTokenizers

/// The scheduler's side of the registry: tokens in, final events out.
extension RequestRegistry {
    /// What the scheduler should do after a token.
    enum TokenOutcome { case proceed, finished }

    /// Records a sampled token: detokenizes it, checks stop strings, end of generation (any id of
    /// `endOfGeneration`, finish reason `eos`) and length, appends events.
    func accept(_ token: TokenID, for id: RequestID, endOfGeneration: Set<TokenID>, contextFull: Bool) -> TokenOutcome {
        lock.withLock { () -> TokenOutcome in
            guard let record = records[id], record.state == .running else { return .finished }
            if endOfGeneration.contains(token), record.generatedIDs.count >= record.request.minTokens {
                let tail = record.textProcessor.finish()
                if !tail.isEmpty {
                    // Text held back (a possible stop string, half a character) is completed by end-of-sequence.
                    append(.token(text: tail, tokenID: Int(token), index: record.generatedIDs.count), to: record)
                }
                complete(record, reason: .eos, error: nil)
                return .finished
            }
            let text: String, stopped: Bool
            do { (text, stopped) = try record.textProcessor.push(token) } catch {
                complete(record, reason: .error, error: ProtocolError(status: 500, code: "invalid_token",
                                                                      message: "\(error)"))
                return .finished
            }
            record.generatedIDs.append(token)
            counters.tokensGenerated += 1
            let index = record.generatedIDs.count - 1
            let atLength = record.generatedIDs.count >= record.request.maxNewTokens || contextFull
            let finalText = stopped || !atLength ? text : text + record.textProcessor.finish()
            append(.token(text: finalText, tokenID: Int(token), index: index), to: record)
            if stopped || atLength {
                complete(record, reason: stopped ? .stop : .length, error: nil)
                return .finished
            }
            return .proceed
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
