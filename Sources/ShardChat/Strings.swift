/// Python `str` operations on Unicode scalars (code points), not on Swift's grapheme clusters, so results match
/// Python byte for byte (Swift's `String ==` treats canonically equivalent text as equal; Python does not).
enum Strings {
    static func scalars(_ s: String) -> [Unicode.Scalar] { Array(s.unicodeScalars) }

    static func string(_ scalars: some Sequence<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// The offset of the first occurrence of `needle` in `haystack`, in code points.
    static func find(_ needle: String, in haystack: String, from start: Int = 0) -> Int? {
        let n = scalars(needle), h = scalars(haystack)
        guard n.count <= h.count else { return nil }
        if n.isEmpty { return min(start, h.count) }
        var i = start
        while i + n.count <= h.count {
            if h[i] == n[0] && h[i..<(i + n.count)].elementsEqual(n) { return i }
            i += 1
        }
        return nil
    }

    static func hasPrefix(_ s: String, _ prefix: String) -> Bool {
        s.unicodeScalars.starts(with: prefix.unicodeScalars)
    }

    static func hasSuffix(_ s: String, _ suffix: String) -> Bool {
        s.unicodeScalars.reversed().starts(with: suffix.unicodeScalars.reversed())
    }

    /// `str.strip(chars)`: without `chars`, Python whitespace.
    static func strip(_ s: String, _ chars: String?, leading: Bool = true, trailing: Bool = true) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        func stripped(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? c.isPythonWhitespace }
        var items = scalars(s)[...]
        if leading { while let first = items.first, stripped(first) { items.removeFirst() } }
        if trailing { while let last = items.last, stripped(last) { items.removeLast() } }
        return string(items)
    }

    /// `str.split(sep, maxsplit)`: without `sep`, runs of whitespace separate and empty parts are dropped.
    static func split(_ s: String, _ separator: String?, maxSplit: Int = -1) -> [String] {
        let items = scalars(s)
        var parts: [String] = []
        guard let separator else {
            var current: [Unicode.Scalar] = []
            var i = 0
            while i < items.count {
                if items[i].isPythonWhitespace {
                    if !current.isEmpty {
                        parts.append(string(current))
                        current = []
                        if maxSplit >= 0 && parts.count == maxSplit {
                            while i < items.count, items[i].isPythonWhitespace { i += 1 }
                            if i < items.count { parts.append(string(items[i...])) }
                            return parts
                        }
                    }
                } else {
                    current.append(items[i])
                }
                i += 1
            }
            if !current.isEmpty { parts.append(string(current)) }
            return parts
        }
        let sep = scalars(separator)
        var start = 0, i = 0
        while i + sep.count <= items.count, maxSplit < 0 || parts.count < maxSplit {
            if items[i..<(i + sep.count)].elementsEqual(sep) {
                parts.append(string(items[start..<i]))
                i += sep.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(string(items[start...]))
        return parts
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int = -1) -> String {
        let items = scalars(s), o = scalars(old), n = scalars(new)
        var out: [Unicode.Scalar] = []
        var i = 0, done = 0
        if o.isEmpty {
            for item in items {
                if count < 0 || done < count { out += n; done += 1 }
                out.append(item)
            }
            if count < 0 || done < count { out += n }
            return string(out)
        }
        while i < items.count {
            if (count < 0 || done < count) && i + o.count <= items.count && items[i..<(i + o.count)].elementsEqual(o) {
                out += n
                i += o.count
                done += 1
            } else {
                out.append(items[i])
                i += 1
            }
        }
        return string(out)
    }

    /// Python `str.title()`: a cased letter after an uncased character starts a word (`they're` → `They'Re`).
    static func pythonTitle(_ s: String) -> String {
        var previousCased = false
        var out = ""
        for scalar in s.unicodeScalars {
            let properties = scalar.properties
            let cased = properties.isCased
            out += previousCased ? properties.lowercaseMapping : properties.titlecaseMapping
            previousCased = cased
        }
        return out
    }

    /// jinja2's `|title` filter: words start after `-`, whitespace, `(`, `{`, `[` or `<`.
    static func jinjaTitle(_ s: String) -> String {
        var out = ""
        var atStart = true
        for scalar in s.unicodeScalars {
            let boundary = scalar.isPythonWhitespace || "-({[<".unicodeScalars.contains(scalar)
            if boundary {
                out.unicodeScalars.append(scalar)
                atStart = true
            } else {
                out += atStart ? scalar.properties.uppercaseMapping : scalar.properties.lowercaseMapping
                atStart = false
            }
        }
        return out
    }

    /// Python `str.capitalize()`: first character upper (title) case, the rest lower case.
    static func capitalize(_ s: String) -> String {
        var out = ""
        for (i, scalar) in s.unicodeScalars.enumerated() {
            out += i == 0 ? scalar.properties.titlecaseMapping : scalar.properties.lowercaseMapping
        }
        return out
    }

    static func lower(_ s: String) -> String { s.unicodeScalars.map(\.properties.lowercaseMapping).joined() }
    static func upper(_ s: String) -> String { s.unicodeScalars.map(\.properties.uppercaseMapping).joined() }
}
