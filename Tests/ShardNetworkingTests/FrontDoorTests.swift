#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import ShardSync
import ShardTestSupport
@testable import ShardNetworking
import Testing

@Suite("Front door")
struct FrontDoorTests {
    /// A stream of small frames (a token per event, a step per peer frame) must leave the server as it is written;
    /// with Nagle's algorithm on, the second frame waits for the client's delayed ACK.
    @Test("a connection it hands over sends without Nagle's delay (TCP_NODELAY)")
    func handedOverConnectionsHaveNoDelay() throws {
        let (listener, port) = try FrontDoor.listen(host: "127.0.0.1", port: 0)
        let handed = Locked<Int32?>(nil)
        let arrived = DispatchSemaphore(value: 0)
        let door = FrontDoor(listener: listener, limits: .init(headBytes: 8192, headSeconds: 5, maxPending: 8)) { fd, _ in
            handed.withLock { $0 = fd }
            arrived.signal()
        }
        door.start()
        defer { door.stop() }

        let client = try RawSocket(port: port)
        try client.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(arrived.wait(timeout: .now() + 10) == .success, "the head was not handed over")
        let fd = try #require(handed.withLock { $0 })
        defer { close(fd) }
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        #expect(getsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length) == 0)
        #expect(value != 0)
    }
}
