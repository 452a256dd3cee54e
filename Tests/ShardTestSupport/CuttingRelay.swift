import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP relay between a client and a server on loopback that can cut every connection through it at once, with a
/// reset and no WebSocket close frame or HTTP end: what a client sees when its network drops. New connections are
/// relayed as usual, so a client can reconnect through it.
public final class CuttingRelay: @unchecked Sendable {
    /// The port clients connect to.
    public private(set) var port = 0
    private let targetPort: Int
    private let listener: Int32
    private let lock = NSLock()
    private var open: [Int32] = []
    private var accepted = 0
    private var stopped = false
    private let maxConnections: Int?

    /// Listens on an ephemeral loopback port and relays to 127.0.0.1:`targetPort`; with `maxConnections`, later
    /// connections are closed at once (a path only some clients can use).
    public init(targetPort: Int, maxConnections: Int? = nil) throws {
        self.targetPort = targetPort
        self.maxConnections = maxConnections
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard listener >= 0, bound == 0, listen(listener, 64) == 0 else {
            throw RawSocketError(description: "relay: cannot listen (errno \(errno))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Connections accepted so far.
    public var connectionCount: Int { lock.withLock { accepted } }

    /// Cuts every open connection through the relay, both sides: with SO_LINGER 0 the final close resets them.
    public func cutAll() {
        lock.withLock {
            for fd in open {
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                Glibc.shutdown(fd, Int32(SHUT_RDWR))
            }
        }
    }

    /// Stops accepting and cuts everything.
    public func stop() {
        lock.withLock { stopped = true }
        Glibc.shutdown(listener, Int32(SHUT_RDWR))
        cutAll()
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if lock.withLock({ stopped }) {
                    close(listener)
                    return
                }
                continue
            }
            if let maxConnections, lock.withLock({ accepted >= maxConnections }) {
                close(client)
                continue
            }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: targetPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                close(client)
                close(server)
                continue
            }
            lock.withLock {
                accepted += 1
                open += [client, server]
            }
            let pair = Pair(client, server)
            Thread.detachNewThread { [self] in
                Self.pump(from: client, to: server)
                finish(pair)
            }
            Thread.detachNewThread { [self] in
                Self.pump(from: server, to: client)
                finish(pair)
            }
        }
    }

    /// The two sockets of one relayed connection; closed when both directions have ended (never while a pump may
    /// still use them, so a descriptor number is not reused under it).
    private final class Pair: @unchecked Sendable {
        let client: Int32, server: Int32
        var running = 2
        init(_ client: Int32, _ server: Int32) { (self.client, self.server) = (client, server) }
    }

    private func finish(_ pair: Pair) {
        let last = lock.withLock { () -> Bool in
            pair.running -= 1
            guard pair.running == 0 else { return false }
            open.removeAll { $0 == pair.client || $0 == pair.server }
            return true
        }
        if last {
            close(pair.client)
            close(pair.server)
        }
    }

    /// Copies bytes until either side ends; then ends the other side's writing.
    private static func pump(from source: Int32, to sink: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(sink, $0.baseAddress! + offset, count - offset) }
                guard written > 0 else { return }
                offset += written
            }
        }
        Glibc.shutdown(sink, Int32(SHUT_WR))
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
