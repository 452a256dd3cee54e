import ShardTokenizers

extension ModelBundle {
    /// The vocabulary described by the `tokenizer.ggml.*` keys, with llama.cpp's defaults for absent keys.
    ///
    /// - Throws: ``TokenizerError/unsupportedVocabulary(_:)`` when `tokenizer.ggml.model` is neither `gpt2`
    ///   (byte-level BPE) nor `llama` (SentencePiece), or names an unknown pre-tokenizer;
    ///   ``TokenizerError/invalidVocabulary(_:)`` when keys are missing or of the wrong type.
    public static func embeddedVocabulary(of gguf: GGUFFile) throws(TokenizerError) -> GGUFVocabulary {
        let metadata = gguf.metadata
        func key(_ name: String) -> GGUFValue? { metadata["tokenizer.ggml.\(name)"] }
        guard let model = key("model")?.stringValue else {
            throw .invalidVocabulary("tokenizer.ggml.model is missing")
        }
        guard let tokenValues = key("tokens")?.arrayValue else {
            throw .invalidVocabulary("tokenizer.ggml.tokens is missing")
        }
        let tokens = try strings(tokenValues, "tokens")
        let scores = try key("scores")?.arrayValue.map { values throws(TokenizerError) in
            try values.map { value throws(TokenizerError) in
                guard let number = value.doubleValue else { throw .invalidVocabulary("tokenizer.ggml.scores holds \(value)") }
                return Float(number)
            }
        }
        let types = try key("token_type")?.arrayValue.map { values throws(TokenizerError) in
            try values.map { value throws(TokenizerError) in
                guard let number = value.intValue, let type = Int32(exactly: number) else {
                    throw .invalidVocabulary("tokenizer.ggml.token_type holds \(value)")
                }
                return type
            }
        }
        let merges = try key("merges")?.arrayValue.map { values throws(TokenizerError) in try strings(values, "merges") }
        func id(_ name: String) -> TokenID? { key("\(name)_token_id")?.intValue.flatMap { TokenID(exactly: $0) } }
        let specialIDs = GGUFVocabulary.SpecialIDs(
            bos: id("bos"), eos: id("eos"), eot: id("eot"), eom: id("eom"), unknown: id("unknown"),
            padding: id("padding"))
        return try GGUFVocabulary(
            model: model, pre: key("pre")?.stringValue, tokens: tokens, scores: scores, types: types, merges: merges,
            specialIDs: specialIDs, addBOS: key("add_bos_token")?.boolValue, addEOS: key("add_eos_token")?.boolValue,
            addSpacePrefix: key("add_space_prefix")?.boolValue)
    }

    /// The tokenizer of the vocabulary embedded in `gguf` (see ``embeddedVocabulary(of:)``).
    ///
    /// - Throws: as ``embeddedVocabulary(of:)``.
    public static func embeddedTokenizer(of gguf: GGUFFile) throws(TokenizerError) -> any GGUFVocabularyTokenizer {
        try embeddedVocabulary(of: gguf).makeTokenizer()
    }

    private static func strings(_ values: [GGUFValue], _ name: String) throws(TokenizerError) -> [String] {
        var result: [String] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let text = value.stringValue else { throw .invalidVocabulary("tokenizer.ggml.\(name) holds \(value)") }
            result.append(text)
        }
        return result
    }
}
