import ArgumentParser

/// The `shard-sidecar` executable: the daemon an application launches next to itself, and its tools.
@main
struct ShardSidecarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard-sidecar",
        abstract: "Local distributed-inference sidecar for Shard for Swift.",
        subcommands: [ServeCommand.self, PeerCommand.self, CompleteCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
