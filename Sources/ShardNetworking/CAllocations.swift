#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import CLibWebSockets

/// C memory that libwebsockets keeps pointers to for a context's whole lifetime (protocol arrays, per-vhost options,
/// strings): it must not be a temporary Swift array. Everything is `calloc`/`strdup`'ed here and released by
/// ``freeAll()`` after `lws_context_destroy`.
///
/// Not thread-safe: owned by the one service thread that creates and destroys the context.
final class CAllocations {
    private var blocks: [UnsafeMutableRawPointer] = []

    /// A C copy of `text`.
    func string(_ text: String) -> UnsafeMutablePointer<CChar> {
        let copy = strdup(text)!
        blocks.append(UnsafeMutableRawPointer(copy))
        return copy
    }

    /// `count` zeroed values of `T`.
    func zeroed<T>(_ type: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        let raw = calloc(count, MemoryLayout<T>.stride)!
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: count)
    }

    /// A protocol array with one protocol and the zeroed terminator lws requires. The caller sets `callback` of
    /// element 0 (a C function pointer must be formed from a literal closure at that site).
    func protocols(name: String, sessionBytes: Int, rxBufferBytes: Int) -> UnsafeMutablePointer<lws_protocols> {
        let protocols = zeroed(lws_protocols.self, count: 2)
        protocols[0].name = UnsafePointer(string(name))
        protocols[0].per_session_data_size = sessionBytes
        protocols[0].rx_buffer_size = rxBufferBytes
        return protocols
    }

    /// Per-vhost options making `protocolName` the default protocol, so WebSocket upgrades without a
    /// `Sec-WebSocket-Protocol` header reach it.
    func defaultProtocolOption(protocolName: String) -> UnsafeMutablePointer<lws_protocol_vhost_options> {
        let option = zeroed(lws_protocol_vhost_options.self)
        option.pointee.name = UnsafePointer(string("default"))
        option.pointee.value = UnsafePointer(string("1"))
        let entry = zeroed(lws_protocol_vhost_options.self)
        entry.pointee.name = UnsafePointer(string(protocolName))
        entry.pointee.value = UnsafePointer(string(""))
        entry.pointee.options = UnsafePointer(option)
        return entry
    }

    /// Releases every allocation. Call only after `lws_context_destroy`.
    func freeAll() {
        for block in blocks { free(block) }
        blocks = []
    }
}

/// Silences libwebsockets' stderr logging once per process (it logs every refused connection at error level).
/// Set `SHARD_LWS_LOG` to a level mask (e.g. 7) to see it again.
let configureLibWebSocketsLogging: Void = {
    let level = getenv("SHARD_LWS_LOG").flatMap { Int32(String(cString: $0)) } ?? 0
    lws_set_log_level(level, nil)
}()
