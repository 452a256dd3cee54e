@testable import ShardNetworking
import ShardTestSupport
import Testing

/// The front door's check of a connection's first request head (RFC 9112), alone and on a live server.
@Suite("Request heads: checked before libwebsockets")
struct RequestHeadTests {
    static func examine(_ text: String, limit: Int = 1024) -> RequestHead.Verdict {
        RequestHead.examine(Array(text.utf8), limit: limit)
    }

    static func refusal(_ text: String, limit: Int = 1024) -> (Int, String)? {
        if case let .refuse(status, code, _) = examine(text, limit: limit) { return (status, code) }
        return nil
    }

    @Test func goodHeadsPassUnchangedAndIncompleteOnesWait() {
        #expect(Self.examine("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            == .accept(.init(length: 33, rewritten: nil, hasBody: false)))
        #expect(Self.examine("POST /broadcast-work HTTP/1.1\r\nContent-Length: 12\r\n\r\n{\"prompt\"")
            == .accept(.init(length: 53, rewritten: nil, hasBody: true)))
        #expect(Self.examine("POST /x HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
            == .accept(.init(length: 39, rewritten: nil, hasBody: false)))
        #expect(Self.examine("GET /health HTTP/1.1\r\nHost: x\r\n") == .incomplete)
        #expect(Self.examine("GET /hea") == .incomplete)
    }

    @Test func anAbsoluteFormTargetIsRewrittenToItsPath() {
        let head = "GET http://example.com:9091/pop-result?request_id=a HTTP/1.1\r\nHost: x\r\n\r\n"
        guard case let .accept(accepted) = Self.examine(head) else {
            Issue.record("absolute-form must be accepted")
            return
        }
        #expect(accepted.rewritten.map { String(decoding: $0, as: UTF8.self) }
            == "GET /pop-result?request_id=a HTTP/1.1\r\nHost: x\r\n\r\n")
        guard case let .accept(root) = Self.examine("GET HTTPS://host HTTP/1.1\r\n\r\n") else {
            Issue.record("absolute-form without a path must be accepted")
            return
        }
        #expect(root.rewritten.map { String(decoding: $0, as: UTF8.self) } == "GET / HTTP/1.1\r\n\r\n")
    }

    @Test(arguments: [
        ("GARBAGE\r\n\r\n", 400),
        ("\u{16}\u{03}\u{01}\u{02}\u{00}\r\n\r\n", 400),
        ("GET  /two-spaces HTTP/1.1\r\n\r\n", 400),
        ("GET ftp://x/ HTTP/1.1\r\n\r\n", 400),
        ("GET * HTTP/1.1\r\n\r\n", 400),
        ("GET /a%00b HTTP/1.1\r\n\r\n", 400),
        ("GET /a%zz HTTP/1.1\r\n\r\n", 400),
        ("GET /a% HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\n\r\n", 505),
        ("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nX: a\u{00}b\r\n\r\n", 400),
        ("GET / HTTP/1.1\nHost: x\n\n", 400),
    ])
    func malformedHeadsAreRefusedWithAStatus(head: String, status: Int) {
        #expect(Self.refusal(head)?.0 == status, "\(head.debugDescription)")
    }

    @Test func aHeadThatCannotFitIsRefusedBeforeItEnds() {
        let big = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 2000)
        #expect(Self.refusal(big)?.1 == "headers_too_large")
        #expect(Self.refusal("GARBAGE LINE WITHOUT END")?.0 == nil, "nothing wrong yet")
        #expect(Self.refusal("GARBAGE\r\nmore")?.0 == 400, "a bad request line is refused once it is complete")
    }

    /// Defect 11 of the reliability issue: these were an HTML 403 or a silent close from libwebsockets.
    @Test func aLiveServerAnswersMalformedHeadsWithItsJSONErrors() throws {
        let fixture = try TestServer { $0.requestHeadTimeoutSeconds = 0.5 }
        defer { fixture.server.shutdown() }
        let cases: [(String, Int, String)] = [
            ("GARBAGE\r\n\r\n", 400, "bad_request"),
            ("GET /echo?x=%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
            ("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 64 << 10))\r\n\r\n", 431,
             "headers_too_large"),
            ("GET / HTTP/3.0\r\n\r\n", 505, "http_version_not_supported"),
        ]
        for (head, status, code) in cases {
            let socket = try RawSocket(port: fixture.port)
            try socket.send(head)
            let response = try socket.readResponse()
            #expect(response.status == status, "\(head.prefix(40).debugDescription)")
            #expect(response.headers["content-type"] == "application/json")
            #expect(response.text.contains("\"code\": \"\(code)\""), "\(response.text)")
        }
        // An absolute-form target reaches the handler as its path.
        let absolute = try RawSocket(port: fixture.port)
        try absolute.send("GET http://127.0.0.1/echo?via=absolute HTTP/1.1\r\nHost: x\r\n\r\n")
        let echoed = try absolute.readResponse()
        #expect(echoed.status == 200 && echoed.text.contains("q:via=absolute"))
        // A head sent a byte at a time still works; one that never ends is answered 408.
        let slow = try RawSocket(port: fixture.port)
        for byte in "GET /echo?slow=1 HTTP/1.1\r\nHost: x\r\n\r\n".utf8 { try slow.send([byte]) }
        #expect(try slow.readResponse().text.contains("q:slow=1"))
        let stalled = try RawSocket(port: fixture.port)
        try stalled.send("GET /echo HTTP/1.1\r\nHost:")
        #expect(try stalled.readResponse().status == 408)
        // A body after an accepted head is read by the server as before (keep-alive included).
        let post = try RawSocket(port: fixture.port)
        for index in 0 ..< 2 {
            #expect(try post.request("POST", "/echo", body: Array("body \(index)".utf8)).text.hasSuffix("body \(index)"))
        }
    }
}
