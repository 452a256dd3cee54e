import Foundation

/// llama.cpp's `llama-server`, built once from the llama-cpp-python sdist into the cache by
/// `scripts/build-llama-server.sh` (`make test` runs it): the real engine the `--engine` tests put behind a sidecar.
public enum LlamaServer {
    /// `$SHARD_LLAMA_SERVER`, else `${SHARD_CACHE_DIR:-~/.cache/shard}/llama-server/bin/llama-server`.
    public static var executable: URL {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["SHARD_LLAMA_SERVER"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let cache = environment["SHARD_CACHE_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/shard").path
        return URL(fileURLWithPath: cache).appendingPathComponent("llama-server/bin/llama-server")
    }

    /// Starts `llama-server` on a free loopback port with `model`, `slots` parallel sequences and 2 threads.
    /// Fails, naming the script that builds it, when the binary is missing: never a silent skip.
    public static func start(model: String, slots: Int = 2, context: Int = 4096) throws -> SidecarProcess {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw SidecarProcessError(message: "\(executable.path) is missing; build it with scripts/build-llama-server.sh")
        }
        return try SidecarProcess(executable: executable,
                                  arguments: ["-m", model, "--host", "127.0.0.1", "--port", "0", "-np", "\(slots)",
                                              "-c", "\(context)", "-t", "2"],
                                  announcesOnStandardError: true, timeout: 120)
    }
}
