import Foundation
import ShardProtocol

extension ShardDistributedModel {
    /// Streams typed events: each token (text, id, index), then `.done` with the finish reason and usage.
    ///
    /// The request is validated before any I/O; invalid input makes the stream throw at once. Cancelling the
    /// consuming task (or dropping the stream) cancels the request on the sidecar and stops the transport.
    /// A failure in the middle of a stream throws a ``ShardClientError`` carrying the `request_id`: a stream
    /// never ends silently without its `.done` event.
    public func events(_ prompt: String, maxNewTokens: Int = 128, sampling: Sampling = .greedy,
                       stop: [String] = []) -> AsyncThrowingStream<StreamEvent, any Error> {
        eventStream(.text(prompt), maxNewTokens: maxNewTokens, sampling: sampling, stop: stop)
    }

    /// The stream behind ``events(_:maxNewTokens:sampling:stop:)`` and ``chatEvents(_:maxNewTokens:sampling:stop:)``.
    func eventStream(_ input: PromptInput, maxNewTokens: Int, sampling: Sampling,
                     stop: [String]) -> AsyncThrowingStream<StreamEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<StreamEvent, any Error>.makeStream()
        let id = UUID()
        let lifetime = self.lifetime
        let producer = Task {
            defer { lifetime.finished(id) }
            do {
                try await run(input, maxNewTokens: maxNewTokens, sampling: sampling, stop: stop) { event in
                    continuation.yield(event)
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in producer.cancel() }
        if !lifetime.register(id, producer) {
            continuation.finish(throwing: ShardClientError(.cancelled, "the model was shut down"))
        }
        return stream
    }

    /// Streams the generated text, one piece per token as it arrives (pieces can be `""` for half a character).
    ///
    /// The concatenation of all pieces is exactly the completion. See ``events(_:maxNewTokens:sampling:stop:)``
    /// for cancellation and errors.
    public func streamGenerate(_ prompt: String, maxNewTokens: Int = 128, sampling: Sampling = .greedy,
                               stop: [String] = []) -> AsyncThrowingStream<String, any Error> {
        Self.texts(of: events(prompt, maxNewTokens: maxNewTokens, sampling: sampling, stop: stop))
    }

    /// The text pieces of the token events of `events`.
    static func texts(of events: AsyncThrowingStream<StreamEvent, any Error>) -> AsyncThrowingStream<String, any Error> {
        let (stream, continuation) = AsyncThrowingStream<String, any Error>.makeStream()
        let relay = Task {
            do {
                for try await event in events {
                    if case let .token(chunk) = event { continuation.yield(chunk.text) }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in relay.cancel() }
        return stream
    }

    /// Generates the whole completion and returns it (the joined ``streamGenerate(_:maxNewTokens:sampling:stop:)``).
    public func generate(_ prompt: String, maxNewTokens: Int = 128, sampling: Sampling = .greedy,
                         stop: [String] = []) async throws -> String {
        var text = ""
        for try await piece in streamGenerate(prompt, maxNewTokens: maxNewTokens, sampling: sampling, stop: stop) {
            text += piece
        }
        return text
    }
}
