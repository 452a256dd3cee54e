import ArgumentParser
import ShardSidecarCore

/// The `shard-sidecar` executable: the daemon an application launches next to itself, and its tools.
@main
struct ShardSidecarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard-sidecar",
        abstract: "Local distributed-inference sidecar for Shard for Swift.",
        subcommands: [ServeCommand.self, PeerCommand.self, CompleteCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    /// Logs go to stderr (swift-log), then the command runs.
    static func main() {
        SidecarLogging.bootstrap()
        main(nil)
    }
}
