/// The Unicode classes the pre-tokenizer splits on, one bit each, as llama.cpp's `unicode_cpt_flags` uses them.
///
/// Letters are `\p{L}`, numbers `\p{N}`, whitespace is the Unicode `White_Space` set (`\s`), punctuation `\p{P}`,
/// marks `\p{M}`. Every code point inside the text also has ``present``, so a position past the end of a word
/// (flags `0`) can be told apart from a symbol that is none of the others.
struct CodepointClass: OptionSet, Sendable {
    let rawValue: UInt8

    static let letter = CodepointClass(rawValue: 1)
    static let number = CodepointClass(rawValue: 2)
    static let whitespace = CodepointClass(rawValue: 4)
    static let punctuation = CodepointClass(rawValue: 8)
    static let mark = CodepointClass(rawValue: 16)
    static let present = CodepointClass(rawValue: 128)

    /// Classes of the 128 ASCII code points, computed once.
    private static let ascii: [CodepointClass] = (0 ..< 128).map { classify(UInt32($0)) }

    /// The classes of `codepoint` (always including ``present``).
    static func of(_ codepoint: UInt32) -> CodepointClass {
        codepoint < 128 ? ascii[Int(codepoint)] : classify(codepoint)
    }

    private static func classify(_ codepoint: UInt32) -> CodepointClass {
        var result: CodepointClass = .present
        if isWhitespace(codepoint) { result.insert(.whitespace) }
        guard let scalar = Unicode.Scalar(codepoint) else { return result }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            result.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            result.insert(.number)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            result.insert(.punctuation)
        case .nonspacingMark, .spacingMark, .enclosingMark:
            result.insert(.mark)
        default:
            break
        }
        return result
    }

    /// The `White_Space` code points (llama.cpp's `unicode_set_whitespace`).
    private static func isWhitespace(_ codepoint: UInt32) -> Bool {
        switch codepoint {
        case 0x09 ... 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000 ... 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            true
        default:
            false
        }
    }
}
