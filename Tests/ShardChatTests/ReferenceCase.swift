import Foundation
import ShardChat
import Testing

/// One render from `Fixtures/reference/chat-renders.json`, written by `scripts/reference/make_chat_references.py`
/// with real jinja2.
struct ReferenceCase: Decodable, CustomTestStringConvertible {
    struct Message: Decodable {
        let role: String
        let content: String
    }

    struct ExpectedError: Decodable {
        let kind: String
        let message: String
    }

    let name: String
    let template: String
    let messages: [Message]
    let add_generation_prompt: Bool
    let bos_token: String
    let eos_token: String
    let extra: TypedValue
    let expected: String?
    let error: ExpectedError?

    var testDescription: String { name }

    var chatMessages: [ChatMessage] { messages.map { ChatMessage(role: $0.role, content: $0.content) } }
}

/// The script's type-tagged value encoding (`{"int": 1}`, `{"object": [[key, value], ...]}`), which keeps dict
/// order and tells bools from ints.
indirect enum TypedValue: Decodable {
    case value(ChatTemplateValue)

    private enum Key: String, CodingKey { case object, array, bool, int, double, string, none }

    private struct Pair: Decodable {
        let key: String
        let value: TypedValue
        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            key = try container.decode(String.self)
            value = try container.decode(TypedValue.self)
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        if let pairs = try container.decodeIfPresent([Pair].self, forKey: .object) {
            self = .value(.object(pairs.map { ChatTemplateValue.Member($0.key, $0.value.chatValue) }))
        } else if let items = try container.decodeIfPresent([TypedValue].self, forKey: .array) {
            self = .value(.array(items.map(\.chatValue)))
        } else if let b = try container.decodeIfPresent(Bool.self, forKey: .bool) {
            self = .value(.bool(b))
        } else if let i = try container.decodeIfPresent(Int.self, forKey: .int) {
            self = .value(.int(i))
        } else if let d = try container.decodeIfPresent(Double.self, forKey: .double) {
            self = .value(.double(d))
        } else if let s = try container.decodeIfPresent(String.self, forKey: .string) {
            self = .value(.string(s))
        } else {
            self = .value(.none)
        }
    }

    var chatValue: ChatTemplateValue {
        switch self { case .value(let v): v }
    }

    /// The top-level object as render's `extraContext`.
    var context: [String: ChatTemplateValue] {
        guard case .object(let members) = chatValue else { return [:] }
        return Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
    }
}

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func template(_ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent("chat-templates/\(name)"), encoding: .utf8)
    }

    /// The instant the reference script's `strftime_now` sees: 2025-03-14 09:26:53 UTC.
    static let fixedDate = Date(timeIntervalSince1970: 1_741_944_413)

    static let referenceCases: [ReferenceCase] = {
        struct Document: Decodable { let cases: [ReferenceCase] }
        let url = root.appendingPathComponent("reference/chat-renders.json")
        guard let data = try? Data(contentsOf: url),
            let document = try? JSONDecoder().decode(Document.self, from: data)
        else { return [] }
        return document.cases
    }()
}
