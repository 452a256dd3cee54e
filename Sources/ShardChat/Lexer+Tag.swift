extension Lexer {
    private static let twoCharOperators: Set<String> = ["//", "**", "==", "!=", "<=", ">="]
    private static let oneCharOperators: Set<Unicode.Scalar> = [
        "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|",
    ]

    /// Lexes the tokens inside `{{ ... }}` or `{% ... %}` up to the closing delimiter, which only counts when
    /// brackets are balanced (as in jinja2, so `{{ {'a': {'b': 1}} }}` works).
    mutating func lexInsideTag(closer: String, openedAt start: Int) throws(ChatTemplateError) {
        var depth = 0
        while true {
            while pos < source.count, source[pos].isPythonWhitespace { pos += 1 }
            guard pos < source.count else {
                throw ChatTemplateError(.syntax, "unterminated tag: missing '\(closer)'", at: location(start))
            }
            if depth == 0 {
                for sign in ["-", "+", ""] where starts(with: sign + closer, at: pos) {
                    let endKind: Token.Kind = closer == "}}" ? .variableEnd : .blockEnd
                    tokens.append(Token(kind: endKind, location: location(pos)))
                    pos += sign.unicodeScalars.count + 2
                    afterClose(sign: sign.unicodeScalars.first, trimBlocks: closer == "%}")
                    return
                }
            }
            let here = pos
            let scalar = source[pos]
            if scalar == "_" || scalar.properties.isAlphabetic && scalar.isASCII {
                var name = String.UnicodeScalarView()
                while pos < source.count, source[pos] == "_" || source[pos].isASCII
                    && (source[pos].properties.isAlphabetic || ("0"..."9").contains(source[pos]))
                {
                    name.append(source[pos])
                    pos += 1
                }
                tokens.append(Token(kind: .name(String(name)), location: location(here)))
            } else if ("0"..."9").contains(scalar) {
                tokens.append(Token(kind: try lexNumber(), location: location(here)))
            } else if scalar == "'" || scalar == "\"" {
                tokens.append(Token(kind: .string(try lexString(quote: scalar)), location: location(here)))
            } else {
                let two = pos + 1 < source.count ? String(String.UnicodeScalarView([scalar, source[pos + 1]])) : ""
                if Lexer.twoCharOperators.contains(two) {
                    tokens.append(Token(kind: .op(two), location: location(here)))
                    pos += 2
                } else if Lexer.oneCharOperators.contains(scalar) {
                    if "([{".unicodeScalars.contains(scalar) { depth += 1 }
                    if ")]}".unicodeScalars.contains(scalar) {
                        guard depth > 0 else {
                            throw ChatTemplateError(.syntax, "unexpected '\(scalar)'", at: location(here))
                        }
                        depth -= 1
                    }
                    tokens.append(Token(kind: .op(String(scalar)), location: location(here)))
                    pos += 1
                } else {
                    throw ChatTemplateError(.syntax, "unexpected character '\(scalar)' inside a tag",
                        at: location(here))
                }
            }
        }
    }

    private mutating func lexNumber() throws(ChatTemplateError) -> Token.Kind {
        let start = pos
        var digits = ""
        var isFloat = false
        func isDigit(_ s: Unicode.Scalar) -> Bool { ("0"..."9").contains(s) }
        while pos < source.count, isDigit(source[pos]) || source[pos] == "_" {
            if source[pos] != "_" { digits.unicodeScalars.append(source[pos]) }
            pos += 1
        }
        if pos + 1 < source.count, source[pos] == ".", isDigit(source[pos + 1]) {
            isFloat = true
            digits += "."
            pos += 1
            while pos < source.count, isDigit(source[pos]) || source[pos] == "_" {
                if source[pos] != "_" { digits.unicodeScalars.append(source[pos]) }
                pos += 1
            }
        }
        if pos < source.count, source[pos] == "e" || source[pos] == "E" {
            var look = pos + 1
            if look < source.count, source[look] == "+" || source[look] == "-" { look += 1 }
            if look < source.count, isDigit(source[look]) {
                isFloat = true
                digits += String(String.UnicodeScalarView(source[pos..<look]))
                pos = look
                while pos < source.count, isDigit(source[pos]) {
                    digits.unicodeScalars.append(source[pos])
                    pos += 1
                }
            }
        }
        if isFloat, let value = Double(digits) { return .float(value) }
        if let value = Int(digits) { return .integer(value) }
        throw ChatTemplateError(.unsupported, "number literal '\(digits)' is out of range", at: location(start))
    }

    /// A string literal with Python's escapes (`\n \t \r \\ \' \" \xhh \uXXXX \UXXXXXXXX`, octal, line
    /// continuation); unknown escapes keep their backslash, as Python does.
    private mutating func lexString(quote: Unicode.Scalar) throws(ChatTemplateError) -> String {
        let start = pos
        pos += 1
        var out = String.UnicodeScalarView()
        while pos < source.count {
            let s = source[pos]
            if s == quote {
                pos += 1
                return String(out)
            }
            if s != "\\" {
                out.append(s)
                pos += 1
                continue
            }
            guard pos + 1 < source.count else { break }
            let e = source[pos + 1]
            pos += 2
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "v": out.append("\u{0B}")
            case "\n": break
            case "x", "u", "U":
                let width = e == "x" ? 2 : e == "u" ? 4 : 8
                guard pos + width <= source.count,
                    let code = UInt32(String(String.UnicodeScalarView(source[pos..<pos + width])), radix: 16),
                    let scalar = Unicode.Scalar(code)
                else {
                    throw ChatTemplateError(.syntax, "invalid \\\(e) escape in string literal", at: location(pos - 2))
                }
                out.append(scalar)
                pos += width
            case "0"..."7":
                var code = e.value - 48
                var taken = 1
                while taken < 3, pos < source.count, ("0"..."7").contains(source[pos]) {
                    code = code * 8 + source[pos].value - 48
                    pos += 1
                    taken += 1
                }
                out.append(Unicode.Scalar(code)!)
            default:
                out.append("\\")
                out.append(e)
            }
        }
        throw ChatTemplateError(.syntax, "unterminated string literal", at: location(start))
    }
}
