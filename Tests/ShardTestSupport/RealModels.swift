import Crypto
import Foundation
import Synchronization

/// The real and generated model files the engine's correctness tests run on, in the git-ignored model cache.
///
/// The cache is `$SHARD_MODEL_DIR`, else `${SHARD_CACHE_DIR:-~/.cache/shard}/models` — the same rule as
/// `scripts/fetch-models.sh`, `scripts/make-model-variants.py` and `scripts/make-synthetic-models.py`.
/// `make models` (a dependency of `make test`) fetches and makes all of them.
///
/// - warning: A missing file is an error whose message names the command that fetches or makes it,
///   never a silent skip: a test that needs a model and cannot find it must fail.
public enum RealModels {
    /// The model cache directory.
    public static var directory: URL {
        let environment = ProcessInfo.processInfo.environment
        if let models = environment["SHARD_MODEL_DIR"], !models.isEmpty {
            return URL(fileURLWithPath: models, isDirectory: true)
        }
        let cache = environment["SHARD_CACHE_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/shard").path
        return URL(fileURLWithPath: cache, isDirectory: true).appendingPathComponent("models", isDirectory: true)
    }

    /// The path of a model file in the cache; throws, naming the command that makes it, when it is missing.
    public static func path(_ fileName: String) throws -> String {
        let url = directory.appendingPathComponent(fileName)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw RealModelError(
                "model file \(url.path) is missing; make it with: \(makeCommand(for: fileName))"
                    + " (or `make models`, which fetches and makes every model the tests use)")
        }
        return url.path
    }

    /// The path of `fileName`, after checking that its SHA-256 is `sha256` (lowercase hex).
    ///
    /// A mismatch means the file is not the one the reference was recorded from (an older script, a partial
    /// download): the error says how to remake it. Hashes are cached per path, size and modification date.
    public static func path(_ fileName: String, sha256: String) throws -> String {
        let path = try path(fileName)
        let actual = try sha256Hex(ofFileAt: path)
        guard actual == sha256.lowercased() else {
            throw RealModelError(
                "model file \(path) has SHA-256 \(actual), but the reference expects \(sha256); remake it with: "
                    + "rm '\(path)' && \(makeCommand(for: fileName))")
        }
        return path
    }

    /// The model file a llama.cpp reference was recorded from, verified against the reference's SHA-256.
    public static func path(for reference: GenerationReference) throws -> String {
        try path(reference.model, sha256: reference.modelSha256)
    }

    /// The shell command (from the repository root) that fetches or makes `fileName` in the cache.
    public static func makeCommand(for fileName: String) -> String {
        let smolPrefix = "SmolLM2-135M-Instruct."
        switch fileName {
        case "SmolLM2-135M-Instruct.Q4_1.gguf":
            return "scripts/fetch-models.sh smollm2"
        case "gemma-3-270m-q4_k_m.gguf":
            return "scripts/fetch-models.sh gemma3"
        case _ where fileName.hasPrefix("vocab/"):
            return "scripts/fetch-models.sh smollm2 && \"$(scripts/model-tools-venv.sh)\" scripts/reference/make_vocab_ggufs.py"
        case _ where fileName.hasPrefix("synthetic-"):
            return "scripts/fetch-models.sh smollm2 && \"$(scripts/model-tools-venv.sh)\" scripts/make-synthetic-models.py"
        case _ where fileName.hasPrefix(smolPrefix) && fileName.hasSuffix(".gguf"):
            let variant = fileName.dropFirst(smolPrefix.count).dropLast(".gguf".count)
            return "scripts/fetch-models.sh smollm2 && \"$(scripts/model-tools-venv.sh)\" "
                + "scripts/make-model-variants.py \(variant)"
        default:
            return "make models"
        }
    }

    /// Lowercase hex SHA-256 of a file, read in 4 MiB chunks.
    public static func sha256Hex(ofFileAt path: String) throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let key = "\(path)|\(attributes[.size] ?? 0)|\((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
        if let cached = hashCache.withLock({ $0[key] }) { return cached }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw RealModelError("cannot open \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        let hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        hashCache.withLock { $0[key] = hex }
        return hex
    }

    private static let hashCache = Mutex<[String: String]>([:])
}

/// A model file the tests need is missing or is not the file a reference was recorded from.
public struct RealModelError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
