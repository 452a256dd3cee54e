import Foundation
import ShardProtocol
import ShardTokenizers

/// Resolves a ``TokenizerChoice`` into a tokenizer and its wire name.
struct TokenizerResolver {
    let connection: SidecarConnection
    let model: String

    /// Where downloaded tokenizer files are cached: `$SHARD_CACHE_DIR`, else `$XDG_CACHE_HOME/shard`, else
    /// `~/.cache/shard`, then `tokenizers/<fingerprint>.model` (SentencePiece) or `<fingerprint>.vocab` (GGUF vocabulary).
    static var cacheDirectory: URL {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["SHARD_CACHE_DIR"] { return URL(fileURLWithPath: explicit) }
        let base = environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("shard/tokenizers")
    }

    func resolve(_ choice: TokenizerChoice) async throws(ShardClientError) -> (any Tokenizer, String) {
        switch choice {
        case .utf8Bytes:
            return (UTF8ByteTokenizer(), "utf8-bytes")
        case let .sentencePiece(path):
            do {
                let tokenizer = try SentencePieceTokenizer(contentsOf: path)
                return (tokenizer, "sentencepiece:" + tokenizer.fingerprint)
            } catch { throw ShardClientError(.invalidRequest, "\(error)") }
        case .automatic:
            return try await automatic()
        }
    }

    /// A model id as one URL path segment: percent-encoded, so ids with spaces or slashes (`general.name`
    /// values such as "Smollm2 135M 8k Lc100K Mix1 Ep2") make valid URLs.
    static func pathComponent(_ id: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove("/")
        return id.addingPercentEncoding(withAllowedCharacters: allowed) ?? id
    }

    /// The id and aliases of a `/models` entry.
    static func names(of entry: JSONValue) -> [String] {
        var names: [String] = []
        if let id = entry["id"]?.stringValue { names.append(id) }
        if case let .array(aliases)? = entry["aliases"] { names += aliases.compactMap(\.stringValue) }
        return names
    }

    private func automatic() async throws(ShardClientError) -> (any Tokenizer, String) {
        let (_, answer, _) = try await connection.get("/models")
        guard case let .array(models)? = answer["models"] else {
            throw ShardClientError(.protocolViolation, "/models did not list models")
        }
        let entry = models.first { entry in Self.names(of: entry).contains(model) }
        guard let entry, let id = entry["id"]?.stringValue else {
            throw ShardClientError(.clientError, "the sidecar serves no model \(model)", httpStatus: 404,
                                   serverCode: "unknown_model")
        }
        guard let wire = entry["tokenizer"]?.stringValue else { return (UTF8ByteTokenizer(), "utf8-bytes") }
        if wire.hasPrefix(GGUFVocabulary.wirePrefix) {
            let fingerprint = String(wire.dropFirst(GGUFVocabulary.wirePrefix.count))
            return try await downloaded(wire: wire, fingerprint: fingerprint, path: "/models/\(Self.pathComponent(id))/tokenizer.vocab",
                                        fileExtension: "vocab") { bytes throws(TokenizerError) in
                try GGUFVocabulary(serialized: bytes).makeTokenizer()
            }
        }
        if wire.hasPrefix("sentencepiece:") {
            let fingerprint = String(wire.dropFirst("sentencepiece:".count))
            return try await downloaded(wire: wire, fingerprint: fingerprint, path: "/models/\(Self.pathComponent(id))/tokenizer.model",
                                        fileExtension: "model") { bytes throws(TokenizerError) in
                try SentencePieceTokenizer(modelData: bytes)
            }
        }
        return (UTF8ByteTokenizer(), "utf8-bytes")
    }

    /// The sidecar's tokenizer file: from the cache when a copy with the right fingerprint is there, else
    /// downloaded from `path`, checked against `fingerprint` (SHA-256 prefix), loaded with `load` and cached.
    /// A sidecar that answers 404 (no file) leaves the client on UTF-8 bytes.
    private func downloaded(wire: String, fingerprint: String, path: String, fileExtension: String,
                            load: ([UInt8]) throws(TokenizerError) -> any Tokenizer)
        async throws(ShardClientError) -> (any Tokenizer, String) {
        let cached = Self.cacheDirectory.appendingPathComponent("\(fingerprint).\(fileExtension)")
        if let data = try? Data(contentsOf: cached), Fingerprint.short(data) == fingerprint,
           let tokenizer = try? load([UInt8](data)) {
            return (tokenizer, wire)
        }
        let (status, _, bytes) = try await connection.get(path, accepting: [404])
        guard status == 200 else { return (UTF8ByteTokenizer(), "utf8-bytes") }
        guard Fingerprint.short(bytes) == fingerprint else {
            throw ShardClientError(.protocolViolation, "the downloaded tokenizer does not match fingerprint \(fingerprint)")
        }
        let tokenizer: any Tokenizer
        do { tokenizer = try load(bytes) } catch {
            throw ShardClientError(.protocolViolation, "the sidecar's tokenizer file is invalid: \(error)")
        }
        // Caching is an optimisation: a read-only home directory must not fail the call.
        try? FileManager.default.createDirectory(at: Self.cacheDirectory, withIntermediateDirectories: true)
        try? Data(bytes).write(to: cached, options: .atomic)
        return (tokenizer, wire)
    }
}
