/// A text message a client sends on `/ws/generate` (docs/protocol.md, "WebSocket"): a generation request, or an
/// `event` naming what to do with one.
public enum WebSocketCommand: Sendable, Equatable {
    /// A generation request (its `request_id` may be absent: the sidecar then makes one).
    case generate(GenerationRequest)
    /// `{"event": "cancel", "request_id": ID}`.
    case cancel(RequestID)
    /// `{"event": "resume", "request_id": ID, "after": INDEX}`: the events after the token with index INDEX.
    case resume(RequestID, after: Int)

    /// Parses one text message.
    ///
    /// - Throws: ``ProtocolError`` 400: `invalid_json`, or `invalid_request` naming the field (`event`,
    ///   `request_id`, `after`, or a request field).
    public static func parse(_ body: [UInt8]) throws(ProtocolError) -> WebSocketCommand {
        guard let value = JSONValue.decode(body), let event = value["event"] else {
            return .generate(try GenerationRequest.parse(body))
        }
        let id = value["request_id"]?.stringValue.flatMap(RequestID.init)
        switch event.stringValue {
        case "cancel":
            guard let id else { throw .invalid("request_id", "cancel needs the request_id of a request of this connection") }
            return .cancel(id)
        case "resume":
            guard let id else { throw .invalid("request_id", "resume needs the request_id of the stream") }
            guard case let .int(after)? = value["after"], after >= -1, after < Int64(Int.max) else {
                throw .invalid("after", "after must be an integer >= -1: the index of the last token received")
            }
            return .resume(id, after: Int(after))
        default:
            let name = event.stringValue.map { "\"\($0.prefix(64))\"" } ?? event.typeName
            throw .invalid("event", "unknown event \(name); send cancel, resume or a request")
        }
    }
}
