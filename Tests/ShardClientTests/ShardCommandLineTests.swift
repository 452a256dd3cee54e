import Foundation
import ShardProtocol
import ShardTestSupport
import Testing

@Suite("shard command line", .serialized, .timeLimit(.minutes(3)))
struct ShardCommandLineTests {
    @Test func generateStreamsTextAndASummary() throws {
        let expected = try completeReference(prompt: "And God said,", maxNewTokens: 16)
        let sidecar = try SidecarProcess(["serve", "--port", "0"])
        defer { sidecar.stop() }
        for transport in ["http-poll", "websocket"] {
            let result = try ExecutableRunner.run("shard", ["generate", "And God said,", "--max-new-tokens", "16",
                                                            "--transport", transport, "--sidecar", sidecar.baseURL])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput == expected + "\n")
            #expect(result.standardError.contains("16 tokens"))
            #expect(result.standardError.contains("time to first token"))
        }
        let json = try ExecutableRunner.run("shard", ["generate", "And God said,", "--max-new-tokens", "4", "--json",
                                                      "--sidecar", sidecar.baseURL])
        let lines = json.standardOutput.split(separator: "\n").map { JSONValue.decode(Array($0.utf8)) }
        #expect(lines.count == 5)
        #expect(lines.last??["event"] == .string("done"))
        #expect(lines.first??["index"] == .int(0))
        let health = try ExecutableRunner.run("shard", ["health", "--sidecar", sidecar.baseURL])
        #expect(health.status == 0)
        #expect(health.standardOutput.contains("ready"))
        let peers = try ExecutableRunner.run("shard", ["peers", "--sidecar", sidecar.baseURL])
        #expect(peers.standardOutput.contains("local-0"))
    }

    @Test func exitCodesSayWhatHappened() throws {
        let reserved = try ReservedPort()
        let missing = try ExecutableRunner.run("shard", ["generate", "x", "--sidecar", "http://127.0.0.1:\(reserved.port)"])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("start it with `shard-sidecar`"))
        for arguments in [["generate"], ["generate", "x", "--max-new-tokens", "0"], ["generate", "x", "--transport", "pigeon"],
                          ["frobnicate"]] {
            let result = try ExecutableRunner.run("shard", arguments)
            #expect(result.status == 2, "\(arguments): \(result.standardError)")
        }
    }
}
