import ArgumentParser
import Foundation
import ShardClient

/// `shard`: a command-line client of the Shard sidecar, built on the Swift SDK.
@main
struct ShardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard",
        abstract: "Stream generations from a local Shard sidecar.",
        discussion: "Exit codes: 0 success, 1 failure, 2 bad usage.",
        subcommands: [GenerateCommand.self, ChatCommand.self, BatchCommand.self, HealthCommand.self, PeersCommand.self])

    /// Runs the command with the documented exit codes (ArgumentParser's usage errors become 2).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure || error is ValidationError {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            if code == .success || code == .failure && error is ExitCode {
                exit(withError: error)
            }
            if let clientError = error as? ShardClientError {
                FileHandle.standardError.write(Data("error: \(clientError)\n".utf8))
                Foundation.exit(1)
            }
            exit(withError: error)
        }
    }
}

/// Options shared by the subcommands.
struct SidecarOptions: ParsableArguments {
    @Option(help: "The sidecar's HTTP base URL.") var sidecar = "http://127.0.0.1:9091"
    @Option(help: "API key, when the sidecar requires one.") var apiKey: String?
    @Option(help: "Model id.") var model = "shard/network-default"

    var websocketURL: String {
        let base = sidecar.hasSuffix("/") ? String(sidecar.dropLast()) : sidecar
        if base.hasPrefix("https://") { return "wss://" + base.dropFirst(8) + "/ws/generate" }
        return "ws://" + base.replacingOccurrences(of: "http://", with: "") + "/ws/generate"
    }

    func load(transport: Transport = .httpPolling, tokenizer: TokenizerChoice = .automatic,
              readinessTimeout: Duration = .seconds(30)) async throws -> ShardDistributedModel {
        try await ShardDistributedModel.fromPretrained(
            model, routerURL: sidecar, websocketURL: websocketURL, tokenizer: tokenizer, transport: transport,
            apiKey: apiKey, readinessTimeout: readinessTimeout)
    }
}

extension Transport: ExpressibleByArgument {}

/// `shard health`: liveness and readiness of the sidecar.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "health",
                                                    abstract: "Print the sidecar's health and readiness.")
    @OptionGroup var options: SidecarOptions

    func run() async throws {
        let model = try await options.load(tokenizer: .utf8Bytes, readinessTimeout: .seconds(5))
        let health = try await model.health()
        let readiness = try await model.ready()
        print("status \(health.status), version \(health.version), up \(String(format: "%.1f", health.uptimeSeconds)) s, "
            + (readiness.ready ? "ready" : "not ready, missing layers \(readiness.missingLayers)"))
    }
}

/// `shard peers`: the shards serving the model.
struct PeersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "peers", abstract: "List the shards and their layers.")
    @OptionGroup var options: SidecarOptions

    func run() async throws {
        let model = try await options.load(tokenizer: .utf8Bytes, readinessTimeout: .seconds(5))
        for peer in try await model.peers() {
            let latency = peer.latencyMilliseconds.map { String(format: "%.2f ms", $0) } ?? "-"
            print("\(peer.name)\tlayers \(peer.layers.lowerBound)..<\(peer.layers.upperBound)\t\(peer.state)\t\(latency)")
        }
    }
}
