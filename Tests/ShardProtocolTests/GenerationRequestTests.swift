import Testing
@testable import ShardProtocol

@Suite("Generation request parsing and validation")
struct GenerationRequestTests {
    static func parse(_ json: String) throws(ProtocolError) -> GenerationRequest {
        try GenerationRequest.parse(Array(json.utf8))
    }

    static func field(of json: String, limits: RequestLimits = RequestLimits()) -> String? {
        do {
            try parse(json).validate(limits: limits)
            return nil
        } catch {
            return error.field ?? error.code
        }
    }

    @Test func parsesTheScaffoldBodyAndDefaults() throws {
        let request = try Self.parse("""
        {"request_id": "sdk-1", "prompt_context": "Hi", "input_token_ids": [1, 2, 3], "min_tokens": 1,
         "max_new_tokens": 64, "model": "shard/network-default", "unknown_field": {"x": 1}}
        """)
        #expect(request.requestID == RequestID("sdk-1"))
        #expect(request.prompt == "Hi")
        #expect(request.inputTokenIDs == [1, 2, 3])
        #expect(request.maxNewTokens == 64)
        #expect(request.temperature == 0)
        #expect(request.topP == 1)
        let defaults = try Self.parse(#"{"prompt": "Hello"}"#)
        #expect(defaults.prompt == "Hello")
        #expect(defaults.maxNewTokens == 128)
        #expect(defaults.minTokens == 1)
        #expect(defaults.requestID == nil)
    }

    @Test func parsesSamplingAndStop() throws {
        let request = try Self.parse(#"{"prompt": "x", "temperature": 0.7, "top_k": 40, "top_p": 0.9, "seed": 42, "stop": ["\n", "Amen"]}"#)
        #expect(request.temperature == 0.7)
        #expect(request.topK == 40)
        #expect(request.seed == 42)
        #expect(request.stop == ["\n", "Amen"])
        try request.validate(limits: RequestLimits())
    }

    @Test(arguments: [
        ("not json", "invalid_json"), ("[1, 2]", "invalid_json"), ("", "invalid_json"),
        (#"{"prompt": 5}"#, "prompt"), (#"{"prompt": "x", "max_new_tokens": "10"}"#, "max_new_tokens"),
        (#"{"prompt": "x", "max_new_tokens": 1.5}"#, "max_new_tokens"), (#"{"prompt": "x", "max_new_tokens": true}"#, "max_new_tokens"),
        (#"{"prompt": "x", "input_token_ids": [1, "2"]}"#, "input_token_ids"), (#"{"prompt": "x", "input_token_ids": 3}"#, "input_token_ids"),
        (#"{"prompt": "x", "request_id": ""}"#, "request_id"), (#"{"prompt": "x", "request_id": "has space"}"#, "request_id"),
        (#"{"prompt": "x", "stop": [1]}"#, "stop"), (#"{"prompt": "x", "seed": -1}"#, "seed"),
        (#"{"prompt": "x", "temperature": "hot"}"#, "temperature"), (#"{"prompt": "x", "stream": "yes"}"#, "stream"),
    ])
    func wrongTypesNameTheField(_ json: String, _ expected: String) {
        #expect(Self.field(of: json) == expected)
    }

    @Test func overlongRequestIDIsRejected() {
        let long = String(repeating: "a", count: 129)
        #expect(Self.field(of: #"{"prompt": "x", "request_id": "\#(long)"}"#) == "request_id")
        #expect(Self.field(of: #"{"prompt": "x", "request_id": "\#(String(long.dropFirst()))"}"#) == nil)
    }

    @Test(arguments: [
        (#"{"prompt": ""}"#, "prompt"), (#"{}"#, "prompt"), (#"{"input_token_ids": []}"#, "prompt"),
        (#"{"prompt": "x", "max_new_tokens": 0}"#, "max_new_tokens"), (#"{"prompt": "x", "max_new_tokens": 5000}"#, "max_new_tokens"),
        (#"{"prompt": "x", "max_new_tokens": 4, "min_tokens": 5}"#, "min_tokens"),
        (#"{"prompt": "x", "temperature": -0.1}"#, "temperature"), (#"{"prompt": "x", "top_p": 0}"#, "top_p"),
        (#"{"prompt": "x", "top_k": -3}"#, "top_k"), (#"{"prompt": "x", "stop": [""]}"#, "stop"),
        (#"{"prompt": "x", "tokenizer": "gpt2"}"#, "tokenizer"),
        // top_k is converted to UInt32: 2^32 and 1e10 once trapped the scheduler.
        (#"{"prompt": "x", "top_k": 4294967296}"#, "top_k"), (#"{"prompt": "x", "top_k": 1e10}"#, "top_k"),
    ])
    func outOfRangeValuesNameTheField(_ json: String, _ expected: String) {
        #expect(Self.field(of: json) == expected)
    }

    @Test func topKUpToUInt32MaxIsAccepted() {
        #expect(Self.field(of: #"{"prompt": "x", "top_k": 4294967295}"#) == nil)
    }

    @Test func capIsConfigurable() {
        #expect(Self.field(of: #"{"prompt": "x", "max_new_tokens": 100}"#, limits: RequestLimits(maxNewTokensCap: 64)) == "max_new_tokens")
        #expect(Self.field(of: #"{"prompt": "x", "max_new_tokens": 4096}"#) == nil)
    }

    @Test func errorBodyHasTheDocumentedShape() {
        var error = ProtocolError.invalid("max_new_tokens", "too big")
        error.requestID = "r1"
        #expect(error.body().encodedString()
            == #"{"error":{"code":"invalid_request","field":"max_new_tokens","message":"too big"},"ok":false,"request_id":"r1"}"#)
    }

    @Test func eventsEncodeAsDocumented() {
        let token = GenerationEvent.token(text: " next", tokenID: 42, index: 0)
        #expect(token.pollJSON.encodedString() == #"{"index":0,"token":" next","token_id":42}"#)
        let id = RequestID("r-1")!
        #expect(token.webSocketJSON(requestID: id).encodedString() == #"{"index":0,"request_id":"r-1","token":" next","token_id":42}"#)
        let done = GenerationEvent.done(reason: .eos, usage: Usage(promptTokens: 3, completionTokens: 5), error: nil)
        #expect(done.pollJSON.encodedString()
            == #"{"done":true,"finish_reason":"eos","usage":{"completion_tokens":5,"prompt_tokens":3}}"#)
        #expect(done.webSocketJSON(requestID: id).encodedString()
            == #"{"event":"done","finish_reason":"eos","request_id":"r-1","usage":{"completion_tokens":5,"prompt_tokens":3}}"#)
        let failed = GenerationEvent.done(reason: .error, usage: Usage(promptTokens: 3, completionTokens: 0),
                                          error: ProtocolError(status: 500, code: "peer_lost", message: "gone"))
        #expect(failed.webSocketJSON(requestID: id).encodedString()
            == #"{"error":{"code":"peer_lost","message":"gone"},"event":"error","request_id":"r-1"}"#)
        #expect(failed.pollJSON["error"]?["code"] == .string("peer_lost"))
    }

    @Test func randomRequestIDsAreValidAndDistinct() {
        let a = RequestID.random(prefix: "sdk"), b = RequestID.random(prefix: "sdk")
        #expect(a != b)
        #expect(a.rawValue.hasPrefix("sdk-"))
        #expect(a.rawValue.count == 40)
    }
}
