#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import ShardSync

/// The server's listening socket and the first request head of every connection. A thread of its own accepts
/// connections and reads each one's head (bounded in size and time) and checks it (``RequestHead``). A good head
/// and the connection go to the service thread, which hands both to libwebsockets; a bad one gets the server's JSON
/// error, then the connection closes. Later requests on a kept-alive connection are parsed by libwebsockets alone.
final class FrontDoor: @unchecked Sendable {
    // @unchecked: `pending` and `running` are only touched by the front door's own thread; the rest never changes.

    /// Limits of the head check.
    struct Limits: Sendable {
        /// Largest request head (request line, header fields, blank line); larger ones are answered 431.
        var headBytes: Int
        /// Time a client has to send its head; then it is answered 408.
        var headSeconds: Double
        /// Connections waiting for their head at once; past it, new ones are closed at once.
        var maxPending: Int
    }

    private let listener: Int32
    private let wakePipe: (read: Int32, write: Int32)
    private let limits: Limits
    private let handoff: @Sendable (Int32, [UInt8]) -> Void
    private let finished = DispatchSemaphore(value: 0)
    private let stopped = Locked(false)

    /// A connection whose head is being read, or whose refusal is being sent before it closes.
    private struct Pending {
        var deadline: Double
        /// The refusal was sent: what the client still sends is read and dropped until it closes or the deadline.
        var closing = false
    }

    private var pending: [Int32: Pending] = [:]

    /// Binds `host`:`port` (0: an ephemeral port) and listens.
    ///
    /// - Returns: the socket and the bound port.
    /// - Throws: ``NetworkError/Kind/bindFailed``.
    static func listen(host: String, port: Int) throws(NetworkError) -> (socket: Int32, port: Int) {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &results) == 0, let first = results else {
            throw NetworkError(.bindFailed, "could not resolve \(host)")
        }
        defer { freeaddrinfo(results) }
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                                | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { continue }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard bind(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0, Glibc.listen(fd, SOMAXCONN) == 0
            else {
                close(fd)
                continue
            }
            var bound = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &bound) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0 else {
                close(fd)
                continue
            }
            let family = Int32(bound.ss_family)
            let boundPort = withUnsafePointer(to: &bound) { pointer -> UInt16 in
                if family == AF_INET6 {
                    return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                }
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
            return (fd, Int(boundPort))
        }
        throw NetworkError(.bindFailed, "could not listen on \(host):\(port)")
    }

    /// A front door on `listener` (from ``listen(host:port:)``); `handoff` receives each connection with a good head
    /// (the bytes of its head, which were read from it) and owns the socket from then on.
    init(listener: Int32, limits: Limits, handoff: @escaping @Sendable (Int32, [UInt8]) -> Void) {
        self.listener = listener
        self.limits = limits
        self.handoff = handoff
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "pipe failed")
        fds.forEach(Self.makeNonBlocking)
        wakePipe = (fds[0], fds[1])
    }

    /// Starts accepting.
    func start() {
        ServiceThread { [self] in
            run()
            finished.signal()
        }.start()
    }

    /// Stops accepting, closes the listening socket and every connection still waiting for its head, and waits for
    /// the thread to end. Idempotent.
    func stop() {
        let first = stopped.withLock { stopped -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
        finished.wait()
        close(wakePipe.read)
        close(wakePipe.write)
    }

    private func run() {
        defer {
            close(listener)
            for fd in pending.keys { close(fd) }
            pending.removeAll()
        }
        while true {
            var fds = [pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            fds += pending.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let now = Self.now()
            let soonest = pending.values.map(\.deadline).min()
            let timeout = soonest.map { Int32(max(0, min(60_000, ($0 - now) * 1000 + 1))) } ?? -1
            guard poll(&fds, nfds_t(fds.count), timeout) >= 0 || errno == EINTR else { return }
            if fds[0].revents != 0 { return }
            if fds[1].revents != 0 { acceptAll() }
            for entry in fds.dropFirst(2) where entry.revents != 0 { read(entry.fd) }
            expire(now: Self.now())
        }
    }

    private func acceptAll() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            Self.makeNonBlocking(fd)
            Self.disableNagle(fd)
            guard pending.count < limits.maxPending else {
                close(fd)
                continue
            }
            pending[fd] = Pending(deadline: Self.now() + limits.headSeconds)
        }
    }

    /// Looks at what a connection sent so far without taking it from the socket (libwebsockets 4.1 loops on a
    /// request body handed over with an adopted connection, so it must read the request itself); the socket's
    /// receive low-water mark makes `poll` wake again only when more arrives.
    private func read(_ fd: Int32) {
        guard let connection = pending[fd] else { return }
        var bytes = [UInt8](repeating: 0, count: connection.closing ? 4096 : limits.headBytes + 1)
        let available = recv(fd, &bytes, bytes.count, connection.closing ? 0 : Int32(MSG_PEEK))
        if available < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
        guard available > 0 else {
            pending[fd] = nil
            close(fd)
            return
        }
        if connection.closing { return }
        bytes.removeLast(bytes.count - available)
        switch RequestHead.examine(bytes, limit: limits.headBytes) {
        case .incomplete:
            Self.setLowWaterMark(fd, available + 1)
        case let .accept(head):
            guard let rewritten = head.rewritten else {
                Self.setLowWaterMark(fd, 1)
                pending[fd] = nil
                handoff(fd, [])
                return
            }
            guard !head.hasBody else {
                refuse(fd, .failure(400, code: "bad_request",
                                    message: "send the request target as a path (/...), not an absolute URL"))
                return
            }
            // A rewritten head goes to libwebsockets as read data; it must be taken from the socket.
            guard recv(fd, &bytes, head.length, 0) == head.length else {
                pending[fd] = nil
                close(fd)
                return
            }
            Self.setLowWaterMark(fd, 1)
            pending[fd] = nil
            handoff(fd, rewritten)
        case let .refuse(status, code, message):
            refuse(fd, .failure(status, code: code, message: message))
        }
    }

    /// Sends each write at once (`TCP_NODELAY`), as libwebsockets does on the connections it accepts itself: a
    /// stream of small frames (one per token, one per pipeline step) must not wait for the peer's delayed ACK.
    private static func disableNagle(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private static func setLowWaterMark(_ fd: Int32, _ bytes: Int) {
        var value = Int32(clamping: bytes)
        setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Connections past their deadline: a head that did not arrive in time is answered 408; a refusal's lingering
    /// read ends.
    private func expire(now: Double) {
        for (fd, connection) in pending where connection.deadline <= now {
            if connection.closing {
                pending[fd] = nil
                close(fd)
            } else {
                refuse(fd, .failure(408, code: "request_timeout",
                                    message: "the request head did not arrive within \(limits.headSeconds) s"))
            }
        }
    }

    /// Sends `response` (small: it fits the socket buffer) and half-closes; the connection is read and dropped for a
    /// second so that what the client had still in flight does not reset the answer away.
    private func refuse(_ fd: Int32, _ response: HTTPResponse) {
        var head = response.statusLine + "\r\n"
        head += "Content-Type: \(response.contentType)\r\nContent-Length: \(response.body.count)\r\n"
        head += "Connection: close\r\n\r\n"
        let bytes = Array(head.utf8) + response.body
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        shutdown(fd, Int32(SHUT_WR))
        Self.setLowWaterMark(fd, 1)
        pending[fd] = Pending(deadline: Self.now() + 1, closing: true)
    }

    /// Non-blocking and closed on exec.
    private static func makeNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
