import ShardProtocol
import ShardTokenizers

/// One sequence's generation, token by token: the one loop behind `shard-sidecar complete` (``TextGenerator``) and
/// the sidecar's batched scheduler. Each sampled id goes in; out come the text it completes (incremental
/// detokenization, then stop strings) and, when generation ends, why: an end-of-generation id once `minTokens`
/// exist (`eos`), a stop string (`stop`), `maxNewTokens` or a full context (`length`).
public struct GenerationProgress: Sendable {
    /// When generation ends.
    public struct Limits: Sendable {
        /// Most tokens to generate.
        public var maxNewTokens: Int
        /// End-of-generation ids before this many tokens are ordinary tokens.
        public var minTokens: Int
        /// Texts that end generation; the match is not emitted.
        public var stopStrings: [String]
        /// Ids that end generation (EOS, end-of-turn).
        public var endOfGeneration: Set<TokenID>

        /// Creates limits.
        public init(maxNewTokens: Int, minTokens: Int = 1, stopStrings: [String] = [], endOfGeneration: Set<TokenID>) {
            self.maxNewTokens = maxNewTokens
            self.minTokens = minTokens
            self.stopStrings = stopStrings
            self.endOfGeneration = endOfGeneration
        }
    }

    /// What one sampled id produced.
    public struct Step: Sendable, Equatable {
        /// Text to emit with the id (possibly `""`), or `nil` when it ends generation with nothing left to emit.
        public var text: String?
        /// The index of the token event: the id's position among the generated tokens.
        public var index: Int
        /// Whether the id counts as a generated token (an end-of-generation id does not).
        public var counted: Bool
        /// Set when generation ends with this id.
        public var finish: FinishReason?
    }

    private let limits: Limits
    private var text: TokenTextProcessor
    /// The generated tokens (end-of-generation ids excluded).
    public private(set) var generated: [TokenID] = []
    /// Why generation ended, once it has.
    public private(set) var finishReason: FinishReason?

    /// Starts a generation after `promptIDs` (the context that detokenization continues from).
    public init(tokenizer: any Tokenizer, promptIDs: [TokenID], limits: Limits) {
        self.limits = limits
        text = TokenTextProcessor(tokenizer: tokenizer, promptIDs: promptIDs, stopStrings: limits.stopStrings)
    }

    /// Takes the next sampled id. `contextFull`: the model has no room to take this id as input (generation ends
    /// with it, `length`).
    ///
    /// - Throws: ``TokenizerError`` for an id the tokenizer cannot decode.
    public mutating func accept(_ token: TokenID, contextFull: Bool) throws(TokenizerError) -> Step {
        precondition(finishReason == nil, "a finished generation takes no more tokens")
        if limits.endOfGeneration.contains(token), generated.count >= limits.minTokens {
            // Text held back (a possible stop string, half a character) is completed by the end.
            let tail = text.finish()
            finishReason = .eos
            return Step(text: tail.isEmpty ? nil : tail, index: generated.count, counted: false, finish: .eos)
        }
        let (piece, stopped) = try text.push(token)
        generated.append(token)
        let atLength = generated.count >= limits.maxNewTokens || contextFull
        let emitted = stopped || !atLength ? piece : piece + text.finish()
        if stopped || atLength { finishReason = stopped ? .stop : .length }
        return Step(text: emitted, index: generated.count - 1, counted: true, finish: finishReason)
    }
}
