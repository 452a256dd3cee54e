import Foundation
import ShardSync

/// `shard batch`'s progress on stderr: a live bar with done/failed/total, tokens/s and the ETA when stderr is a
/// terminal; otherwise a plain line every five seconds. Never on stdout, which carries the results.
final class BatchProgress: @unchecked Sendable {
    private let lock = Lock()
    private let total: Int
    private var done: Int
    private var failed: Int
    private var tokens = 0
    private let started = Date()
    private let startedDone: Int
    private let terminal = isatty(STDERR_FILENO) != 0

    init(total: Int, done: Int, failed: Int) {
        self.total = total
        self.done = done
        self.failed = failed
        startedDone = done
    }

    func finished(_ result: BatchResult) {
        lock.withLock {
            done += 1
            if result.failed { failed += 1 }
            tokens += result.completionTokens
        }
    }

    /// Redraws (terminal) or reports (otherwise) until cancelled.
    func startDisplay() -> Task<Void, Never> {
        Task { [self] in
            while !Task.isCancelled {
                write(line(), final: false)
                try? await Task.sleep(for: terminal ? .milliseconds(200) : .seconds(5))
            }
        }
    }

    func finish() { write(line(), final: true) }

    private func line() -> String {
        lock.withLock {
            let elapsed = max(Date().timeIntervalSince(started), 1e-3)
            let rate = Double(tokens) / elapsed
            let perLine = Double(done - startedDone) / elapsed
            let eta = perLine > 0 ? Int(Double(total - done) / perLine) : nil
            let width = 30, filled = total == 0 ? width : width * done / total
            let bar = terminal ? "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] " : ""
            return bar + "\(done)/\(total) done, \(failed) failed, " + String(format: "%.1f tok/s", rate)
                + (eta.map { String(format: ", ETA %d:%02d", $0 / 60, $0 % 60) } ?? "")
        }
    }

    private func write(_ text: String, final: Bool) {
        let bytes = terminal ? "\r\u{1B}[K" + text + (final ? "\n" : "") : text + "\n"
        FileHandle.standardError.write(Data(bytes.utf8))
    }
}
