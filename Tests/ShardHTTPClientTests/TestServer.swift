#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import ShardHTTPClient
import ShardNetworking

/// A real server on 127.0.0.1 (ephemeral port) with a small app:
/// - `/echo`: 200 text, `X-Echo: 1`, lines `METHOD path`, sorted `q:name=value`, `h:name=value` (a few headers),
///   a blank line, then the request body;
/// - `/status?code=N`: status N with `Retry-After: 7` and body `status N`;
/// - `/hang`: never answered (announced through ``EchoHandler/hangs``);
/// - anything else: 404.
final class TestServer: Sendable {
    let server: HTTPWebSocketServer
    let handler: EchoHandler
    let port: Int

    init() throws {
        handler = EchoHandler()
        var configuration = HTTPWebSocketServer.Configuration()
        configuration.extraHeaderNames.append("x-test")
        server = HTTPWebSocketServer(configuration: configuration, handler: handler)
        port = try server.start()
    }

    /// `http://127.0.0.1:<port><path>`.
    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Stops the server (call it in a `defer`) on a Dispatch thread: `shutdown()` blocks while the server drains
    /// open connections (up to 2 s), which must not stall a thread of the small cooperative pool.
    func stop() {
        let server = server
        DispatchQueue.global().async { server.shutdown() }
    }
}

/// The test app; records the query of every request it saw.
final class EchoHandler: HTTPWebSocketHandler {
    /// One element per `/hang` request that reached the server (so a test knows its request is in flight).
    let hangs: AsyncStream<Void>
    private let hangArrived: AsyncStream<Void>.Continuation
    private let seen = LockedLog()

    init() {
        (hangs, hangArrived) = AsyncStream.makeStream(of: Void.self)
    }

    /// `path?query` of every request so far, in arrival order.
    var requests: [String] { seen.entries }

    func httpRequest(_ request: HTTPRequest, server: HTTPWebSocketServer) {
        let query = request.query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
        seen.append("\(request.path)?\(query)")
        switch request.path {
        case "/echo":
            var lines = ["\(request.method) \(request.path)"]
            lines += request.query.sorted { $0.key < $1.key }.map { "q:\($0.key)=\($0.value)" }
            let shown = ["x-test", "x-api-key", "content-type", "expect"]
            lines += request.headers.filter { shown.contains($0.key) }.sorted { $0.key < $1.key }
                .map { "h:\($0.key)=\($0.value)" }
            let body = Array((lines.joined(separator: "\n") + "\n\n").utf8) + request.body
            server.respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain"), ("X-Echo", "1")],
                                        body: body), to: request.connection)
        case "/status":
            let code = Int(request.query["code"] ?? "") ?? 500
            server.respond(HTTPResponse(status: code, headers: [("Retry-After", "7")], body: Array("status \(code)".utf8)),
                           to: request.connection)
        case "/hang":
            hangArrived.yield()
        default:
            server.respond(.json(404, #"{"ok": false}"#), to: request.connection)
        }
    }

    func httpConnectionClosed(_ connection: ConnectionID, server: HTTPWebSocketServer) {}
    func webSocketOpened(_ connection: ConnectionID, path: String, query: [String: String], headers: [String: String],
                         server: HTTPWebSocketServer) {}
    func webSocketMessage(_ message: WebSocketMessage, connection: ConnectionID, server: HTTPWebSocketServer) {}
    func webSocketClosed(_ connection: ConnectionID, server: HTTPWebSocketServer) {}
}

/// An append-only list of strings behind a pthread mutex.
final class LockedLog: @unchecked Sendable {
    // @unchecked: `items` is only touched between pthread_mutex_lock and pthread_mutex_unlock of `mutex`.
    private var mutex = pthread_mutex_t()
    private var items: [String] = []

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    func append(_ item: String) {
        pthread_mutex_lock(&mutex)
        items.append(item)
        pthread_mutex_unlock(&mutex)
    }

    var entries: [String] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return items
    }
}

/// A TCP socket bound to an ephemeral 127.0.0.1 port but not listening: connecting to it is refused, and nothing
/// else can take the port while this lives.
final class RefusingPort {
    let port: Int
    private let descriptor: Int32

    init() {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                precondition(bind(descriptor, socketAddress, length) == 0, "bind failed")
                precondition(getsockname(descriptor, socketAddress, &length) == 0, "getsockname failed")
            }
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

/// The error a call threw, or nil if it succeeded.
func failure(_ body: () async throws(HTTPClientError) -> HTTPClientResponse) async -> HTTPClientError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error
    }
}


/// The ``HTTPClientError`` a task threw, or nil if it returned a response (or threw something else).
func thrown(by task: Task<HTTPClientResponse, any Error>) async -> HTTPClientError? {
    if case .failure(let error) = await task.result { return error as? HTTPClientError }
    return nil
}
