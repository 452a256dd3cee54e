/// A place in a template's source text: 1-based line and column (columns count Unicode scalars).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// 1-based line number.
    public let line: Int
    /// 1-based column, in Unicode scalars from the start of the line.
    public let column: Int

    /// A location at `line`, `column` (both 1-based).
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// `line L, column C`.
    public var description: String { "line \(line), column \(column)" }
}

/// Everything that can go wrong parsing or rendering a chat template.
///
/// One error struct with extensible kinds (the async-http-client shape): callers switch on `kind`, show
/// `description` to people. A template never crashes the process and is never guessed at: syntax the interpreter
/// does not implement is reported as `.unsupported` naming the construct, not silently skipped.
public struct ChatTemplateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What class of failure this is.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private let code: String
        private init(_ code: String) { self.code = code }

        /// The template text is not valid Jinja (unbalanced tags, bad expression, unterminated string...).
        public static let syntax = Kind("syntax")
        /// Valid Jinja that this interpreter does not implement (a tag, filter, test or method); the message names it.
        public static let unsupported = Kind("unsupported")
        /// The template itself called `raise_exception(message)`; `message` is exactly the template's text.
        public static let raised = Kind("raised")
        /// A runtime error jinja2 would also raise: an undefined value used in arithmetic, a type mismatch, ...
        public static let runtime = Kind("runtime")
        /// A resource bound was hit (output size, evaluation steps, nesting depth); the template may be hostile.
        public static let limitExceeded = Kind("limit exceeded")

        /// The kind's name.
        public var description: String { code }
    }

    /// The class of failure.
    public let kind: Kind
    /// A human-readable message; for `.raised`, the template's own message verbatim.
    public let message: String
    /// Where in the template source the failure was detected, when known.
    public let location: SourceLocation?

    /// An error of `kind` with `message` at `location`.
    public init(_ kind: Kind, _ message: String, at location: SourceLocation? = nil) {
        self.kind = kind
        self.message = message
        self.location = location
    }

    /// `kind: message (line L, column C)`.
    public var description: String {
        if let location { return "chat template \(kind) error: \(message) (\(location))" }
        return "chat template \(kind) error: \(message)"
    }
}
