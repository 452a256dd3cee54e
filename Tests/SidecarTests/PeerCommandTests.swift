import Foundation
import ShardEngine
import ShardTestSupport
import Testing

/// `shard-sidecar peer`'s layer choice: `--layers START:END` as given, or `--part I/N`, part I of the model's split by
/// cost (the one `serve --local-shards N` and `complete --shards N` use).
@Suite("shard-sidecar peer --part", .timeLimit(.minutes(3)))
struct PeerCommandTests {
    static let model = "Fixtures/kjv-tiny/model-q8_0.gguf"

    /// Each part serves the range the split by cost gives it, says so on stderr, and shows it in `/health`.
    @Test func aPartServesItsRangeOfTheSplitByCost() throws {
        let file = try GGUFFile(path: ExecutableRunner.repositoryRoot.path + "/" + Self.model)
        let expected = try LayerSplit.balanced(model: file, stageCount: 2)
        #expect(expected.count == 2)
        for (index, range) in expected.enumerated() {
            let peer = try SidecarProcess(["peer", "--model", Self.model, "--part", "\(index + 1)/2", "--port", "0"])
            defer { peer.stop() }
            let health = try RawSocket(port: peer.port).request("GET", "/health")
            #expect(health.status == 200)
            let object = try JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any]
            #expect(object?["layers"] as? [Int] == [range.lowerBound, range.upperBound])
        }
    }

    /// Bad `--part` / `--layers` combinations exit with a usage error naming the problem, before loading anything.
    @Test(arguments: [
        (["--part", "0/2"], "--part must be I/N"),
        (["--part", "3/2"], "--part must be I/N"),
        (["--part", "1/"], "--part must be I/N"),
        (["--part", "1/99999999999999999999"], "--part must be I/N"),
        (["--part", "1/2", "--layers", "0:3"], "exactly one of --layers and --part"),
        ([], "exactly one of --layers and --part"),
        (["--layers", "3:3"], "--layers must be START:END"),
    ])
    func badLayerChoicesAreRefused(arguments: [String], message: String) throws {
        let result = try ExecutableRunner.run("shard-sidecar", ["peer", "--model", Self.model, "--port", "0"] + arguments)
        #expect(result.status != 0)
        #expect(result.standardError.contains(message), "\(result.standardError)")
    }

    /// More parts than the model has layers: a clear error, not a crash or an empty range.
    @Test func morePartsThanLayersIsAnError() throws {
        let result = try ExecutableRunner.run("shard-sidecar", ["peer", "--model", Self.model, "--part", "7/7",
                                                                "--port", "0"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("the model has only 6 layers"), "\(result.standardError)")
    }
}
