import Foundation

/// A model's chat template (the Jinja text in `tokenizer.chat_template`), parsed once and rendered per request.
///
/// Rendering follows HuggingFace transformers' `apply_chat_template`: jinja2 with `trim_blocks`, `lstrip_blocks`
/// and loop controls, the globals `raise_exception` and `strftime_now`, transformers' `tojson`, and the context
/// `messages`, `add_generation_prompt`, `bos_token`, `eos_token`, `tools` (none), `documents` (none) plus any
/// extra context. Undefined names behave like jinja2's default `Undefined`.
///
/// ```swift
/// let template = try ChatTemplate(source: ggufChatTemplate ?? ChatTemplate.builtin(for: .gemma)!)
/// let prompt = try template.render(messages: [ChatMessage(role: "user", content: "Hi")],
///                                  addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>")
/// ```
///
/// - warning: The interpreter implements the Jinja subset chat templates use. A template using anything else
///   fails with `ChatTemplateError.Kind.unsupported` naming the construct, at parse or render time, rather than
///   rendering something different from jinja2.
public struct ChatTemplate: Sendable {
    /// The template text as given.
    public let source: String
    /// The prompt format family, recognised from the template text.
    public let family: ChatTemplateFamily
    /// The bounds this template renders under.
    public let limits: ChatTemplateLimits

    private let nodes: ParsedTemplate

    /// Parses `source`.
    ///
    /// - Throws: `ChatTemplateError` of kind `.syntax` (with the location), `.unsupported` (a tag this interpreter
    ///   does not implement), or `.limitExceeded` (nesting deeper than `limits.maxDepth`).
    public init(source: String, limits: ChatTemplateLimits = .default) throws(ChatTemplateError) {
        self.source = source
        self.limits = limits
        self.family = ChatTemplateFamily(templateSource: source)
        self.nodes = ParsedTemplate(nodes: try Parser.parse(source, maxDepth: limits.maxDepth))
    }

    /// Renders `messages` into the prompt text the model expects.
    ///
    /// - Parameters:
    ///   - messages: the conversation, oldest first.
    ///   - addGenerationPrompt: whether to end with the header that asks the model to answer.
    ///   - bosToken: the tokenizer's beginning-of-sequence token text (templates that print it expect it).
    ///   - eosToken: the tokenizer's end-of-sequence token text.
    ///   - extraContext: further template variables (`tools`, `date_string`, `enable_thinking`, ...); they override
    ///     the defaults above of the same name.
    ///   - now: the instant `strftime_now` formats (in UTC); pass a fixed date for reproducible prompts.
    /// - Throws: `ChatTemplateError`: `.raised` with the template's own message when it calls `raise_exception`
    ///   (e.g. roles that do not alternate), `.runtime` for errors jinja2 would raise, `.unsupported`, or
    ///   `.limitExceeded` when the render exceeds `limits`.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String = "",
        eosToken: String = "", extraContext: [String: ChatTemplateValue] = [:], now: Date = Date())
        throws(ChatTemplateError) -> String
    {
        var context: [String: Value] = [
            "messages": .list(messages.map { message in
                var dict = Dict()
                dict["role"] = .string(message.role)
                dict["content"] = .string(message.content)
                return .dict(dict)
            }),
            "add_generation_prompt": .bool(addGenerationPrompt),
            "bos_token": .string(bosToken),
            "eos_token": .string(eosToken),
            "tools": .none,
            "documents": .none,
        ]
        for (key, value) in extraContext { context[key] = Value(value) }
        let evaluator = Evaluator(context: context, limits: limits, now: now)
        return try evaluator.render(nodes.nodes)
    }
}

/// The parsed statement tree. It is immutable after parsing and never shared mutably, so it can cross threads
/// with the template (`Macro` is a class only so macro values can be compared by identity).
private struct ParsedTemplate: @unchecked Sendable {
    let nodes: [Node]
}
