/// The parts of a `ws://host:port/path?query` URL that libwebsockets' client needs.
public struct WebSocketURL: Sendable, Equatable {
    /// Host name or address (IPv6 without brackets).
    public let host: String
    /// Port (80 when the URL has none).
    public let port: Int
    /// Path and query, starting with `/`.
    public let pathAndQuery: String

    /// Parses `url`; only plain `ws://` is supported (libwebsockets is used without TLS here).
    public init(parsing url: String) throws(NetworkError) {
        guard url.lowercased().hasPrefix("ws://") else {
            throw NetworkError(.invalidURL, url.lowercased().hasPrefix("wss://")
                ? "wss:// is not supported: \(url)" : "expected ws://host:port/path, got \(url)")
        }
        let rest = url.dropFirst(5)
        let split = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<split]
        var path = String(rest[split...])
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }

        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw NetworkError(.invalidURL, "bad IPv6 host in \(url)") }
            host = authority[authority.index(after: authority.startIndex) ..< close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw NetworkError(.invalidURL, "bad authority in \(url)")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw NetworkError(.invalidURL, "missing host in \(url)") }
        let port = portText.map { Int($0) } ?? 80
        guard let port, (1 ... 65535).contains(port) else { throw NetworkError(.invalidURL, "bad port in \(url)") }
        self.host = String(host)
        self.port = port
        self.pathAndQuery = path
    }
}
