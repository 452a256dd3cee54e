internal import CLibWebSockets

/// One WebSocket message ready for `lws_write`: the payload sits after `LWS_PRE` bytes of headroom, so the service
/// thread writes it without copying.
struct OutboundFrame: Sendable {
    /// `LWS_PRE` zero bytes followed by the payload.
    var storage: [UInt8]
    /// Binary or text opcode.
    let isBinary: Bool

    /// Bytes libwebsockets needs in front of every buffer passed to `lws_write`.
    static let headroom = Int(shard_lws_pre())

    /// Builds the frame for `message` (one copy of the payload, done by the sending thread).
    init(_ message: WebSocketMessage) {
        var storage = [UInt8](repeating: 0, count: Self.headroom)
        switch message {
        case let .text(text):
            storage.reserveCapacity(Self.headroom + text.utf8.count)
            storage.append(contentsOf: text.utf8)
            isBinary = false
        case let .binary(bytes):
            storage.reserveCapacity(Self.headroom + bytes.count)
            storage.append(contentsOf: bytes)
            isBinary = true
        }
        self.storage = storage
    }

    /// Payload size (without the headroom).
    var payloadCount: Int { storage.count - Self.headroom }

    /// Writes the frame with `lws_write`; returns false when the connection failed. Service thread only.
    mutating func write(to wsi: OpaquePointer) -> Bool {
        let count = payloadCount
        let mode = isBinary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT
        let written = storage.withUnsafeMutableBufferPointer { buffer in
            lws_write(wsi, buffer.baseAddress! + Self.headroom, count, mode)
        }
        return Int(written) >= count
    }
}

/// A bounded FIFO of frames waiting for WRITEABLE callbacks (one frame per callback). Not thread-safe by itself:
/// it lives inside a mutex-protected state.
struct Outbox: Sendable {
    private var frames: [OutboundFrame] = []
    private var head = 0
    /// Payload bytes queued.
    private(set) var queuedBytes = 0
    /// Most payload bytes allowed in the queue.
    let limit: Int

    /// An empty outbox holding at most `limit` payload bytes.
    init(limit: Int) { self.limit = limit }

    /// Whether nothing is queued.
    var isEmpty: Bool { head == frames.count }

    /// Appends `frame`; returns false (and queues nothing) when it would exceed the limit.
    mutating func push(_ frame: OutboundFrame) -> Bool {
        guard queuedBytes + frame.payloadCount <= limit else { return false }
        frames.append(frame)
        queuedBytes += frame.payloadCount
        return true
    }

    /// Removes and returns the oldest frame.
    mutating func pop() -> OutboundFrame? {
        guard head < frames.count else { return nil }
        let frame = frames[head]
        frames[head].storage = []
        head += 1
        queuedBytes -= frame.payloadCount
        if head == frames.count {
            frames.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64, head * 2 >= frames.count {
            frames.removeFirst(head)
            head = 0
        }
        return frame
    }

    /// Drops everything queued.
    mutating func removeAll() {
        frames = []
        head = 0
        queuedBytes = 0
    }
}
