/// The head (request line and header fields) of the first request on a connection, checked against RFC 9112 before
/// libwebsockets parses it. libwebsockets 4.1 answers some malformed heads with an HTML 403 and drops others without
/// a word (a head over its buffer, `%00` in the target); checked here, they get the server's JSON error instead, and
/// an absolute-form target (`GET http://host/path`), which servers must accept, is rewritten to the origin form
/// libwebsockets insists on. Public for the fuzz targets.
public enum RequestHead {
    /// A head that checked out.
    public struct Accepted: Equatable, Sendable {
        /// Bytes of the head, blank line included.
        public var length: Int
        /// The head in origin form, when the request line had to be rewritten; `nil` when it is fine as sent.
        public var rewritten: [UInt8]?
        /// A body follows (`Content-Length` above 0, or `Transfer-Encoding`).
        public var hasBody: Bool
    }

    /// What to do with the bytes read so far.
    public enum Verdict: Equatable, Sendable {
        /// The head is not complete yet and nothing is wrong so far.
        case incomplete
        /// Hand the connection to libwebsockets.
        case accept(Accepted)
        /// Answer with this error and close.
        case refuse(status: Int, code: String, message: String)
    }

    private static let crlf: [UInt8] = [13, 10]

    /// Examines the first `bytes` read from a connection; `limit` bounds the head (request line, fields, the blank
    /// line).
    public static func examine(_ bytes: [UInt8], limit: Int) -> Verdict {
        let firstLineEnd = find(crlf, in: bytes, from: 0)
        // A complete head holds a CRLF, so its request line has ended.
        guard let headEnd = endOfHead(bytes), let lineEnd = firstLineEnd else {
            // Refuse a bad request line as soon as it is complete, and a head that cannot fit.
            if let firstLineEnd, case let .refuse(refusal) = requestLine(bytes[..<firstLineEnd]) { return refusal }
            if bytes.count >= limit { return tooLarge(limit) }
            if firstLineEnd == nil, bytes.contains(10) {
                return .refuse(status: 400, code: "bad_request", message: "lines of a request head end with CRLF")
            }
            return .incomplete
        }
        guard headEnd <= limit else { return tooLarge(limit) }
        let requestLine: [UInt8]
        switch Self.requestLine(bytes[..<lineEnd]) {
        case let .refuse(refusal): return refusal
        case let .valid(line): requestLine = line
        }
        var start = lineEnd + 2
        var hasBody = false
        while start < headEnd - 2 {
            let end = find(crlf, in: bytes, from: start)!
            let line = bytes[start ..< end]
            if let problem = fieldProblem(line) { return .refuse(status: 400, code: "bad_request", message: problem) }
            let text = String(decoding: line, as: UTF8.self).lowercased()
            if text.hasPrefix("transfer-encoding:") { hasBody = true }
            if text.hasPrefix("content-length:"), Int(text.dropFirst(15).filter { $0 != " " && $0 != "\t" }) != 0 {
                hasBody = true
            }
            start = end + 2
        }
        let rewritten = requestLine.elementsEqual(bytes[..<lineEnd]) ? nil : requestLine + bytes[lineEnd ..< headEnd]
        return .accept(Accepted(length: headEnd, rewritten: rewritten, hasBody: hasBody))
    }

    private static func tooLarge(_ limit: Int) -> Verdict {
        .refuse(status: 431, code: "headers_too_large", message: "the request head exceeds \(limit) bytes")
    }

    /// A request line checked: valid (in origin form), or the refusal.
    private enum LineCheck {
        case valid([UInt8])
        case refuse(Verdict)
    }

    /// Checks a request line.
    private static func requestLine(_ line: ArraySlice<UInt8>) -> LineCheck {
        let parts = line.split(separator: 32, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenCharacter) else {
            return .refuse(.refuse(status: 400, code: "bad_request", message: "malformed request line"))
        }
        let version = Array(parts[2])
        guard version == Array("HTTP/1.1".utf8) || version == Array("HTTP/1.0".utf8) else {
            if version.count == 8, version.starts(with: Array("HTTP/".utf8)) {
                return .refuse(.refuse(status: 505, code: "http_version_not_supported",
                                       message: "this server speaks HTTP/1.1"))
            }
            return .refuse(.refuse(status: 400, code: "bad_request", message: "malformed request line"))
        }
        var target = Array(parts[1])
        guard !target.isEmpty, target.allSatisfy({ (0x21 ... 0x7E).contains($0) }) else {
            return .refuse(.refuse(status: 400, code: "bad_request",
                                   message: "the request target has spaces or control bytes"))
        }
        if target.first != UInt8(ascii: "/") {
            guard let path = originForm(ofAbsolute: target) else {
                return .refuse(.refuse(status: 400, code: "bad_request",
                                       message: "the request target must be a path (/...) or an absolute http URL"))
            }
            target = path
        }
        if let problem = escapeProblem(target) {
            return .refuse(.refuse(status: 400, code: "bad_request", message: problem))
        }
        var valid = Array(parts[0])
        valid.append(32)
        valid += target
        valid.append(32)
        valid += version
        return .valid(valid)
    }

    /// `/path?query` of `http://authority/path?query` (`https` too); `nil` when `target` is not such a URL.
    private static func originForm(ofAbsolute target: [UInt8]) -> [UInt8]? {
        let text = String(decoding: target, as: UTF8.self)
        let lowered = text.lowercased()
        guard let scheme = ["http://", "https://"].first(where: lowered.hasPrefix) else { return nil }
        let rest = text.dropFirst(scheme.count)
        guard let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else {
            return rest.isEmpty ? nil : Array("/".utf8)
        }
        guard authorityEnd != rest.startIndex else { return nil }
        let path = rest[authorityEnd...]
        return Array((path.first == "?" ? "/" + path : String(path)).utf8)
    }

    /// Percent-escapes must be two hex digits and must not encode NUL.
    private static func escapeProblem(_ target: [UInt8]) -> String? {
        var index = 0
        while index < target.count {
            if target[index] == UInt8(ascii: "%") {
                guard index + 2 < target.count, let high = hexValue(target[index + 1]), let low = hexValue(target[index + 2])
                else { return "a percent-escape in the request target is not two hex digits" }
                if high == 0, low == 0 { return "%00 is not allowed in the request target" }
                index += 3
            } else {
                index += 1
            }
        }
        return nil
    }

    /// Why a header field line is malformed, or `nil`.
    private static func fieldProblem(_ line: ArraySlice<UInt8>) -> String? {
        guard let first = line.first, first != 32, first != 9 else {
            return "obsolete line folding (a header line starting with whitespace) is not accepted"
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
              line[..<colon].allSatisfy(isTokenCharacter) else { return "malformed header field" }
        let value = line[(colon + 1)...]
        guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
            return "a header value contains a control byte"
        }
        return nil
    }

    /// RFC 9110 `tchar`.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"), UInt8(ascii: "a") ... UInt8(ascii: "z"),
             UInt8(ascii: "A") ... UInt8(ascii: "Z"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The index just past the blank line that ends the head, or `nil` when it has not arrived.
    public static func endOfHead(_ bytes: [UInt8]) -> Int? {
        find([13, 10, 13, 10], in: bytes, from: 0).map { $0 + 4 }
    }

    private static func find(_ pattern: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= pattern.count, start <= bytes.count - pattern.count else { return nil }
        for index in start ... bytes.count - pattern.count where bytes[index] == pattern[0] {
            if bytes[index ..< index + pattern.count].elementsEqual(pattern) { return index }
        }
        return nil
    }
}
