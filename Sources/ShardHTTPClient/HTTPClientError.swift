import CCurl

/// The one error type of ``CurlHTTPClient``: a ``Kind`` to switch on and a human-readable ``message``.
///
/// HTTP status codes are not errors: a 404 or 503 is a normal ``HTTPClientResponse``.
public struct HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// Nothing accepted the connection (`CURLE_COULDNT_CONNECT`, 7): refused or unreachable.
        case couldNotConnect
        /// The connect timeout or the request timeout expired (`CURLE_OPERATION_TIMEDOUT`, 28).
        case timeout
        /// The awaiting task was cancelled; an in-flight transfer was aborted (`CURLE_ABORTED_BY_CALLBACK`, 42).
        case cancelled
        /// libcurl could not parse the URL (`CURLE_URL_MALFORMAT`, 3).
        case invalidURL
        /// Any other libcurl failure; `code` is the `CURLcode` (see `curl_easy_strerror`).
        case transport(code: Int)
        /// The client was shut down before or while the request ran.
        case shutdown
    }

    /// What went wrong.
    public let kind: Kind
    /// libcurl's error text (or the reason) followed by the method and URL.
    public let message: String

    /// Creates an error.
    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    /// `HTTPClientError(timeout): <message>`.
    public var description: String { "HTTPClientError(\(kind)): \(message)" }
}

extension HTTPClientError {
    /// Maps a failed transfer: 7 couldNotConnect, 28 timeout, 42 cancelled, 3 invalidURL, anything else transport.
    /// A transfer stopped on purpose reports why (`stop`) instead of the code.
    init(code: CURLcode, detail: String, request: TransferRequest, stop: StopReason?) {
        let kind: Kind
        switch (code, stop) {
        case (_, .shutdown?): kind = .shutdown
        case (_, .cancelled?): kind = .cancelled
        case (CURLE_COULDNT_CONNECT, nil): kind = .couldNotConnect
        case (CURLE_OPERATION_TIMEDOUT, nil): kind = .timeout
        case (CURLE_ABORTED_BY_CALLBACK, nil): kind = .cancelled
        case (CURLE_URL_MALFORMAT, nil): kind = .invalidURL
        default: kind = .transport(code: Int(code.rawValue))
        }
        self.init(kind: kind, message: "\(detail) (\(request.summary))")
    }

    /// The error for a request that never reached libcurl.
    init(stop: StopReason, request: TransferRequest) {
        switch stop {
        case .cancelled: self.init(kind: .cancelled, message: "request cancelled (\(request.summary))")
        case .shutdown: self.init(kind: .shutdown, message: "client is shut down (\(request.summary))")
        }
    }
}
