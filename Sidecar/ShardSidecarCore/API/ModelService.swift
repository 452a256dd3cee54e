import Foundation
import ShardEngine
import ShardProtocol
import ShardTokenizers

/// The model a sidecar serves: its identity, tokenizer and prompt resolution.
struct ModelService: Sendable {
    /// The id clients may name besides `shard/network-default` (`general.name`, else the file name).
    let id: String
    /// SHA-256 of the GGUF file: peers must announce the same.
    let sha256: String
    let hyperparameters: LlamaHyperparameters
    /// Family, size and quantization, for `/models`.
    let info: ModelInfo
    let tokenizer: any Tokenizer
    let resolver: PromptResolver
    /// The SentencePiece file served at `/models/ID/tokenizer.model`, when the model has one.
    let tokenizerModelData: [UInt8]?
    /// The serialized GGUF vocabulary served at `/models/ID/tokenizer.vocab`, when the model uses its embedded one.
    let vocabularyData: [UInt8]?
    /// Ids that end a generation: EOS and, for GGUF vocabularies, end-of-turn tokens (``Tokenizer/endOfGenerationIDs``).
    let endOfGeneration: Set<TokenID>

    init(bundle: ModelBundle, path: String) {
        let name = bundle.gguf.metadata["general.name"]?.stringValue
        id = name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        sha256 = bundle.gguf.sha256Hex()
        hyperparameters = bundle.hyperparameters
        info = ModelInfo(gguf: bundle.gguf, hyperparameters: bundle.hyperparameters)
        tokenizer = bundle.tokenizer
        resolver = PromptResolver(
            tokenizer: bundle.tokenizer, addsBOS: bundle.addsBOS, contextLength: bundle.hyperparameters.contextLength,
            chat: ChatPromptRenderer.availability(gguf: bundle.gguf, architecture: bundle.hyperparameters.architecture,
                                                  tokenizer: bundle.tokenizer))
        tokenizerModelData = (bundle.tokenizer as? SentencePieceTokenizer)?.modelData
        vocabularyData = (bundle.tokenizer as? any GGUFVocabularyTokenizer)?.vocabulary.serialized()
        endOfGeneration = bundle.tokenizer.endOfGenerationIDs
    }

    /// True when `requested` (the request's `model`) names this model.
    func matches(_ requested: String?) -> Bool {
        guard let requested else { return true }
        return requested == GenerationRequest.defaultModelID || requested == id
    }

    /// The entry of `GET /models`.
    var json: JSONValue {
        .object([
            "id": .string(id), "aliases": .array([.string(GenerationRequest.defaultModelID)]),
            "tokenizer": .string(resolver.wireTokenizer), "context_length": .int(Int64(hyperparameters.contextLength)),
            "vocab_size": .int(Int64(hyperparameters.vocabularySize)), "layers": .int(Int64(hyperparameters.blockCount)),
            "sha256": .string(sha256), "architecture": .string(info.architecture),
            "parameters": .int(Int64(info.parameterCount)), "quantization": .string(info.quantization),
            "special_tokens": specialTokensJSON, "chat_template": chatTemplateJSON,
        ])
    }

    /// The chat template's family and source, or null when the model cannot chat.
    private var chatTemplateJSON: JSONValue {
        guard case let .available(renderer) = resolver.chat else { return .null }
        return renderer.json
    }

    /// The ids (and texts) of the special tokens clients may need: beginning and end of sequence, and every id that
    /// ends a generation (`eog`, sorted). A GGUF vocabulary gives the tokens' own text (`<|im_end|>`); other
    /// tokenizers their decoded text.
    private var specialTokensJSON: JSONValue {
        var tokens: [String: JSONValue] = [:]
        for (name, id) in [("bos", tokenizer.bosTokenID), ("eos", tokenizer.eosTokenID)] {
            guard let id else { continue }
            tokens[name] = .object(["id": .int(Int64(id)),
                                    "text": .string(ChatPromptRenderer.tokenText(tokenizer, id))])
        }
        tokens["eog"] = .array(endOfGeneration.sorted().map { .int(Int64($0)) })
        return .object(tokens)
    }
}
