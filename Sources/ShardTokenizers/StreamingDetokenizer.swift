/// Turns a stream of token ids into text, one id at a time, emitting only complete characters.
///
/// A token can be half of a UTF-8 character (byte-fallback pieces) or change how earlier text decodes
/// (SentencePiece drops the leading space of the first piece). The detokenizer decodes a short window of recent
/// ids twice, with and without the new ids, and emits the difference once it no longer ends in an incomplete
/// character. The concatenation of everything returned by ``push(_:)`` and ``finish()`` equals
/// `decode(context + allIDs)` minus `decode(context)`; without context it equals `decode(allIDs)` exactly.
///
/// Work per token is bounded by the window, not the length of the stream.
public struct StreamingDetokenizer: Sendable {
    private let tokenizer: any Tokenizer
    private var ids: [TokenID]
    /// Start of the window that is decoded to find the new text.
    private var prefixOffset: Int
    /// End of the ids whose text has already been emitted.
    private var readOffset: Int

    /// Creates a detokenizer. `context` (usually the prompt's last ids) is decoded for spacing but never emitted.
    public init(tokenizer: any Tokenizer, context: [TokenID] = []) {
        self.tokenizer = tokenizer
        self.ids = Array(context.suffix(Self.contextLength))
        self.prefixOffset = 0
        self.readOffset = ids.count
    }

    /// How many context ids are kept: enough for any byte-fallback character (4 bytes) plus a piece.
    static let contextLength = 6

    /// Adds one id; returns the text that became complete (often `""` for half a character).
    ///
    /// - Throws: ``TokenizerError/tokenOutOfRange(_:vocabularySize:)``; the detokenizer is unchanged then.
    public mutating func push(_ id: TokenID) throws(TokenizerError) -> String {
        try tokenizer.validate([id])
        ids.append(id)
        let emitted = Array(try tokenizer.decode(Array(ids[prefixOffset ..< readOffset])).utf8)
        let window = Array(try tokenizer.decode(Array(ids[prefixOffset...])).utf8)
        let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]
        guard window.count > emitted.count, window.starts(with: emitted), !window.ends(with: replacement) else {
            return ""
        }
        prefixOffset = readOffset
        readOffset = ids.count
        compact()
        return String(decoding: window[emitted.count...], as: UTF8.self)
    }

    /// Ends the stream: returns whatever was held back (an incomplete character decodes as U+FFFD).
    public mutating func finish() -> String {
        guard readOffset < ids.count,
              let emitted = try? Array(tokenizer.decode(Array(ids[prefixOffset ..< readOffset])).utf8),
              let window = try? Array(tokenizer.decode(Array(ids[prefixOffset...])).utf8)
        else { return "" }
        prefixOffset = readOffset
        readOffset = ids.count
        // Decoding is append-only for the window, so the held text is the window's tail.
        return String(decoding: window.dropFirst(min(emitted.count, window.count)), as: UTF8.self)
    }

    /// Drops ids before the window so memory stays bounded on long streams.
    private mutating func compact() {
        guard prefixOffset > 64 else { return }
        ids.removeFirst(prefixOffset)
        readOffset -= prefixOffset
        prefixOffset = 0
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }
}
