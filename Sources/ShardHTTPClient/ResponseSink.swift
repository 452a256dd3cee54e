/// Collects one response on the worker thread: libcurl's write callback appends body bytes, its header callback
/// feeds header lines. Lives only for one transfer and never leaves the worker thread.
final class ResponseSink {
    /// Body bytes received so far.
    private(set) var body: [UInt8] = []
    /// Headers of the latest response head, lowercased names, last value wins.
    private(set) var headers: [String: String] = [:]

    /// Appends body bytes.
    func append(_ bytes: UnsafeRawBufferPointer) {
        body.append(contentsOf: bytes)
    }

    /// Takes one raw header line (`Name: value\r\n`). A status line (`HTTP/1.1 100 Continue`) starts a new head, so
    /// only the final response's headers remain.
    func headerLine(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            headers = [:]
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].trimmingHTTPWhitespace().lowercased()
        guard !name.isEmpty else { return }
        headers[name] = String(line[line.index(after: colon)...].trimmingHTTPWhitespace())
    }
}

extension StringProtocol {
    /// Drops leading and trailing spaces, tabs, CR and LF.
    func trimmingHTTPWhitespace() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}
