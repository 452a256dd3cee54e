/// A client-chosen request identifier: 1-128 characters of `[A-Za-z0-9._:-]`.
public struct RequestID: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The identifier text.
    public let rawValue: String

    /// Validates `rawValue`; returns `nil` when it is empty, longer than 128 characters or has other characters.
    public init?(_ rawValue: String) {
        guard (1 ... 128).contains(rawValue.utf8.count),
              rawValue.utf8.allSatisfy({ Self.allowed.contains($0) })
        else { return nil }
        self.rawValue = rawValue
    }

    /// A fresh identifier with the given prefix and a random UUID, e.g. `sdk-1F3A...`.
    public static func random(prefix: String) -> RequestID {
        RequestID("\(prefix)-\(UUIDText.random())")!
    }

    private static let allowed: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-".utf8))

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = RequestID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad request id"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Random RFC 4122 version-4 UUID text without Foundation.
enum UUIDText {
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0 ..< 16).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
        return [hex[0 ..< 4], hex[4 ..< 6], hex[6 ..< 8], hex[8 ..< 10], hex[10 ..< 16]].map { $0.joined() }
            .joined(separator: "-")
    }
}
