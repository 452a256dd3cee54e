import ArgumentParser
import Foundation
import ShardEngine
import ShardProtocol
import ShardSidecarCore

/// `shard-sidecar peer`: serves one range of a model's layers to sidecars.
struct PeerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer",
        abstract: "Serve layers START:END of a model as a peer shard over WebSocket (ws://HOST:PORT/peer).")

    @Option(help: "GGUF model.") var model: String
    @Option(help: "Layer range START:END (END exclusive). Give this or --part.") var layers: String?
    @Option(help: ArgumentHelp("Part I of N: the I-th of N contiguous layer ranges of nearly equal cost (weight bytes read per token, the output matrix counted on the last part), as `complete --shards N` and `serve --local-shards N` split. Give this or --layers.", valueName: "I/N"))
    var part: String?
    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port; 0 picks a free one (printed on stdout).") var port: Int
    @Option(help: "Shared secret the sidecar must prove (HMAC challenge-response).") var secret: String?
    @Option(help: "Element type of the hidden states sent on: auto (what the sidecar asks: f32 on loopback, f16 between machines), f16 (half the bytes) or f32 (bit-exact with one process).")
    var hiddenDtype = HiddenDtypeOption.auto
    @Option(help: "Most sequences cached at once, over all sidecars (announced; frames past it are refused).")
    var capacity = 256

    /// `--layers START:END`, when given.
    func parsedLayers() throws -> Range<Int>? {
        guard let layers else { return nil }
        let parts = layers.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let start = parts[0], let end = parts[1], start >= 0, start < end else {
            throw ValidationError("--layers must be START:END with 0 <= START < END, got \(layers)")
        }
        return start ..< end
    }

    /// `--part I/N` as (I, N), when given.
    func parsedPart() throws -> (index: Int, count: Int)? {
        guard let part else { return nil }
        let parts = part.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let index = parts[0], let count = parts[1], count >= 1, count <= 1 << 16,
              (1 ... count).contains(index)
        else {
            throw ValidationError("--part must be I/N with 1 <= I <= N <= 65536, got \(part)")
        }
        return (index, count)
    }

    /// The layer range to serve: `--layers` as given, or part I of the model's balanced split into N.
    func resolvedLayers() throws -> Range<Int> {
        if let range = try parsedLayers() { return range }
        guard let (index, count) = try parsedPart() else { throw ValidationError("give --layers or --part") }
        let ranges = try LayerSplit.balanced(model: try GGUFFile(path: model), stageCount: count)
        guard index <= ranges.count else {
            throw ValidationError("--part \(index)/\(count): the model has only \(ranges.count) layers")
        }
        return ranges[index - 1]
    }

    func validate() throws {
        guard (layers == nil) != (part == nil) else { throw ValidationError("give exactly one of --layers and --part") }
        _ = try parsedLayers()
        _ = try parsedPart()
        guard (0 ... 65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard (1 ... 1 << 20).contains(capacity) else { throw ValidationError("--capacity must be in 1...1048576") }
    }

    func run() throws {
        SignalWaiter.blockTerminationSignals()
        let server: PeerServer
        let bound: Int
        do {
            var configuration = PeerServer.Configuration(host: host, port: port, secret: secret,
                                                         hiddenType: hiddenDtype.dtype)
            configuration.capacity = capacity
            let range = try resolvedLayers()
            if let part { Diagnostics.print("part \(part): layers \(range.lowerBound):\(range.upperBound)") }
            server = try PeerServer(modelPath: model, layers: range, configuration: configuration,
                                    progress: LoadProgressPrinter().report)
            bound = try server.start()
        } catch {
            Diagnostics.print("error: \(error)")
            throw ExitCode.failure
        }
        Diagnostics.announce("listening on \(host):\(bound)")
        SignalWaiter.waitForTermination()
        server.shutdown()
    }
}
