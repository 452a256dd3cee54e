import Crypto
import Foundation
import ShardNetworking
import ShardProtocol

/// The text messages that open a peer link, before any binary frame (docs/protocol.md, "Peer protocol").
///
/// 1. peer -> sidecar `hello`: protocol version, model SHA-256, layer range, capacity, a random `nonce`.
/// 2. sidecar -> peer `auth`: its own `nonce` and `mac` = HMAC-SHA256(secret, "sidecar:" + peer nonce).
/// 3. peer -> sidecar `ready`: `mac` = HMAC-SHA256(secret, "peer:" + sidecar nonce).
/// A side configured with a secret refuses the other unless its MAC verifies; without secrets the MACs are empty.
/// Both sides prove knowledge of the secret without sending it, and nonces make recorded answers useless.
enum PeerHandshake {
    static let protocolVersion = 1
    /// Close code for a failed authentication.
    static let authenticationFailed: UInt16 = 4401
    /// Close code for a frame that is not valid.
    static let badFrame: UInt16 = 4400

    struct Hello: Equatable {
        var modelSHA256: String, layers: Range<Int>, capacity: Int, nonce: String

        var json: JSONValue {
            .object(["type": .string("hello"), "protocol": .int(Int64(protocolVersion)),
                     "model_sha256": .string(modelSHA256),
                     "layers": .array([.int(Int64(layers.lowerBound)), .int(Int64(layers.upperBound))]),
                     "capacity": .int(Int64(capacity)), "nonce": .string(nonce)])
        }

        init(modelSHA256: String, layers: Range<Int>, capacity: Int, nonce: String) {
            self.modelSHA256 = modelSHA256
            self.layers = layers
            self.capacity = capacity
            self.nonce = nonce
        }

        init?(_ value: JSONValue) {
            guard value["type"]?.stringValue == "hello", value["protocol"]?.intValue == protocolVersion,
                  let sha = value["model_sha256"]?.stringValue, let nonce = value["nonce"]?.stringValue,
                  case let .array(bounds)? = value["layers"], bounds.count == 2,
                  let start = bounds[0].intValue, let end = bounds[1].intValue, start >= 0, start < end,
                  let capacity = value["capacity"]?.intValue
            else { return nil }
            self.init(modelSHA256: sha, layers: start ..< end, capacity: capacity, nonce: nonce)
        }
    }

    static func nonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0 ..< 16).map { _ in String(format: "%02x", UInt8.random(in: 0 ... 255, using: &generator)) }.joined()
    }

    /// HMAC-SHA256 of `role:nonce` under `secret`, hex; empty without a secret.
    static func mac(secret: String?, role: String, nonce: String) -> String {
        guard let secret else { return "" }
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(role):\(nonce)".utf8),
                                                   using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    /// Constant-time check of a received MAC.
    static func verify(_ received: String?, secret: String?, role: String, nonce: String) -> Bool {
        guard let secret else { return true }
        let expected = Array(mac(secret: secret, role: role, nonce: nonce).utf8)
        let given = Array((received ?? "").utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The connecting side's half of the handshake on a fresh `client` (a sidecar, or a peer forwarding to the
    /// next stage): checks the hello's model, proves the secret (sending `extra` fields with it), checks the peer's
    /// proof. Returns the hello and the `ready` message; on any failure the link is closed and
    /// ``HandshakeFailure`` says why.
    static func authenticate(_ client: WebSocketClient, expectedModel: String, secret: String?,
                             extra: [String: JSONValue] = [:]) async throws -> (hello: Hello, ready: JSONValue) {
        var messages = client.messages.makeAsyncIterator()
        guard case let .text(helloText)? = try await messages.next(),
              let hello = JSONValue.decode(Array(helloText.utf8)).flatMap(Hello.init)
        else {
            client.close(code: badFrame, reason: "expected hello")
            throw HandshakeFailure(message: "the peer did not send a valid hello")
        }
        guard hello.modelSHA256 == expectedModel else {
            client.close(code: 1008, reason: "different model")
            throw HandshakeFailure(message: "serves model \(hello.modelSHA256.prefix(16)), not \(expectedModel.prefix(16))")
        }
        let nonce = Self.nonce()
        var auth: [String: JSONValue] = ["type": .string("auth"), "nonce": .string(nonce),
                                         "mac": .string(mac(secret: secret, role: "sidecar", nonce: hello.nonce))]
        for (key, value) in extra { auth[key] = value }
        try client.send(.text(JSONValue.object(auth).encodedString()))
        guard case let .text(readyText)? = try await messages.next(),
              let ready = JSONValue.decode(Array(readyText.utf8)), ready["type"]?.stringValue == "ready",
              verify(ready["mac"]?.stringValue, secret: secret, role: "peer", nonce: nonce)
        else {
            client.close(code: authenticationFailed, reason: "authentication failed")
            throw HandshakeFailure(message: "authentication failed")
        }
        return (hello, ready)
    }

    /// Why a handshake failed.
    struct HandshakeFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// A link token: names one link at a peer (its `ready` message carries it) for routed frames.
    static func linkToken() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return UInt64.random(in: 1 ... .max, using: &generator)
    }
}
