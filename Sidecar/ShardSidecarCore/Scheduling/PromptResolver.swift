import ShardProtocol
import ShardTokenizers

/// Resolves a request's prompt into the model's token ids, in PROTOCOL.md's order:
/// 1. ids whose `tokenizer` matches the model's tokenizer are used as they are;
/// 2. otherwise prompt text, when present, is tokenized with the model's own tokenizer (so a client that fell back
///    to UTF-8 bytes still gets the model's tokenization);
/// 3. otherwise ids without a `tokenizer` are taken as ids of the model's vocabulary.
/// Every id must be inside the vocabulary, and the prompt must leave room in the context for a token.
struct PromptResolver: Sendable {
    let tokenizer: any Tokenizer
    /// The wire name of the model's tokenizer: `gguf-vocab:<fingerprint>` for the vocabulary embedded in the GGUF
    /// file, `sentencepiece:<fingerprint>` for a SentencePiece file, or `utf8-bytes`.
    let wireTokenizer: String
    let addsBOS: Bool
    let contextLength: Int
    /// Renders `messages`; without a template, requests with messages fail with its reason.
    let chat: ChatPromptRenderer.Availability

    init(tokenizer: any Tokenizer, addsBOS: Bool, contextLength: Int,
         chat: ChatPromptRenderer.Availability = .unavailable("the model has no chat template")) {
        self.tokenizer = tokenizer
        self.wireTokenizer = Self.wireName(of: tokenizer)
        self.addsBOS = addsBOS
        self.contextLength = contextLength
        self.chat = chat
    }

    /// The `tokenizer` wire name of `tokenizer`.
    static func wireName(of tokenizer: any Tokenizer) -> String {
        switch tokenizer {
        case is UTF8ByteTokenizer: "utf8-bytes"
        case let vocabulary as any GGUFVocabularyTokenizer: GGUFVocabulary.wireName(fingerprint: vocabulary.fingerprint)
        default: "sentencepiece:" + tokenizer.fingerprint
        }
    }

    func resolve(_ request: GenerationRequest) throws(ProtocolError) -> [TokenID] {
        let ids = request.inputTokenIDs ?? []
        let ids32: [TokenID]
        if let messages = request.messages {
            guard case let .available(renderer) = chat else {
                if case let .unavailable(reason) = chat { throw .invalid("messages", reason) }
                throw .invalid("messages", "the model cannot chat")
            }
            // As llama-cpp-python's chat completion: special tokens parsed, no BOS added (templates write it).
            ids32 = tokenizer.encode(try renderer.render(messages), addBOS: false, parseSpecial: true)
        } else if !ids.isEmpty, request.tokenizer == wireTokenizer {
            ids32 = try checked(ids)
        } else if let prompt = request.prompt, !prompt.isEmpty {
            ids32 = tokenizer.encode(prompt, addBOS: addsBOS)
        } else if !ids.isEmpty, request.tokenizer == nil {
            ids32 = try checked(ids)
        } else if !ids.isEmpty {
            throw .invalid("tokenizer", "input_token_ids use tokenizer \(request.tokenizer ?? "") but the model uses "
                + "\(wireTokenizer); send the prompt text too")
        } else {
            throw .invalid("prompt", "the prompt is empty")
        }
        guard ids32.count < contextLength else {
            throw .invalid("prompt", "the prompt has \(ids32.count) tokens; the model's context is \(contextLength)")
        }
        return ids32
    }

    private func checked(_ ids: [Int]) throws(ProtocolError) -> [TokenID] {
        if let bad = ids.first(where: { $0 < 0 || $0 >= tokenizer.vocabularySize }) {
            throw .invalid("input_token_ids", "token id \(bad) is outside the vocabulary (0..<\(tokenizer.vocabularySize))")
        }
        return ids.map { TokenID($0) }
    }
}
