import Foundation
import ShardEngine

/// Shows a model load on stderr: a live bar when stderr is a terminal, two plain lines otherwise.
///
/// ```
/// loading SmolLM2-135M-Instruct.Q4_K_M.gguf: 272 tensors, 105.5 MB
/// [##########################----]  87%  91.8 / 105.5 MB
/// loaded in 0.42 s
/// ```
struct LoadProgressPrinter: Sendable {
    private let isTerminal = isatty(STDERR_FILENO) == 1

    /// Receives one load event.
    @Sendable func report(_ event: ModelLoadProgress) {
        switch event {
        case let .opened(path, bytes, tensors):
            let name = URL(fileURLWithPath: path).lastPathComponent
            write("loading \(name): \(tensors) tensors, \(Self.megabytes(bytes))\n")
        case let .reading(done, total):
            guard isTerminal, total > 0 else { return }
            let width = 30, filled = done * width / total
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            write("\r[\(bar)] \(String(format: "%3d", done * 100 / total))%  \(Self.megabytes(done)) / "
                + "\(Self.megabytes(total))\u{1B}[K")
            if done == total { write("\n") }
        case let .ready(seconds):
            write(String(format: "loaded in %.2f s\n", seconds))
        }
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    private static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}
