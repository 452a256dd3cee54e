import ArgumentParser
import Foundation
import ShardClient
import ShardProtocol

/// `shard batch`: runs a JSONL file of requests through the sidecar's OpenAI-compatible routes with bounded
/// concurrency and writes one JSONL result per line, in input order (modelled on sference's batch CLI).
struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Run a JSONL file of requests; results as JSONL on stdout (or --output), progress on stderr.",
        discussion: """
        Each line is OpenAI's batch form {"custom_id", "method": "POST", "url": "/v1/chat/completions" or \
        "/v1/completions", "body"} or content only {"content": "..."} (a one-message chat). Each result line is \
        {"custom_id", "response": {"status_code", "body"}, "error"}. Finished lines are cached (SHA-256 of the \
        route and body, under $SHARD_CACHE_DIR or ~/.cache/shard/batch): a re-run sends only what is missing. \
        Exit codes: 0 every line done, 1 some failed, 2 bad usage.
        """)

    @Option(help: "The JSONL file of requests.") var inputFile: String
    @Option(help: "Model for lines that name none.") var model: String?
    @Option(help: "Write the results here instead of stdout.") var output: String?
    @Option(help: "Requests in flight at once.") var concurrency = 8
    @Option(help: "The sidecar's HTTP base URL.") var sidecar = "http://127.0.0.1:9091"
    @Option(help: "API key, when the sidecar requires one.") var apiKey: String?
    @Flag(help: "Neither read nor write the cache of finished lines.") var noCache = false

    func validate() throws {
        guard (1 ... 1024).contains(concurrency) else { throw ValidationError("--concurrency must be in 1...1024") }
        guard FileManager.default.isReadableFile(atPath: inputFile) else {
            throw ValidationError("--input-file \(inputFile) cannot be read")
        }
    }

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: inputFile) else {
            throw ValidationError("--input-file \(inputFile) cannot be read")
        }
        let lines = BatchLine.parse(String(decoding: data, as: UTF8.self), model: model)
        let cache = noCache ? nil : BatchCache()
        var results = [BatchResult?](repeating: nil, count: lines.count)
        var pending: [Int] = []
        for (index, line) in lines.enumerated() {
            switch line {
            case let .malformed(customID, message):
                results[index] = BatchResult(customID: customID, status: nil, body: nil, error: ("invalid_line", message))
                FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            case let .request(customID, url, body):
                if let cached = cache?.load(BatchCache.key(url: url, body: body)), var result = BatchResult(json: cached) {
                    result.customID = customID
                    results[index] = result
                } else {
                    pending.append(index)
                }
            }
        }
        let progress = BatchProgress(total: lines.count, done: results.compactMap { $0 }.count,
                                     failed: results.compactMap { $0 }.filter(\.failed).count)
        let display = progress.startDisplay()
        if !pending.isEmpty {
            let routes = SidecarRoutes(routerURL: sidecar, apiKey: apiKey)
            try await withThrowingTaskGroup(of: (Int, BatchResult).self) { group in
                var next = 0
                func launch() {
                    guard next < pending.count else { return }
                    let index = pending[next]
                    next += 1
                    guard case let .request(customID, url, body) = lines[index] else { return }
                    group.addTask { (index, await Self.send(customID: customID, url: url, body: body, routes: routes, cache: cache)) }
                }
                for _ in 0 ..< min(concurrency, pending.count) { launch() }
                while let (index, result) = try await group.next() {
                    results[index] = result
                    progress.finished(result)
                    launch()
                }
            }
        }
        display.cancel()
        progress.finish()
        let text = results.compactMap { $0?.json.encodedString() }.joined(separator: "\n") + "\n"
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else {
                throw ValidationError("--output \(output) cannot be written")
            }
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        if results.contains(where: { $0?.failed ?? true }) { throw ExitCode.failure }
    }

    /// Sends one line (retried per the SDK's policy on 503 and lost connections); caches a success.
    static func send(customID: String, url: String, body: JSONValue, routes: SidecarRoutes,
                     cache: BatchCache?) async -> BatchResult {
        do {
            let (status, answer) = try await routes.post(url, json: body)
            let result = BatchResult(customID: customID, status: status, body: answer, error: nil)
            if status == 200 { cache?.store(BatchCache.key(url: url, body: body), result.json) }
            return result
        } catch {
            return BatchResult(customID: customID, status: error.httpStatus, body: nil,
                               error: (error.serverCode ?? "\(error.kind)", error.message))
        }
    }
}
