/// One complete WebSocket message (fragments are reassembled before delivery).
public enum WebSocketMessage: Sendable, Equatable {
    /// A text message (valid UTF-8 on the wire).
    case text(String)
    /// A binary message.
    case binary([UInt8])

    /// Payload size in bytes.
    public var byteCount: Int {
        switch self {
        case let .text(string): string.utf8.count
        case let .binary(bytes): bytes.count
        }
    }
}

/// What happened to a message handed to ``HTTPWebSocketServer/send(_:to:)``.
public enum SendResult: Sendable, Equatable {
    /// Queued for the service thread; it goes out in order.
    case queued
    /// The connection is gone or closing; the message was dropped.
    case closed
    /// The connection's outbox is full (the client reads too slowly): the message was dropped and the connection is
    /// being closed with 1008.
    case overloaded
}
