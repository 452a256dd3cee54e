/// A JSON-like value passed to a template as extra context (`tools`, `date_string`, `enable_thinking`, ...).
///
/// Objects keep their keys in the order given, as Python dicts do, so `tojson` writes them in that order.
public enum ChatTemplateValue: Sendable, Hashable {
    /// Python `None` / JSON `null`.
    case none
    /// A boolean.
    case bool(Bool)
    /// An integer.
    case int(Int)
    /// A floating-point number.
    case double(Double)
    /// A string.
    case string(String)
    /// A list.
    case array([ChatTemplateValue])
    /// A mapping with string keys, in insertion order.
    case object([Member])

    /// One key and value of an `.object`.
    public struct Member: Sendable, Hashable {
        /// The key.
        public var key: String
        /// The value.
        public var value: ChatTemplateValue

        /// A member `key: value`.
        public init(_ key: String, _ value: ChatTemplateValue) {
            self.key = key
            self.value = value
        }
    }
}

extension ChatTemplateValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    /// A string value.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An integer value.
    public init(integerLiteral value: Int) { self = .int(value) }
    /// A floating-point value.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// A boolean value.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// A list value.
    public init(arrayLiteral elements: ChatTemplateValue...) { self = .array(elements) }
    /// An object whose keys keep the literal's order.
    public init(dictionaryLiteral elements: (String, ChatTemplateValue)...) {
        self = .object(elements.map { Member($0.0, $0.1) })
    }
    /// `none`.
    public init(nilLiteral: ()) { self = .none }
}
