/// One message of a chat conversation, as sent in a generation request's `messages` field.
///
/// The sidecar renders a conversation into the prompt with the model's own chat template.
public struct ChatMessage: Sendable, Equatable, Hashable {
    /// The speaker: `system`, `user` or `assistant` (templates may accept others, such as `tool`).
    public var role: String
    /// The message text.
    public var content: String

    /// Creates a message.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    /// A `system` message: instructions for the assistant.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    /// A `user` message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    /// An `assistant` message: an earlier reply of the model.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }

    /// The wire form: `{"role": ..., "content": ...}`.
    public var json: JSONValue { .object(["role": .string(role), "content": .string(content)]) }
}

extension FieldReader {
    /// Reads `[{"role": String, "content": String}]`; other keys of a message are ignored.
    func messages(_ name: String) throws(ProtocolError) -> [ChatMessage]? {
        guard let value = fields[name], value != .null else { return nil }
        guard case let .array(items) = value else {
            throw .invalid(name, "\(name) must be an array of {\"role\", \"content\"} objects, not \(value.typeName)")
        }
        var messages: [ChatMessage] = []
        for (index, item) in items.enumerated() {
            guard case let .object(fields) = item else {
                throw .invalid(name, "\(name)[\(index)] must be an object, not \(item.typeName)")
            }
            guard case let .string(role)? = fields["role"], !role.isEmpty else {
                throw .invalid(name, "\(name)[\(index)].role must be a non-empty string")
            }
            guard case let .string(content)? = fields["content"] else {
                throw .invalid(name, "\(name)[\(index)].content must be a string")
            }
            messages.append(ChatMessage(role: role, content: content))
        }
        return messages
    }
}
