import Foundation

/// A `shard-sidecar` process (serve or peer) started for a test on an ephemeral loopback port.
///
/// The process prints `listening on HOST:PORT` on stdout once it accepts connections; the test reads that line
/// (no sleeps) and kills the process when done.
public final class SidecarProcess: @unchecked Sendable {
    /// The child process.
    public let process = Process()
    /// The port it announced.
    public let port: Int
    private let errorLog: Pipe
    private let exited = DispatchSemaphore(value: 0)

    /// Starts `shard-sidecar` with `arguments` (which must bind port 0) and waits for its address.
    public convenience init(_ arguments: [String], timeout: TimeInterval = 60) throws {
        try self.init(executable: ExecutableRunner.executable("shard-sidecar"), arguments: arguments,
                      timeout: timeout)
    }

    /// Starts another server (`llama-server --port 0`) that announces `listening on ...:PORT` on stdout or, with
    /// `announcesOnStandardError`, on stderr, and waits for that line.
    public init(executable: URL, arguments: [String], announcesOnStandardError: Bool = false,
                timeout: TimeInterval = 60) throws {
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = ExecutableRunner.repositoryRoot
        let output = Pipe()
        errorLog = Pipe()
        process.standardOutput = announcesOnStandardError ? errorLog : output
        process.standardError = announcesOnStandardError ? output : errorLog
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        // Drain stderr continuously so logging can never block the child.
        let errorHandle = errorLog.fileHandleForReading
        Thread.detachNewThread { while !errorHandle.availableData.isEmpty {} }
        let handle = output.fileHandleForReading
        let found = PortLine()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var buffer = ""
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                buffer += String(decoding: data, as: UTF8.self)
                if let line = buffer.split(separator: "\n").first(where: { $0.contains("listening on ") }),
                   let port = Int(line.split(separator: ":").last ?? "") {
                    found.set(port)
                    done.signal()
                    while !handle.availableData.isEmpty {}
                    return
                }
            }
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success, let port = found.get() else {
            process.terminate()
            throw SidecarProcessError(message: "\(executable.lastPathComponent) \(arguments.joined(separator: " ")) did not start")
        }
        self.port = port
    }

    /// `http://127.0.0.1:PORT`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Sends SIGTERM and waits for the exit status.
    @discardableResult
    public func stop() -> Int32 {
        if process.isRunning {
            resume()
            process.terminate()
        }
        // A process that ignores SIGTERM must fail its test, not hang the whole run: kill it after 30 s.
        if exited.wait(timeout: .now() + 30) == .timedOut {
            Foundation.kill(process.processIdentifier, SIGKILL)
            exited.wait()
        }
        exited.signal()  // later calls return at once
        return process.terminationStatus
    }

    /// Freezes the process (SIGSTOP): a stalled peer. ``resume()`` continues it.
    public func pause() { Foundation.kill(process.processIdentifier, SIGSTOP) }

    /// Continues a paused process (SIGCONT).
    public func resume() { Foundation.kill(process.processIdentifier, SIGCONT) }

    /// Kills the process at once (a vanishing peer).
    public func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        exited.wait()
        exited.signal()
    }

    deinit {
        if process.isRunning {
            resume()
            process.terminate()
        }
    }
}

/// Waits until `condition` holds, checking it every 20 ms, at most `timeout` seconds; returns whether it held.
/// For state owned by another process, which offers no notification to wait on.
public func waitUntil(timeout: TimeInterval = 30, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return try condition()
}

/// A sidecar process that failed to start or misbehaved.
public struct SidecarProcessError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// The port parsed from the announcement line, handed from the reader thread under a lock.
final class PortLine: @unchecked Sendable {
    private let lock = NSLock()
    private var port: Int?
    func set(_ value: Int) { lock.withLock { port = value } }
    func get() -> Int? { lock.withLock { port } }
}
