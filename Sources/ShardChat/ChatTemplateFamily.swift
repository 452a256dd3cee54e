/// The prompt format a chat template produces, recognised from its text by the special tokens it writes.
public enum ChatTemplateFamily: String, Sendable, Hashable, CaseIterable {
    /// `<|im_start|>role\n...<|im_end|>` (SmolLM2, Qwen2/2.5, many fine-tunes).
    case chatml
    /// `<|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>` (Llama 3, 3.1, 3.2, 3.3).
    case llama3
    /// `<start_of_turn>role\n...<end_of_turn>` (Gemma, Gemma 2, Gemma 3).
    case gemma
    /// `[INST] ... [/INST]` without a `<<SYS>>` block (Mistral / Mixtral Instruct).
    case mistral
    /// `[INST] <<SYS>>...<</SYS>> ... [/INST]` (Llama 2 chat).
    case llama2
    /// Anything else.
    case other

    /// The family whose markers appear in `templateSource`.
    public init(templateSource: String) {
        if templateSource.contains("<|im_start|>") {
            self = .chatml
        } else if templateSource.contains("<|start_header_id|>") {
            self = .llama3
        } else if templateSource.contains("<start_of_turn>") {
            self = .gemma
        } else if templateSource.contains("[INST]") {
            self = templateSource.contains("<<SYS>>") ? .llama2 : .mistral
        } else {
            self = .other
        }
    }
}
