import Foundation

/// Why a generation ended, as sent in `finish_reason`.
public enum FinishReason: String, Sendable, Codable, CaseIterable {
    /// `max_new_tokens` reached (or the model's context filled up).
    case length
    /// A stop string matched.
    case stop
    /// The model produced end-of-sequence.
    case eos
    /// The client cancelled.
    case cancelled
    /// The request failed; the event carries an error.
    case error
}

/// Token counts of a finished request.
public struct Usage: Sendable, Equatable, Codable {
    /// Prompt length in the model's tokens.
    public var promptTokens: Int
    /// Generated tokens.
    public var completionTokens: Int

    /// Creates usage figures.
    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    var json: JSONValue {
        .object(["prompt_tokens": .int(Int64(promptTokens)), "completion_tokens": .int(Int64(completionTokens))])
    }
}

/// One entry of a request's event log: a token, or the end.
public enum GenerationEvent: Sendable, Equatable {
    /// Text that became complete with token `tokenID`, the `index`-th generated token (text may be `""`).
    case token(text: String, tokenID: Int, index: Int)
    /// The request finished; `error` is set when `reason` is `.error`.
    case done(reason: FinishReason, usage: Usage, error: ProtocolError?)

    /// True for `.done`.
    public var isFinal: Bool {
        if case .done = self { return true }
        return false
    }

    /// The `result` object of `GET /pop-result`.
    public var pollJSON: JSONValue {
        switch self {
        case let .token(text, id, index):
            return .object(["token": .string(text), "token_id": .int(Int64(id)), "index": .int(Int64(index))])
        case let .done(reason, usage, error):
            var object: [String: JSONValue] = ["done": .bool(true), "finish_reason": .string(reason.rawValue),
                                               "usage": usage.json]
            if let error { object["error"] = Self.errorJSON(error) }
            return .object(object)
        }
    }

    /// The WebSocket message for this event.
    public func webSocketJSON(requestID: RequestID) -> JSONValue {
        var object: [String: JSONValue] = ["request_id": .string(requestID.rawValue)]
        switch self {
        case let .token(text, id, index):
            object["token"] = .string(text)
            object["token_id"] = .int(Int64(id))
            object["index"] = .int(Int64(index))
        case let .done(reason, usage, error):
            if let error, reason == .error {
                object["event"] = .string("error")
                object["error"] = Self.errorJSON(error)
            } else {
                object["event"] = .string("done")
                object["finish_reason"] = .string(reason.rawValue)
                object["usage"] = usage.json
            }
        }
        return .object(object)
    }

    /// The `error` object of PROTOCOL.md: code, message and field.
    public static func errorJSON(_ error: ProtocolError) -> JSONValue {
        var object: [String: JSONValue] = ["code": .string(error.code), "message": .string(error.message)]
        if let field = error.field { object["field"] = .string(field) }
        return .object(object)
    }
}

extension JSONValue {
    /// Compact JSON bytes with sorted keys. A `.double` keeps a fraction or exponent (`5.0`), so it reads back as a
    /// number, not an integer; a non-finite one (never produced by the protocol) is written `null`.
    public func encoded() -> [UInt8] {
        var output: [UInt8] = []
        write(to: &output)
        return output
    }

    private func write(to output: inout [UInt8]) {
        switch self {
        case .null: output += Array("null".utf8)
        case let .bool(value): output += Array((value ? "true" : "false").utf8)
        case let .int(value): output += Array(String(value).utf8)
        case let .double(value): output += Array((value.isFinite ? "\(value)" : "null").utf8)
        case let .string(text): Self.writeString(text, to: &output)
        case let .array(items):
            output.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                item.write(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case let .object(members):
            output.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.writeString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                members[key]!.write(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0 ..< 0x20:
                let hex = Array("0123456789abcdef".utf8)
                output += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Compact JSON text with sorted keys.
    public func encodedString() -> String { String(decoding: encoded(), as: UTF8.self) }

    /// Parses JSON bytes strictly (``JSONParser``: `1.0` is a number, not an integer; bounded nesting); `nil` when
    /// they are not one valid JSON document.
    public static func decode(_ bytes: [UInt8]) -> JSONValue? { try? JSONParser.parse(bytes) }

    /// The member `key` of an object.
    public subscript(key: String) -> JSONValue? {
        if case let .object(fields) = self { return fields[key] }
        return nil
    }

    /// The value as a string, when it is one.
    public var stringValue: String? {
        if case let .string(text) = self { return text }
        return nil
    }

    /// The value as a number (an integer or not), when it is one.
    public var doubleValue: Double? {
        switch self {
        case let .int(number): Double(number)
        case let .double(number): number
        default: nil
        }
    }

    /// The value as an integer, when it is one.
    public var intValue: Int? {
        if case let .int(number) = self { return Int(exactly: number) }
        return nil
    }
}
