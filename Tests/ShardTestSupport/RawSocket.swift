#if canImport(Glibc)
import Glibc
#endif

/// A failure of the raw test socket.
public struct RawSocketError: Error, CustomStringConvertible {
    public let description: String
    /// Creates an error with a description.
    public init(description: String) { self.description = description }
}

/// A parsed HTTP response read from a ``RawSocket``.
public struct RawHTTPResponse {
    public let status: Int
    /// Lowercased names.
    public let headers: [String: String]
    public let body: [UInt8]
    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking TCP client over a POSIX socket, for sending exact (also malformed) HTTP and WebSocket bytes.
/// Every read and write has a timeout, so a server bug fails the test instead of hanging it. One thread at a time.
public final class RawSocket {
    public let fd: Int32
    /// Received bytes not consumed yet.
    private var buffer: [UInt8] = []
    /// The status line of the last response head read (`HTTP/1.1 200 OK`).
    public private(set) var lastStatusLine = ""

    /// Connects to 127.0.0.1:`port`; reads and writes time out after `timeoutSeconds`.
    public init(port: Int, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawSocketError(description: "socket() failed: \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            Glibc.close(fd)
            throw RawSocketError(description: "connect to port \(port) failed: errno \(errno)")
        }
    }

    deinit { Glibc.close(fd) }

    /// Shrinks the kernel receive buffer (call before the peer sends much), for backpressure tests.
    public func setReceiveBuffer(_ bytes: Int32) {
        var size = bytes
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw RawSocketError(description: "send failed: errno \(errno)") }
            offset += sent
        }
    }

    /// Reads what is available into the buffer; false at end of stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count == 0 { return false }
        guard count > 0 else { throw RawSocketError(description: "recv failed or timed out: errno \(errno)") }
        buffer.append(contentsOf: chunk[..<count])
        return true
    }

    /// Consumes exactly `count` bytes.
    public func read(exactly count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw RawSocketError(description: "connection closed while reading") }
        }
        defer { buffer.removeFirst(count) }
        return Array(buffer[..<count])
    }

    /// Whether the peer closes the connection (reads and discards until end of stream).
    public func waitForClose() throws -> Bool {
        buffer = []
        while true {
            do { if try !fill() { return true } } catch { return false }
            buffer = []
        }
    }

    /// Everything until the peer closes (what is buffered included): a body that ends with the connection.
    public func readUntilClose() throws -> [UInt8] {
        while try fill() {}
        defer { buffer = [] }
        return buffer
    }

    /// Reads a status line and headers (leaves anything after them buffered).
    public func readHead() throws -> (status: Int, headers: [String: String]) {
        let marker: [UInt8] = Array("\r\n\r\n".utf8)
        while true {
            if let end = buffer.indices.dropLast(3).first(where: { Array(buffer[$0 ..< $0 + 4]) == marker }) {
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
                lastStatusLine = lines.first ?? ""
                let statusLine = lines.removeFirst().split(separator: " ")
                guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
                    throw RawSocketError(description: "bad status line in \(head)")
                }
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                        .trimmingCharacters(in: " ")
                }
                return (status, headers)
            }
            guard try fill() else { throw RawSocketError(description: "connection closed before the response head") }
        }
    }

    /// Reads one response whose body length is given by `Content-Length`.
    public func readResponse() throws -> RawHTTPResponse {
        let head = try readHead()
        let length = head.headers["content-length"].flatMap { Int($0) } ?? 0
        return RawHTTPResponse(status: head.status, headers: head.headers, body: try read(exactly: length))
    }

    /// Sends a request and reads its response.
    public func request(_ method: String, _ target: String, headers: [String: String] = [:], body: [UInt8] = []) throws
        -> RawHTTPResponse {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        try send(Array((head + "\r\n").utf8) + body)
        return try readResponse()
    }
}

extension Substring {
    func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
