import CCurl

/// `curl_global_init`, run once per process (a `static let` initialiser is thread-safe).
enum CurlGlobal {
    /// The result of the one `curl_global_init` call.
    static let initialized: CURLcode = ccurl_global_init()
}

/// One curl easy handle plus the private multi handle that drives it, reused for every request of one client so
/// that libcurl keeps the connection alive between them.
///
/// The transfer runs through `curl_multi_poll` rather than `curl_easy_perform` (same blocking behaviour) so that
/// ``wakeup()`` can interrupt the wait: a cancelled transfer then aborts at once instead of at libcurl's next
/// once-a-second progress tick.
///
/// - warning: Confined to the worker thread, except ``wakeup()`` (see there).
final class CurlEasy {
    private let easy: UnsafeMutableRawPointer
    private let multi: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>

    /// A handle with the settings every request shares; nil if libcurl cannot allocate one.
    init?(connectTimeoutMilliseconds: Int) {
        guard CurlGlobal.initialized == CURLE_OK, let easy = curl_easy_init() else { return nil }
        guard let multi = curl_multi_init() else {
            curl_easy_cleanup(easy)
            return nil
        }
        self.easy = easy
        self.multi = multi
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        ccurl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer)
        ccurl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        ccurl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, connectTimeoutMilliseconds)
        ccurl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        ccurl_setopt_long(easy, CURLOPT_NOPROGRESS, 0)
        ccurl_setopt_write_function(easy, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            let bytes = size * count
            let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
            sink.append(UnsafeRawBufferPointer(start: data, count: bytes))
            return bytes
        }
        ccurl_setopt_write_function(easy, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            let bytes = size * count
            let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
            sink.headerLine(UnsafeRawBufferPointer(start: data, count: bytes))
            return bytes
        }
        // Non-zero aborts the transfer with CURLE_ABORTED_BY_CALLBACK once the job is asked to stop.
        ccurl_setopt_xferinfo_function(easy) { context, _, _, _, _ in
            Unmanaged<TransferJob>.fromOpaque(context!).takeUnretainedValue().stopReason == nil ? 0 : 1
        }
    }

    /// Frees both handles (closing any kept-alive connection).
    deinit {
        curl_multi_cleanup(multi)
        curl_easy_cleanup(easy)
        errorBuffer.deallocate()
    }

    /// Interrupts `curl_multi_poll` in ``perform(_:)``. The only method safe from another thread
    /// (`curl_multi_wakeup` is thread-safe); the caller must guarantee the handle is still alive.
    func wakeup() {
        curl_multi_wakeup(multi)
    }

    /// Performs `job` (blocking) and returns its outcome and how many new connections it opened.
    func perform(_ job: TransferJob) -> (TransferJob.Outcome, connectionsOpened: Int) {
        let request = job.request
        let sink = ResponseSink()
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer {
            ccurl_setopt_slist(easy, CURLOPT_HTTPHEADER, nil)
            curl_slist_free_all(headerList)
        }
        for (name, value) in request.headers {
            guard !(name + value).utf8.contains(where: { $0 == 13 || $0 == 10 }), !name.isEmpty else {
                let error = HTTPClientError(code: CURLE_BAD_FUNCTION_ARGUMENT, detail: "invalid header \(name.debugDescription)",
                                            request: request, stop: nil)
                return (.failure(error), 0)
            }
            // "Name;" is libcurl's spelling of a header with an empty value ("Name:" would remove it).
            headerList = curl_slist_append(headerList, value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        errorBuffer[0] = 0
        ccurl_setopt_string(easy, CURLOPT_URL, request.url)
        ccurl_setopt_long(easy, CURLOPT_TIMEOUT_MS, request.timeoutMilliseconds)
        switch request.method {
        case .get:
            ccurl_setopt_long(easy, CURLOPT_HTTPGET, 1)
        case .post:
            let hasContentType = request.headers.keys.contains { $0.lowercased() == "content-type" }
            if !hasContentType { headerList = curl_slist_append(headerList, "Content-Type: application/json") }
            headerList = curl_slist_append(headerList, "Expect:")
            ccurl_setopt_long(easy, CURLOPT_POST, 1)
            ccurl_setopt_long(easy, CURLOPT_POSTFIELDSIZE, request.body.count)
            let copied = request.body.isEmpty
                ? ccurl_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, "")
                : request.body.withUnsafeBytes { ccurl_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress)) }
            guard copied == CURLE_OK else { return (.failure(failure(copied, request, job)), 0) }
        }
        ccurl_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList)
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        ccurl_setopt_pointer(easy, CURLOPT_WRITEDATA, sinkPointer)
        ccurl_setopt_pointer(easy, CURLOPT_HEADERDATA, sinkPointer)
        ccurl_setopt_pointer(easy, CURLOPT_XFERINFODATA, Unmanaged.passUnretained(job).toOpaque())

        let code = withExtendedLifetime((sink, job)) { run(job) }
        var connects = 0
        ccurl_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &connects)
        guard code == CURLE_OK else { return (.failure(failure(code, request, job)), connects) }
        var status = 0
        ccurl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return (.success(HTTPClientResponse(status: status, headers: sink.headers, body: sink.body)), connects)
    }

    /// Drives the transfer to its end and returns its `CURLcode`. Stops early when the job is stopped, even if the
    /// progress callback has not run yet.
    private func run(_ job: TransferJob) -> CURLcode {
        guard job.stopReason == nil else { return CURLE_ABORTED_BY_CALLBACK }
        let added = curl_multi_add_handle(multi, easy)
        guard added == CURLM_OK else { return CURLE_FAILED_INIT }
        defer { curl_multi_remove_handle(multi, easy) }
        var running: Int32 = 1
        while true {
            guard curl_multi_perform(multi, &running) == CURLM_OK else { return CURLE_FAILED_INIT }
            if running == 0 { break }
            if job.stopReason != nil { return CURLE_ABORTED_BY_CALLBACK }
            guard curl_multi_poll(multi, nil, 0, 1000, nil) == CURLM_OK else { return CURLE_FAILED_INIT }
        }
        var code = CURLE_OK
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            if message.pointee.msg == CURLMSG_DONE { code = message.pointee.data.result }
        }
        return code
    }

    /// The error for a failed transfer, with libcurl's detailed text when it left one.
    private func failure(_ code: CURLcode, _ request: TransferRequest, _ job: TransferJob) -> HTTPClientError {
        let detail = errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
        return HTTPClientError(code: code, detail: detail, request: request, stop: job.stopReason)
    }
}
