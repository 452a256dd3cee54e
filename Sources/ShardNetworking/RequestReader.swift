internal import CLibWebSockets

/// Reads the parts of a request that libwebsockets parsed (method, headers, query arguments). Service thread only,
/// while the header table is still attached (HTTP, HTTP_CONFIRM_UPGRADE, ESTABLISHED callbacks).
enum RequestReader {
    /// Known header tokens whose names end with `:` (real headers, not request-line pseudo tokens), as raw token values
    /// and lowercased names without the colon.
    private static let knownHeaders: [(token: UInt32, name: String)] = (0 ..< WSI_TOKEN_COUNT.rawValue).compactMap { raw in
        guard let cName = lws_token_to_string(lws_token_indexes(rawValue: raw)) else { return nil }
        let name = String(cString: cName).lowercased()
        guard name.hasSuffix(":"), !name.hasPrefix(":") else { return nil }
        return (raw, String(name.dropLast()))
    }

    private static let methods = ["GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD"]

    /// The request method (`GET`, `POST`...).
    static func method(_ wsi: OpaquePointer) -> String {
        var uri: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let index = Int(lws_http_get_uri_and_method(wsi, &uri, &length))
        return methods.indices.contains(index) ? methods[index] : "GET"
    }

    /// The path of a `GET` (upgrade) request, without the query.
    static func getPath(_ wsi: OpaquePointer) -> String {
        value(wsi, token: WSI_TOKEN_GET_URI.rawValue) ?? "/"
    }

    /// Headers with lowercased names: every header lws knows, plus `extra` custom names.
    static func headers(_ wsi: OpaquePointer, extra: [String]) -> [String: String] {
        var headers: [String: String] = [:]
        for header in knownHeaders {
            if let value = value(wsi, token: header.token) { headers[header.name] = value }
        }
        for name in extra {
            let key = name.lowercased() + ":"
            let keyLength = Int32(key.utf8.count)
            let length = Int(lws_hdr_custom_length(wsi, key, keyLength))
            guard length >= 0 else { continue }
            var buffer = [CChar](repeating: 0, count: length + 1)
            let copied = lws_hdr_custom_copy(wsi, &buffer, Int32(buffer.count), key, keyLength)
            if copied >= 0 { headers[name.lowercased()] = string(buffer, count: Int(copied)) }
        }
        return headers
    }

    /// Query arguments. lws has already percent-decoded them and split them at unescaped `&`.
    static func query(_ wsi: OpaquePointer) -> [String: String] {
        var query: [String: String] = [:]
        var index: Int32 = 0
        while true {
            let length = Int(lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, index))
            guard length > 0 else { break }
            var buffer = [CChar](repeating: 0, count: length + 1)
            let copied = lws_hdr_copy_fragment(wsi, &buffer, Int32(buffer.count), WSI_TOKEN_HTTP_URI_ARGS, index)
            guard copied >= 0 else { break }
            let argument = string(buffer, count: Int(copied))
            if let equals = argument.firstIndex(of: "=") {
                query[String(argument[..<equals])] = String(argument[argument.index(after: equals)...])
            } else {
                query[argument] = ""
            }
            index += 1
        }
        return query
    }

    private static func value(_ wsi: OpaquePointer, token raw: UInt32) -> String? {
        let token = lws_token_indexes(rawValue: raw)
        let length = Int(lws_hdr_total_length(wsi, token))
        guard length > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: length + 1)
        let copied = lws_hdr_copy(wsi, &buffer, Int32(buffer.count), token)
        return copied >= 0 ? string(buffer, count: Int(copied)) : nil
    }

    private static func string(_ buffer: [CChar], count: Int) -> String {
        buffer.withUnsafeBufferPointer { pointer in
            String(decoding: UnsafeRawBufferPointer(start: pointer.baseAddress, count: count), as: UTF8.self)
        }
    }
}
