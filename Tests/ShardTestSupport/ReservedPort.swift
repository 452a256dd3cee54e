#if canImport(Glibc)
import Glibc
#endif

/// A loopback port that is bound but never listens, held for the object's lifetime: connections to it are refused,
/// and no other test can take it meanwhile (unlike "find a free port, close it, hope").
public final class ReservedPort {
    /// The port number.
    public let port: Int
    private let fd: Int32

    /// Binds 127.0.0.1:0 without listening.
    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard fd >= 0, bound else {
            if fd >= 0 { close(fd) }
            throw RawSocketError(description: "could not reserve a port")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
