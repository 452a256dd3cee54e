@testable import ShardHTTPClient
import Testing

@Suite("Response parsing")
struct ResponseSinkTests {
    private func feed(_ sink: ResponseSink, _ line: String) {
        Array(line.utf8).withUnsafeBytes { sink.headerLine($0) }
    }

    @Test("header names are lowercased, values trimmed, the last repeated header wins, a new status line resets")
    func headers() {
        let sink = ResponseSink()
        feed(sink, "HTTP/1.1 100 Continue\r\n")
        feed(sink, "X-Early: 1\r\n")
        feed(sink, "HTTP/1.1 200 OK\r\n")
        feed(sink, "Content-Type:  text/plain \r\n")
        feed(sink, "Set-Cookie: a=1\r\n")
        feed(sink, "SET-COOKIE: b=2\r\n")
        feed(sink, "X-Colon: a:b\r\n")
        feed(sink, "\r\n")
        #expect(sink.headers == ["content-type": "text/plain", "set-cookie": "b=2", "x-colon": "a:b"])
    }

    @Test("timeouts round up to whole milliseconds, never 0")
    func milliseconds() {
        #expect(Duration.milliseconds(300).curlMilliseconds == 300)
        #expect(Duration.microseconds(1).curlMilliseconds == 1)
        #expect(Duration.zero.curlMilliseconds == 1)
        #expect(Duration.seconds(-5).curlMilliseconds == 1)
        #expect(Duration.nanoseconds(1_500_000).curlMilliseconds == 2)
        #expect(Duration.seconds(Int64.max).curlMilliseconds == Int(Int32.max))
    }
}
