/// Identifies one server-side exchange: a WebSocket connection, or one HTTP request.
///
/// A keep-alive HTTP connection carries several requests; each gets its own ID, so a late ``HTTPWebSocketServer/respond(_:to:)``
/// can never answer the wrong request. IDs are never reused within one server.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    /// The numeric value, unique per server.
    public let rawValue: UInt64

    /// Wraps a raw value (tests and logs; the server allocates IDs itself).
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// `conn-N`.
    public var description: String { "conn-\(rawValue)" }
}
