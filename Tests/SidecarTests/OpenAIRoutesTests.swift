import Foundation
import ShardProtocol
import ShardTestSupport
import Testing

/// The OpenAI-compatible routes on the wire, as curl sees them: server-sent events exactly as OpenAI sends them,
/// errors in OpenAI's shape, and a client that leaves cancelling its request. (The official `openai` package is
/// checked in `RealModelServingTests`.)
@Suite("OpenAI-compatible routes, raw", .serialized, .timeLimit(.minutes(3)))
struct OpenAIRoutesTests {
    static func post(_ port: Int, _ path: String, _ body: String, headers: [String: String] = [:]) throws -> RawSocket {
        let socket = try RawSocket(port: port)
        var request = "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        try socket.send(request + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
        return socket
    }

    /// The JSON of every `data:` event, and whether the stream ended with `data: [DONE]`.
    static func events(_ body: [UInt8]) -> (events: [JSONValue], done: Bool) {
        let blocks = String(decoding: body, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }
        let payloads = blocks.map { $0.hasPrefix("data: ") ? String($0.dropFirst(6)) : "?" + $0 }
        return (payloads.dropLast().compactMap { JSONValue.decode(Array($0.utf8)) }, payloads.last == "[DONE]")
    }

    @Test func streamedCompletionsAreServerSentEventsThatAddUpToTheAnswer() throws {
        let sidecar = try SidecarProcess(["serve", "--port", "0"])
        defer { sidecar.stop() }
        let body = #"{"prompt": "And God said,", "max_tokens": 20, "temperature": 0"#
        let whole = try Self.post(sidecar.port, "/v1/completions", body + "}").readResponse()
        #expect(whole.status == 200)
        let answer = try #require(JSONValue.decode(whole.body))
        #expect(answer["object"] == .string("text_completion"))
        let text = try #require(answer["choices"]?[0]?["text"]?.stringValue)
        #expect(text == (try completeReference(prompt: "And God said,", maxNewTokens: 20)))

        let socket = try Self.post(sidecar.port, "/v1/completions",
                                   body + #", "stream": true, "stream_options": {"include_usage": true}}"#)
        let head = try socket.readHead()
        #expect(head.status == 200 && head.headers["content-type"] == "text/event-stream")
        let (events, done) = Self.events(try socket.readUntilClose())
        #expect(done, "the stream ends with data: [DONE]")
        let pieces = events.compactMap { $0["choices"]?[0]?["text"]?.stringValue }
        #expect(pieces.joined() == text)
        #expect(events.dropLast().last?["choices"]?[0]?["finish_reason"] == .string("length"))
        #expect(events.last?["choices"] == .array([]), "the usage chunk has no choices")
        #expect(events.last?["usage"]?["completion_tokens"] == .int(20))
        #expect(Set(events.compactMap { $0["id"]?.stringValue }).count == 1, "one id for every chunk")
    }

    /// `POST /v1/responses` answers once done (or at once with `background`, then `GET /v1/responses/ID` until done),
    /// echoing the metadata.
    @Test func responsesAreCreatedAndReadBack() throws {
        let sidecar = try SidecarProcess(["serve", "--port", "0"])
        defer { sidecar.stop() }
        let client = SidecarClient(port: sidecar.port)
        let expected = try completeReference(prompt: "And God said,", maxNewTokens: 10)
        let body = #"{"input": "And God said,", "max_output_tokens": 10, "temperature": 0, "metadata": {"job": "7"}"#
        let done = try #require(JSONValue.decode(try Self.post(sidecar.port, "/v1/responses", body + "}").readResponse().body))
        #expect(done["status"] == .string("completed") && done["output_text"] == .string(expected))
        #expect(done["metadata"]?["job"] == .string("7") && done["usage"]?["output_tokens"] == .int(10))
        let queued = try #require(JSONValue.decode(
            try Self.post(sidecar.port, "/v1/responses", body + #", "background": true}"#).readResponse().body))
        let id = try #require(queued["id"]?.stringValue)
        #expect(waitUntil { (try? client.json("GET", "/v1/responses/\(id)").1["status"]) == .string("completed") })
        #expect(try client.json("GET", "/v1/responses/\(id)").1["output_text"] == .string(expected))
        #expect(try client.request("GET", "/v1/responses/resp-unknown").status == 404)
    }

    @Test func errorsHaveOpenAIsShape() throws {
        let sidecar = try SidecarProcess(["serve", "--port", "0", "--api-key", "k"])
        defer { sidecar.stop() }
        let cases: [(String, String, [String: String], Int, String?)] = [
            ("/v1/completions", #"{"prompt": "x"}"#, [:], 401, nil),
            ("/v1/completions", "{nope", ["Authorization": "Bearer k"], 400, nil),
            ("/v1/completions", #"{"prompt": "x", "max_tokens": 0}"#, ["Authorization": "Bearer k"], 400, "max_tokens"),
            ("/v1/completions", #"{"prompt": "x", "logprobs": 2}"#, ["Authorization": "Bearer k"], 400, "logprobs"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "x"}]}"#, ["Authorization": "Bearer k"],
             400, "messages"),
            ("/v1/completions", #"{"model": "gpt-4", "prompt": "x"}"#, ["Authorization": "Bearer k"], 404, "model"),
        ]
        for (path, body, headers, status, param) in cases {
            let response = try Self.post(sidecar.port, path, body, headers: headers).readResponse()
            #expect(response.status == status, "\(path) \(body)")
            let error = JSONValue.decode(response.body)?["error"]
            #expect(error?["message"]?.stringValue?.isEmpty == false, "\(body): \(response.text)")
            #expect(error?["type"]?.stringValue != nil)
            if let param { #expect(error?["param"] == .string(param), "\(body): \(response.text)") }
        }
    }

    /// A client that leaves mid-answer, streamed or not, cancels its request and frees the shard. SmolLM2 rather than
    /// the fixture: the fixture writes all 250 tokens within the 250 ms in which the sidecar notices a silent client.
    @Test func aClientThatLeavesCancelsItsRequest() throws {
        let model = try RealModels.path("SmolLM2-135M-Instruct.Q4_1.gguf")
        let peer = try SidecarProcess(["peer", "--model", model, "--layers", "0:30", "--port", "0"])
        defer { peer.resume(); peer.stop() }
        let sidecar = try SidecarProcess(["serve", "--model", model, "--local-shards", "0",
                                          "--peer", "ws://127.0.0.1:\(peer.port)/peer", "--port", "0"])
        defer { sidecar.stop() }
        let client = SidecarClient(port: sidecar.port)
        try client.waitUntilReady()
        for stream in [true, false] {
            peer.pause()  // nothing is generated until the client has left
            let socket = try Self.post(sidecar.port, "/v1/completions",
                                       #"{"prompt": "And", "max_tokens": 250, "min_tokens": 250, "stream": \#(stream)}"#)
            #expect(waitUntil {
                (try? client.request("GET", "/metrics").text.contains(#"shard_requests{state="running"} 1"#)) == true
            })
            Glibc.shutdown(socket.fd, Int32(SHUT_RDWR))
            peer.resume()
            #expect(waitUntil {
                (try? client.request("GET", "/metrics").text.contains(#"shard_requests_finished_total{reason="cancelled"} \#(stream ? 1 : 2)"#)) == true
            }, "stream: \(stream)")
        }
    }
}

extension JSONValue {
    /// Element `index` of an array.
    fileprivate subscript(index: Int) -> JSONValue? {
        if case let .array(items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }
}
