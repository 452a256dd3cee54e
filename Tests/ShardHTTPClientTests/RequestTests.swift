import ShardHTTPClient
import Testing

@Suite("CurlHTTPClient requests", .timeLimit(.minutes(1)))
struct RequestTests {
    @Test("GET sends the query and headers; response headers come back lowercased")
    func getEcho() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = CurlHTTPClient()
        defer { client.shutdown() }

        let response = try await client.get(fixture.url("/echo?name=a%20b&n=1"), headers: ["X-Test": "hello"])
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "text/plain")
        #expect(response.headers["x-echo"] == "1")
        #expect(response.headers["content-length"] == String(response.body.count))
        let lines = response.text.split(separator: "\n").map(String.init)
        #expect(lines.first == "GET /echo")
        #expect(lines.contains("q:name=a b"))
        #expect(lines.contains("q:n=1"))
        #expect(lines.contains("h:x-test=hello"))
    }

    @Test("POST sends the body as is, JSON content type by default, no Expect: 100-continue")
    func postEcho() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = CurlHTTPClient()
        defer { client.shutdown() }

        let body = Array(#"{"hello": "world", "bytes": "\u00e9"}"#.utf8) + [0, 255, 10]
        let response = try await client.post(fixture.url("/echo"), body: body)
        #expect(response.status == 200)
        #expect(response.text.hasPrefix("POST /echo\n"))
        #expect(response.text.contains("h:content-type=application/json"))
        #expect(!response.text.contains("h:expect"))
        #expect(response.body.suffix(body.count).elementsEqual(body))

        let plain = try await client.post(fixture.url("/echo"), body: Array("x".utf8),
                                          headers: ["Content-Type": "text/plain"])
        #expect(plain.text.contains("h:content-type=text/plain"))
        #expect(plain.text.hasSuffix("\n\nx"))

        let empty = try await client.post(fixture.url("/echo?empty=1"), body: [])
        #expect(empty.status == 200)
        #expect(empty.text.contains("q:empty=1"))
        #expect(empty.text.hasSuffix("\n\n"), "no body after the echo header")
    }

    @Test("404 and 503 are data: status, headers and body come back, no error")
    func statusIsData() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = CurlHTTPClient()
        defer { client.shutdown() }

        let unavailable = try await client.get(fixture.url("/status?code=503"))
        #expect(unavailable.status == 503)
        #expect(unavailable.headers["retry-after"] == "7")
        #expect(unavailable.text == "status 503")

        let missing = try await client.get(fixture.url("/nowhere"))
        #expect(missing.status == 404)
        #expect(missing.headers["content-type"] == "application/json")
        #expect(missing.text == #"{"ok": false}"#)

        let posted = try await client.post(fixture.url("/status?code=429"), body: Array("{}".utf8))
        #expect(posted.status == 429)
    }

    @Test("keep-alive: 10 sequential requests on one client open one connection")
    func keepAlive() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = CurlHTTPClient()
        defer { client.shutdown() }

        for index in 0 ..< 10 {
            let response = index.isMultiple(of: 2)
                ? try await client.get(fixture.url("/echo?n=\(index)"))
                : try await client.post(fixture.url("/echo?n=\(index)"), body: Array("body \(index)".utf8))
            #expect(response.status == 200)
            #expect(response.text.contains("q:n=\(index)"))
        }
        #expect(client.connectionsOpened == 1)
    }

    @Test("20 clients in parallel, 5 requests each")
    func parallelClients() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let clients = (0 ..< 20).map { _ in CurlHTTPClient() }
        defer { clients.forEach { $0.shutdown() } }

        let answers = try await withThrowingTaskGroup(of: Int.self) { group in
            for (clientIndex, client) in clients.enumerated() {
                group.addTask {
                    var good = 0
                    for request in 0 ..< 5 {
                        let tag = "c\(clientIndex)r\(request)"
                        let response = try await client.post(fixture.url("/echo?tag=\(tag)"), body: Array(tag.utf8))
                        if response.status == 200, response.text.contains("q:tag=\(tag)"), response.text.hasSuffix(tag) {
                            good += 1
                        }
                    }
                    return good
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(answers == 100)
        #expect(clients.allSatisfy { (1 ... 5).contains($0.connectionsOpened) })
    }
}
