import Foundation
import ShardChat
import ShardEngine
import ShardProtocol
import ShardTokenizers

/// The model's chat template, ready to turn a request's `messages` into prompt text.
///
/// The template is the file's `tokenizer.chat_template`; a file without one gets the official template of its
/// family when the architecture names one (Gemma 3), as its model card prescribes. Rendering runs ShardChat's
/// Jinja interpreter with `add_generation_prompt` true and the vocabulary's BOS and EOS texts, as transformers and
/// llama-cpp-python do.
struct ChatPromptRenderer: Sendable {
    /// Where the template came from.
    enum Source: String, Sendable { case file, builtin }

    let template: ChatTemplate
    let source: Source
    let bosToken: String
    let eosToken: String

    /// What a model offers for chat: a renderer, or the reason it has none (said to clients that send `messages`).
    enum Availability: Sendable {
        case available(ChatPromptRenderer)
        case unavailable(String)
    }

    /// Finds and parses the template of `gguf`.
    static func availability(gguf: GGUFFile, architecture: ModelArchitecture,
                             tokenizer: any Tokenizer) -> Availability {
        let text: String
        let source: Source
        if let embedded = gguf.metadata["tokenizer.chat_template"]?.stringValue {
            (text, source) = (embedded, .file)
        } else if architecture == .gemma3, let builtin = ChatTemplate.builtin(for: .gemma) {
            (text, source) = (builtin, .builtin)
        } else {
            return .unavailable("the model file has no chat template (tokenizer.chat_template) and its architecture "
                + "\(architecture.rawValue) has no standard one")
        }
        let template: ChatTemplate
        do { template = try ChatTemplate(source: text) } catch {
            return .unavailable("the model's chat template cannot be used: \(error)")
        }
        return .available(ChatPromptRenderer(template: template, source: source,
                                              bosToken: tokenText(tokenizer, tokenizer.bosTokenID),
                                              eosToken: tokenText(tokenizer, tokenizer.eosTokenID)))
    }

    /// The text of a special token: the vocabulary's own piece (`<|im_start|>`, `<bos>`), or its decoding.
    static func tokenText(_ tokenizer: any Tokenizer, _ id: TokenID?) -> String {
        guard let id else { return "" }
        if let vocabulary = (tokenizer as? any GGUFVocabularyTokenizer)?.vocabulary, Int(id) < vocabulary.tokens.count {
            return vocabulary.tokens[Int(id)]
        }
        return (try? tokenizer.decode([id])) ?? ""
    }

    /// Renders `messages` followed by the assistant's generation prompt.
    ///
    /// - Throws: ``ProtocolError`` 400 (`messages`) when the template rejects the conversation (for example roles
    ///   that do not alternate) or fails, with the template's own message.
    func render(_ messages: [ShardProtocol.ChatMessage]) throws(ProtocolError) -> String {
        do {
            return try template.render(messages: messages.map { ShardChat.ChatMessage(role: $0.role, content: $0.content) },
                                       addGenerationPrompt: true, bosToken: bosToken, eosToken: eosToken)
        } catch {
            throw .invalid("messages", "the chat template (\(template.family.rawValue)) rejected the conversation: "
                + error.message)
        }
    }

    /// `/models`' `chat_template` entry.
    var json: JSONValue { .object(["family": .string(template.family.rawValue), "source": .string(source.rawValue)]) }
}
