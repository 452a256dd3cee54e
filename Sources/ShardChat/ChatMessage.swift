/// One message of a conversation, as chat templates see it (`message.role`, `message.content`).
public struct ChatMessage: Sendable, Hashable, Codable {
    /// The speaker: `system`, `user`, `assistant` (templates may accept others, such as `tool`).
    public var role: String
    /// The message text.
    public var content: String

    /// A message from `role` saying `content`.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}
