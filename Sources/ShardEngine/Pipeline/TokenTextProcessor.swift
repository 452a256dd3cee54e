import ShardTokenizers

/// Turns one request's sampled token ids into the text of its events: incremental detokenization, then stop
/// strings. Text that could be the start of a stop string is held back until it is known not to be one; the
/// matched stop string itself is never emitted.
struct TokenTextProcessor: Sendable {
    private var detokenizer: StreamingDetokenizer
    private let stopStrings: [String]
    /// Text decoded but not yet emitted because it may begin a stop string.
    private var held = ""

    init(tokenizer: any Tokenizer, promptIDs: [TokenID], stopStrings: [String]) {
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer, context: promptIDs)
        self.stopStrings = stopStrings
    }

    /// Adds a token; returns the text to emit with it and whether a stop string matched (generation ends then).
    mutating func push(_ token: TokenID) throws(TokenizerError) -> (text: String, stopped: Bool) {
        held += try detokenizer.push(token)
        return release()
    }

    /// Ends the stream: returns everything still held (nothing when a stop string already matched).
    mutating func finish() -> String {
        held += detokenizer.finish()
        let (text, _) = release()
        defer { held = "" }
        return text + held
    }

    private mutating func release() -> (String, Bool) {
        guard !stopStrings.isEmpty else {
            defer { held = "" }
            return (held, false)
        }
        if let match = stopStrings.compactMap({ held.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            let text = String(held[..<match.lowerBound])
            held = ""
            return (text, true)
        }
        // Keep the longest tail of `held` that is a proper prefix of some stop string.
        var keep = 0
        for stop in stopStrings {
            for length in stride(from: min(stop.count - 1, held.count), to: keep, by: -1)
            where held.hasSuffix(String(stop.prefix(length))) {
                keep = length
                break
            }
        }
        let text = String(held.dropLast(keep))
        held = String(held.suffix(keep))
        return (text, false)
    }
}
