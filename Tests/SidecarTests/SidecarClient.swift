import Foundation
import ShardNetworking
import ShardProtocol
import ShardTestSupport

/// Test helpers that speak PROTOCOL.md to a sidecar process: raw HTTP for polling, `WebSocketClient` for streams.
struct SidecarClient {
    let port: Int
    var headers: [String: String] = [:]

    func request(_ method: String, _ target: String, body: String? = nil) throws -> RawHTTPResponse {
        let socket = try RawSocket(port: port, timeoutSeconds: 60)
        var allHeaders = headers
        if body != nil { allHeaders["Content-Type"] = "application/json" }
        return try socket.request(method, target, headers: allHeaders, body: Array((body ?? "").utf8))
    }

    func json(_ method: String, _ target: String, body: String? = nil) throws -> (Int, JSONValue) {
        let response = try request(method, target, body: body)
        return (response.status, JSONValue.decode(response.body) ?? .null)
    }

    /// Waits (bounded) until `/ready` answers 200.
    func waitUntilReady() throws {
        guard waitUntil(timeout: 60, { (try? request("GET", "/ready").status) == 200 }) else {
            throw SidecarProcessError(message: "sidecar on port \(port) not ready after 60 s")
        }
    }

    /// The result of one generation: concatenated text, token ids and the final event.
    struct Generation {
        var text = ""
        var tokenIDs: [Int] = []
        var final: JSONValue = .null
        var finishReason: String? { final["finish_reason"]?.stringValue }
        var completionTokens: Int? { final["usage"]?["completion_tokens"]?.intValue }
    }

    /// Submits with `/broadcast-work` and reads `/pop-result` with long-polls until the final event.
    func generateByPolling(_ body: [String: JSONValue]) throws -> Generation {
        let id = body["request_id"]?.stringValue ?? "poll-\(UUID().uuidString)"
        var object = body
        object["request_id"] = .string(id)
        let (status, answer) = try json("POST", "/broadcast-work", body: JSONValue.object(object).encodedString())
        guard status == 202 else { throw SidecarProcessError(message: "broadcast-work \(status): \(answer)") }
        var generation = Generation()
        let socket = try RawSocket(port: port, timeoutSeconds: 60)
        while true {
            let response = try socket.request("GET", "/pop-result?request_id=\(id)&max=64&wait_ms=10000",
                                              headers: headers)
            guard response.status == 200, case let .array(events)? = JSONValue.decode(response.body)?["results"] else {
                throw SidecarProcessError(message: "pop-result \(response.status): \(response.text)")
            }
            for event in events {
                if event["done"] == .bool(true) {
                    generation.final = event
                    return generation
                }
                generation.text += event["token"]?.stringValue ?? ""
                generation.tokenIDs.append(event["token_id"]?.intValue ?? -1)
            }
        }
    }

    /// Streams one request over `/ws/generate`.
    func generateByWebSocket(_ body: [String: JSONValue]) async throws -> Generation {
        let client = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(port)/ws/generate", headers: headers)
        defer { client.close() }
        try client.send(.text(JSONValue.object(body).encodedString()))
        var generation = Generation()
        for try await message in client.messages {
            guard case let .text(text) = message, let event = JSONValue.decode(Array(text.utf8)) else { continue }
            if event["event"] != nil {
                generation.final = event
                return generation
            }
            generation.text += event["token"]?.stringValue ?? ""
            generation.tokenIDs.append(event["token_id"]?.intValue ?? -1)
        }
        throw SidecarProcessError(message: "the WebSocket closed before the final event")
    }

    /// One greedy request per prompt, all streaming at once, each on its own WebSocket; the texts in prompt order.
    func generateConcurrently(_ prompts: [String], maxNewTokens: Int) async throws -> [String] {
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (index, prompt) in prompts.enumerated() {
                group.addTask {
                    (index, try await generateByWebSocket(requestBody(prompt, maxNewTokens: maxNewTokens)).text)
                }
            }
            var texts = [String](repeating: "", count: prompts.count)
            for try await (index, text) in group { texts[index] = text }
            return texts
        }
    }
}

/// A generation request body.
func requestBody(_ prompt: String, maxNewTokens: Int, extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
    var body: [String: JSONValue] = ["prompt": .string(prompt), "max_new_tokens": .int(Int64(maxNewTokens))]
    for (key, value) in extra { body[key] = value }
    return body
}

