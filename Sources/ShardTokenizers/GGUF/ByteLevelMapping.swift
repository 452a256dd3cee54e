/// GPT-2's reversible mapping of bytes to printable characters (`Ġ` is the space byte 0x20).
///
/// Printable Latin-1 bytes map to themselves; the other 68 bytes map, in order, to U+0100 and up.
/// Byte-level BPE vocabularies store their pieces in this form.
public enum ByteLevelMapping {
    /// The code point each byte maps to.
    public static let codepointOfByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0 ..< 256 {
            if isPrintable(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each mapped code point stands for; indexed by code point (`0 ..< 324`), `nil` when unmapped.
    private static let byteOfCodepoint: [UInt8?] = {
        var table = [UInt8?](repeating: nil, count: 324)
        for (byte, codepoint) in codepointOfByte.enumerated() { table[Int(codepoint)] = UInt8(byte) }
        return table
    }()

    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21 ... 0x7E).contains(byte) || (0xA1 ... 0xAC).contains(byte) || (0xAE ... 0xFF).contains(byte)
    }

    /// The byte a mapped code point stands for, or `nil` when it is not one of the 256 mapped characters.
    public static func byte(of codepoint: UInt32) -> UInt8? {
        codepoint < 324 ? byteOfCodepoint[Int(codepoint)] : nil
    }

    /// The raw bytes a piece stands for, or `nil` when it holds a character outside the mapping.
    public static func bytes(ofPiece piece: String) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(piece.utf8.count)
        for scalar in piece.unicodeScalars {
            guard let byte = byte(of: scalar.value) else { return nil }
            result.append(byte)
        }
        return result
    }

    /// The piece text (mapped form) of raw bytes.
    public static func piece(ofBytes bytes: some Sequence<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(Unicode.Scalar(codepointOfByte[Int(byte)])!) }
        return String(scalars)
    }
}
