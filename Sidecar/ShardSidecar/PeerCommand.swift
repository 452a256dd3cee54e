import ArgumentParser
import Foundation
import ShardProtocol
import ShardSidecarCore

/// `shard-sidecar peer`: serves one range of a model's layers to sidecars.
struct PeerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer",
        abstract: "Serve layers START:END of a model as a peer shard over WebSocket (ws://HOST:PORT/peer).")

    @Option(help: "GGUF model.") var model: String
    @Option(help: "Layer range START:END (END exclusive).") var layers: String
    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port; 0 picks a free one (printed on stdout).") var port: Int
    @Option(help: "Shared secret the sidecar must prove (HMAC challenge-response).") var secret: String?
    @Option(help: "Element type of the hidden states sent on: auto (what the sidecar asks: f32 on loopback, f16 between machines), f16 (half the bytes) or f32 (bit-exact with one process).")
    var hiddenDtype = HiddenDtypeOption.auto
    @Option(help: "Most sequences cached at once, over all sidecars (announced; frames past it are refused).")
    var capacity = 256

    func parsedLayers() throws -> Range<Int> {
        let parts = layers.split(separator: ":").map { Int($0) }
        guard parts.count == 2, let start = parts[0], let end = parts[1], start >= 0, start < end else {
            throw ValidationError("--layers must be START:END with 0 <= START < END, got \(layers)")
        }
        return start ..< end
    }

    func validate() throws {
        _ = try parsedLayers()
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
            server = try PeerServer(modelPath: model, layers: try parsedLayers(), configuration: configuration,
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
