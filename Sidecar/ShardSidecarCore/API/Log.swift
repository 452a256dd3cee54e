import Logging

/// The sidecar's log, through swift-log: one logger (`shard-sidecar`), one line per event, and lines about a request
/// carry its id as `request_id` metadata. `shard-sidecar` sends them to stderr (``SidecarLogging/bootstrap()``).
enum Log {
    static let logger = Logger(label: "shard-sidecar")

    static func info(_ message: String, request: String? = nil) { logger.info("\(message)", metadata: metadata(request)) }
    static func warning(_ message: String, request: String? = nil) {
        logger.warning("\(message)", metadata: metadata(request))
    }
    static func error(_ message: String, request: String? = nil) { logger.error("\(message)", metadata: metadata(request)) }

    private static func metadata(_ request: String?) -> Logger.Metadata? {
        request.map { ["request_id": .string($0)] }
    }
}

/// Sets up swift-log for the `shard-sidecar` executable.
public enum SidecarLogging {
    /// Sends every log line to stderr (stdout carries `listening on HOST:PORT` and completions). Call once, first.
    public static func bootstrap() {
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
    }
}
