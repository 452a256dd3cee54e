import Foundation
import ShardProtocol
import ShardTokenizers

/// Finished lines of `shard batch`, by the SHA-256 of (route, normalized body): a re-run of the same file sends
/// only what is missing. Under `${SHARD_CACHE_DIR:-~/.cache/shard}/batch/`; only successful answers are kept.
struct BatchCache: Sendable {
    let directory: URL

    init() {
        let root = ProcessInfo.processInfo.environment["SHARD_CACHE_DIR"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/shard")
        directory = root.appendingPathComponent("batch")
    }

    /// The key of a request line: its route and its body with sorted keys (the model included).
    static func key(url: String, body: JSONValue) -> String {
        Fingerprint.sha256Hex(Array((url + "\n").utf8) + body.encoded())
    }

    func load(_ key: String) -> JSONValue? {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(key + ".json").path)
        else { return nil }
        return JSONValue.decode(Array(data))
    }

    func store(_ key: String, _ result: JSONValue) {
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Written whole then renamed, so an interrupted run never leaves half a result.
        let final = directory.appendingPathComponent(key + ".json")
        let partial = directory.appendingPathComponent(key + ".json.part-\(getpid())")
        guard FileManager.default.createFile(atPath: partial.path, contents: Data(result.encoded())) else { return }
        if Foundation.rename(partial.path, final.path) != 0 { try? FileManager.default.removeItem(at: partial) }
    }
}
