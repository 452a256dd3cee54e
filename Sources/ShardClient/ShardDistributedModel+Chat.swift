import ShardProtocol

/// A message of a conversation: `.system("...")`, `.user("...")`, `.assistant("...")`.
public typealias ChatMessage = ShardProtocol.ChatMessage

extension ShardDistributedModel {
    /// Streams typed events of the model's reply to a conversation: each token, then `.done`.
    ///
    /// The sidecar renders `messages` with the model's own chat template (adding what the template adds, such as
    /// a default system message and the assistant's generation prompt) and the model's end-of-turn token ends the
    /// reply (`.done` with finish reason `eos`). A model without a usable chat template fails the stream with the
    /// sidecar's `invalid_request` error naming the template. Cancellation and errors behave as in
    /// ``events(_:maxNewTokens:sampling:stop:)``.
    public func chatEvents(_ messages: [ChatMessage], maxNewTokens: Int = 256, sampling: Sampling = .greedy,
                           stop: [String] = []) -> AsyncThrowingStream<StreamEvent, any Error> {
        eventStream(.chat(messages), maxNewTokens: maxNewTokens, sampling: sampling, stop: stop)
    }

    /// Streams the text of the model's reply to a conversation, one piece per token.
    ///
    /// ```swift
    /// for try await piece in model.chat([.system("Be brief."), .user("What is the capital of France?")]) {
    ///     print(piece, terminator: "")
    /// }
    /// ```
    /// See ``chatEvents(_:maxNewTokens:sampling:stop:)``.
    public func chat(_ messages: [ChatMessage], maxNewTokens: Int = 256, sampling: Sampling = .greedy,
                     stop: [String] = []) -> AsyncThrowingStream<String, any Error> {
        Self.texts(of: chatEvents(messages, maxNewTokens: maxNewTokens, sampling: sampling, stop: stop))
    }

    /// The whole reply to a conversation (the joined ``chat(_:maxNewTokens:sampling:stop:)``).
    public func reply(to messages: [ChatMessage], maxNewTokens: Int = 256, sampling: Sampling = .greedy,
                      stop: [String] = []) async throws -> String {
        var text = ""
        for try await piece in chat(messages, maxNewTokens: maxNewTokens, sampling: sampling, stop: stop) {
            text += piece
        }
        return text
    }
}
