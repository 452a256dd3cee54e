/// What llama.cpp knows about each vocabulary entry: its kind (from `tokenizer.ggml.token_type`, then corrected
/// by text as llama.cpp does) and which ids end generation.
///
/// llama.cpp marks tokens such as `<|im_end|>`, `<|eot_id|>`, `<end_of_turn>` and `<|endoftext|>` as
/// end-of-generation by their text, and turns them (and fill-in-the-middle markers) into control tokens.
struct TokenAttributes: Sendable {
    /// A token's kind, as llama.cpp's `llama_token_attr` bits.
    struct Kind: OptionSet, Sendable, Hashable {
        let rawValue: UInt8
        static let undefined = Kind(rawValue: 1)
        static let unknown = Kind(rawValue: 2)
        static let unused = Kind(rawValue: 4)
        static let normal = Kind(rawValue: 8)
        static let control = Kind(rawValue: 16)
        static let userDefined = Kind(rawValue: 32)
        static let byte = Kind(rawValue: 64)

        /// The kind of a GGUF token type (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
        init(ggufType: Int32) {
            switch ggufType {
            case 1: self = .normal
            case 2: self = .unknown
            case 3: self = .control
            case 4: self = .userDefined
            case 5: self = .unused
            case 6: self = .byte
            default: self = .undefined
            }
        }

        init(rawValue: UInt8) { self.rawValue = rawValue }
    }

    /// The kind of every id.
    private(set) var kinds: [Kind]
    /// Ids that end generation.
    private(set) var endOfGeneration: Set<TokenID> = []
    /// The end-of-turn id: `tokenizer.ggml.eot_token_id`, else found by text.
    private(set) var endOfTurnID: TokenID?
    /// The end-of-message id: `tokenizer.ggml.eom_token_id`, else `<|eom_id|>`.
    private(set) var endOfMessageID: TokenID?

    static let endOfTurnTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
        "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
    ]
    /// Fill-in-the-middle prefix, suffix and middle markers: llama.cpp makes one of each a control token.
    static let fillInTheMiddleTexts: [[String]] = [
        ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>",
         "<|prefix|>"],
        ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>",
         "<|suffix|>"],
        ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>",
         "<|middle|>"],
    ]
    /// Fill-in-the-middle pad, repository and file separators: llama.cpp treats them as end-of-generation.
    static let fillInTheMiddleEndTexts: [[String]] = [
        ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"],
        ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"],
        ["<|file_sep|>"],
    ]
    static let endOfGenerationTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
        "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
        "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
    ]

    /// gpt-oss markers llama.cpp always renders, as user-defined tokens.
    static let alwaysRenderedTexts: Set<String> = ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]

    /// Computes the kinds and end-of-generation ids as llama.cpp's `llama_vocab::impl::load` does.
    init(texts: [String], types: [Int32], eos: TokenID?, eot: TokenID?, eom: TokenID?) {
        kinds = texts.indices.map { types.indices.contains($0) ? Kind(ggufType: types[$0]) : .normal }
        endOfTurnID = eot
        endOfMessageID = eom
        var firstByText: [String: TokenID] = [:]
        for (index, text) in texts.enumerated() where firstByText[text] == nil { firstByText[text] = TokenID(index) }
        func firstID(among candidates: some Sequence<String>) -> TokenID? {
            candidates.compactMap { firstByText[$0] }.min()
        }
        if endOfTurnID == nil, let id = firstID(among: Self.endOfTurnTexts) { endOfTurnID = id; markControl(id) }
        if endOfMessageID == nil, let id = firstByText["<|eom_id|>"] { endOfMessageID = id; markControl(id) }
        for texts in Self.fillInTheMiddleTexts { if let id = firstID(among: texts) { markControl(id) } }
        for texts in Self.fillInTheMiddleEndTexts {
            if let id = firstID(among: texts) { markControl(id); endOfGeneration.insert(id) }
        }
        for (index, text) in texts.enumerated() {
            if kinds[index].contains(.control), text.contains("unused") { kinds[index].insert(.unused) }
            if Self.endOfGenerationTexts.contains(text) {
                endOfGeneration.insert(TokenID(index))
                markControl(TokenID(index))
            }
            if Self.alwaysRenderedTexts.contains(text) {
                kinds[index] = .userDefined
            }
        }
        for id in [eos, endOfTurnID, endOfMessageID].compactMap({ $0 }) { endOfGeneration.insert(id) }
        applyHarmonyAndMarkerFixes(texts)
    }

    private mutating func markControl(_ id: TokenID) { kinds[Int(id)].insert(.control) }

    /// llama.cpp's workarounds: `<|end|>` is not end-of-generation beside `<|return|>`/`<|call|>` (or `<|calls|>`/
    /// `<|flush|>`), and `</s>` is a normal token beside `<|tool_response>` or `<|plamo:eos|>`.
    private mutating func applyHarmonyAndMarkerFixes(_ texts: [String]) {
        let present = Dictionary(endOfGeneration.map { (texts[Int($0)], $0) }, uniquingKeysWith: min)
        let hasCall = present["<|call|>"] != nil || present["<|calls|>"] != nil
        if let end = present["<|end|>"], hasCall, present["<|return|>"] != nil || present["<|flush|>"] != nil {
            endOfGeneration.remove(end)
            kinds[Int(end)] = .userDefined
        }
        if let close = present["</s>"], present["<|tool_response>"] != nil || present["<|plamo:eos|>"] != nil {
            endOfGeneration.remove(close)
            kinds[Int(close)] = .normal
        }
    }
}
