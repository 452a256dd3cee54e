import Foundation
import ShardProtocol

/// One line of a `shard batch` input file: OpenAI's batch form `{"custom_id", "method", "url", "body"}` for
/// `/v1/chat/completions` and `/v1/completions`, or content only, `{"content": "..."}` (a one-message chat).
enum BatchLine: Sendable {
    /// A request to send: its id, route and body (with `--model` filled in where the line names none).
    case request(customID: String, url: String, body: JSONValue)
    /// A line that cannot be sent, and why (with its line number).
    case malformed(customID: String, message: String)

    var customID: String {
        switch self {
        case let .request(id, _, _), let .malformed(id, _): id
        }
    }

    static let routes: Set<String> = ["/v1/chat/completions", "/v1/completions"]

    /// Reads the non-empty lines of `text`; `number` is 1-based.
    static func parse(_ text: String, model: String?) -> [BatchLine] {
        var lines: [BatchLine] = []
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty else { continue }
            lines.append(parse(line, number: offset + 1, model: model))
        }
        return lines
    }

    static func parse(_ line: String, number: Int, model: String?) -> BatchLine {
        let fallbackID = "line-\(number)"
        guard let value = JSONValue.decode(Array(line.utf8)), case let .object(fields) = value else {
            return .malformed(customID: fallbackID, message: "line \(number): not a JSON object")
        }
        let customID = fields["custom_id"]?.stringValue ?? fallbackID
        if let content = fields["content"] {
            guard let text = content.stringValue, !text.isEmpty else {
                return .malformed(customID: customID, message: "line \(number): content must be a non-empty string")
            }
            var body: [String: JSONValue] = ["messages": .array([.object(["role": .string("user"), "content": .string(text)])])]
            if let model { body["model"] = .string(model) }
            return .request(customID: customID, url: "/v1/chat/completions", body: .object(body))
        }
        guard let url = fields["url"]?.stringValue, routes.contains(url) else {
            return .malformed(customID: customID,
                              message: "line \(number): url must be /v1/chat/completions or /v1/completions")
        }
        guard (fields["method"]?.stringValue ?? "POST").uppercased() == "POST" else {
            return .malformed(customID: customID, message: "line \(number): method must be POST")
        }
        guard case var .object(body)? = fields["body"] else {
            return .malformed(customID: customID, message: "line \(number): body must be a JSON object")
        }
        if body["model"] == nil, let model { body["model"] = .string(model) }
        if body["stream"] == .bool(true) { body["stream"] = .bool(false) }
        return .request(customID: customID, url: url, body: .object(body))
    }
}

/// One line of the output: OpenAI's batch result form.
struct BatchResult: Sendable {
    var customID: String
    var status: Int?
    var body: JSONValue?
    var error: (code: String, message: String)?

    var failed: Bool { error != nil || (status ?? 500) >= 400 }

    /// Tokens the answer reports (for the rate on the progress line).
    var completionTokens: Int { body?["usage"]?["completion_tokens"]?.intValue ?? 0 }

    var json: JSONValue {
        .object([
            "custom_id": .string(customID),
            "response": status.map { .object(["status_code": .int(Int64($0)), "body": body ?? .null]) } ?? .null,
            "error": error.map { .object(["code": .string($0.code), "message": .string($0.message)]) } ?? .null,
        ])
    }

    init(customID: String, status: Int?, body: JSONValue?, error: (code: String, message: String)?) {
        self.customID = customID
        self.status = status
        self.body = body
        self.error = error
    }

    /// Reads a result back from the cache.
    init?(json: JSONValue) {
        guard let customID = json["custom_id"]?.stringValue, let response = json["response"],
              let status = response["status_code"]?.intValue else { return nil }
        self.init(customID: customID, status: status, body: response["body"], error: nil)
    }
}
