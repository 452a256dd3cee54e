/// Splits template source into tokens with jinja2's whitespace rules as transformers configures them:
/// `trim_blocks` (the first newline after a block or comment tag is dropped), `lstrip_blocks` (spaces and tabs
/// before a block or comment tag at the start of a line are dropped), `-` on a delimiter strips all whitespace on
/// that side, `+` disables lstrip/trim. Newlines are normalised to `\n` and one trailing newline is dropped
/// (jinja2's `keep_trailing_newline=False`).
struct Lexer {
    let source: [Unicode.Scalar]
    var pos = 0
    var tokens: [Token] = []
    /// Whether the previous tag's match ended with a newline (jinja2's `line_starting`).
    var lineStarting = true
    private var lineStarts: [Int] = [0]

    init(_ text: String) {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.unicodeScalars.count)
        var iterator = text.unicodeScalars.makeIterator()
        var pending = iterator.next()
        while let scalar = pending {
            pending = iterator.next()
            if scalar == "\r" {
                scalars.append("\n")
                if pending == "\n" { pending = iterator.next() }
            } else {
                scalars.append(scalar)
            }
        }
        if scalars.last == "\n" { scalars.removeLast() }
        source = scalars
        for (i, s) in scalars.enumerated() where s == "\n" { lineStarts.append(i + 1) }
    }

    /// All tokens, ending with `.end`.
    static func tokenize(_ text: String) throws(ChatTemplateError) -> [Token] {
        var lexer = Lexer(text)
        try lexer.run()
        return lexer.tokens
    }

    func location(_ offset: Int) -> SourceLocation {
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return SourceLocation(line: low + 1, column: offset - lineStarts[low] + 1)
    }

    func starts(with literal: String, at offset: Int) -> Bool {
        var i = offset
        for scalar in literal.unicodeScalars {
            guard i < source.count, source[i] == scalar else { return false }
            i += 1
        }
        return true
    }

    private mutating func run() throws(ChatTemplateError) {
        while pos < source.count {
            guard let (start, opener) = nextTagStart(from: pos) else {
                emitText(Array(source[pos...]), at: pos)
                break
            }
            var text = Array(source[pos..<start])
            let signOffset = start + 2
            let sign: Unicode.Scalar? =
                signOffset < source.count && (source[signOffset] == "-" || source[signOffset] == "+")
                ? source[signOffset] : nil
            if sign == "-" {
                while let last = text.last, last.isPythonWhitespace { text.removeLast() }
            } else if opener != "{{" && sign != "+" {
                let lineStart = (text.lastIndex(of: "\n").map { $0 + 1 }) ?? 0
                if (lineStart > 0 || lineStarting) && text[lineStart...].allSatisfy({ $0 == " " || $0 == "\t" }) {
                    text.removeSubrange(lineStart...)
                }
            }
            emitText(text, at: pos)
            pos = start + 2 + (sign == nil ? 0 : 1)
            lineStarting = false
            switch opener {
            case "{#": try skipComment(openedAt: start)
            case "{{":
                tokens.append(Token(kind: .variableBegin, location: location(start)))
                try lexInsideTag(closer: "}}", openedAt: start)
            default:
                tokens.append(Token(kind: .blockBegin, location: location(start)))
                try lexInsideTag(closer: "%}", openedAt: start)
            }
        }
        tokens.append(Token(kind: .end, location: location(source.count)))
    }

    private mutating func emitText(_ text: [Unicode.Scalar], at offset: Int) {
        guard !text.isEmpty else { return }
        var string = String.UnicodeScalarView()
        string.append(contentsOf: text)
        tokens.append(Token(kind: .text(String(string)), location: location(offset)))
    }

    private func nextTagStart(from offset: Int) -> (Int, String)? {
        var i = offset
        while i + 1 < source.count {
            if source[i] == "{" {
                let next = source[i + 1]
                if next == "{" { return (i, "{{") }
                if next == "%" { return (i, "{%") }
                if next == "#" { return (i, "{#") }
            }
            i += 1
        }
        return nil
    }

    /// Consumes the whitespace after a closing delimiter per its sign and `trim_blocks`.
    mutating func afterClose(sign: Unicode.Scalar?, trimBlocks: Bool) {
        if sign == "-" {
            while pos < source.count, source[pos].isPythonWhitespace {
                lineStarting = source[pos] == "\n"
                pos += 1
            }
        } else if sign == nil && trimBlocks && pos < source.count && source[pos] == "\n" {
            pos += 1
            lineStarting = true
        }
    }

    private mutating func skipComment(openedAt start: Int) throws(ChatTemplateError) {
        var i = pos
        while i + 1 < source.count {
            if source[i] == "#" && source[i + 1] == "}" {
                let sign: Unicode.Scalar? =
                    i > pos && (source[i - 1] == "-" || source[i - 1] == "+") ? source[i - 1] : nil
                pos = i + 2
                afterClose(sign: sign, trimBlocks: true)
                return
            }
            i += 1
        }
        throw ChatTemplateError(.syntax, "unterminated comment: '{#' without '#}'", at: location(start))
    }
}

extension Unicode.Scalar {
    /// Python's `str.isspace()`: Unicode White_Space plus the ASCII separators U+001C...U+001F.
    var isPythonWhitespace: Bool {
        properties.isWhitespace || (0x1C...0x1F).contains(value)
    }
}
