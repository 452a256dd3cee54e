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

    /// `shard batch` on 50 lines (one malformed): interrupted half-way (SIGINT), re-run on a fresh sidecar that
    /// computes only the lines not done before (its counters say so), results in input order, exit codes; a
    /// re-run whose lines are all done needs no sidecar at all.
    @Test func batchRunsResumesAndKeepsOrder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shard-batch-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let environment = ["SHARD_CACHE_DIR": directory.appendingPathComponent("cache").path]
        var lines = (0 ..< 49).map { index in
            JSONValue.object(["custom_id": .string("req-\(index)"), "method": .string("POST"),
                              "url": .string("/v1/completions"),
                              "body": .object(["prompt": .string("The LORD is \(index)"), "max_tokens": .int(30),
                                               "temperature": .int(0)])]).encodedString()
        }
        let valid = directory.appendingPathComponent("valid.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: valid, atomically: true, encoding: .utf8)
        lines.insert("{this line is not JSON", at: 19)
        let input = directory.appendingPathComponent("input.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        let cache = directory.appendingPathComponent("cache/batch")
        let cached = { (try? FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.hasSuffix(".json") }.count) ?? 0 }

        // First run: one sequence at a time through a peer, frozen once some lines are done, then interrupted.
        let model = "Fixtures/kjv-tiny/model-q8_0.gguf"
        let peer = try SidecarProcess(["peer", "--model", model, "--layers", "0:6", "--port", "0"])
        defer { peer.resume(); peer.stop() }
        let first = try SidecarProcess(["serve", "--model", model, "--tokenizer", "Fixtures/kjv-tiny/tokenizer.model",
                                        "--local-shards", "0", "--max-batch", "1", "--port", "0",
                                        "--peer", "ws://127.0.0.1:\(peer.port)/peer"])
        try SidecarClientProbe.waitUntilReady(first)
        let interrupted = Process()
        interrupted.executableURL = ExecutableRunner.executable("shard")
        interrupted.arguments = ["batch", "--input-file", input.path, "--concurrency", "2", "--sidecar", first.baseURL]
        interrupted.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        interrupted.standardOutput = FileHandle.nullDevice
        interrupted.standardError = FileHandle.nullDevice
        try interrupted.run()
        #expect(waitUntil { cached() >= 10 })
        peer.pause()
        interrupted.interrupt()
        interrupted.waitUntilExit()
        first.stop()
        let done = cached()
        #expect(done >= 10 && done < 49, "interrupted half-way: \(done) lines done")

        // The re-run computes only what is missing.
        let second = try SidecarProcess(["serve", "--port", "0"])
        defer { second.stop() }
        let result = try ExecutableRunner.run("shard", ["batch", "--input-file", input.path, "--sidecar", second.baseURL],
                                              environment: environment)
        #expect(result.status == 1, "a malformed line makes the run fail: \(result.standardError)")
        #expect(result.standardError.contains("line 20"), "\(result.standardError)")
        let output = result.standardOutput.split(separator: "\n").compactMap { JSONValue.decode(Array($0.utf8)) }
        #expect(output.count == 50)
        #expect(output.map { $0["custom_id"]?.stringValue ?? "?" }
            == (0 ..< 19).map { "req-\($0)" } + ["line-20"] + (19 ..< 49).map { "req-\($0)" })
        #expect(output[19]["error"]?["code"] == .string("invalid_line"))
        #expect(output.filter { $0["response"]?["status_code"] == .int(200) }.count == 49)
        let metrics = try RawSocket(port: second.port).request("GET", "/metrics").text
        #expect(metrics.contains(#"shard_requests{state="completed"} \#(49 - done)"#),
                "the re-run computed only the \(49 - done) missing lines")

        // Everything done: no sidecar needed, exit 0, the same answers.
        let offline = try ExecutableRunner.run("shard", ["batch", "--input-file", valid.path, "--sidecar",
                                                         "http://127.0.0.1:9"], environment: environment)
        #expect(offline.status == 0, "\(offline.standardError)")
        let again = offline.standardOutput.split(separator: "\n").compactMap { JSONValue.decode(Array($0.utf8)) }
        #expect(again.map { $0["response"]?["body"]?["choices"] }
            == output.enumerated().filter { $0.offset != 19 }.map { $0.element["response"]?["body"]?["choices"] })
    }
}

/// Readiness of a sidecar process, over a raw socket.
enum SidecarClientProbe {
    static func waitUntilReady(_ sidecar: SidecarProcess) throws {
        #expect(waitUntil { (try? RawSocket(port: sidecar.port).request("GET", "/ready").status) == 200 })
    }
}
