import Crypto
import Foundation
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
}
