import Crypto
import Foundation

/// Short content fingerprints used to identify tokenizer files and models on the wire.
public enum Fingerprint {
    /// The full lowercase hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: some DataProtocol) -> String {
        SHA256.hash(data: bytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The first 16 hex digits of the SHA-256 of `bytes`: the `tokenizer` fingerprint of PROTOCOL.md.
    public static func short(_ bytes: some DataProtocol) -> String {
        String(sha256Hex(bytes).prefix(16))
    }
}
