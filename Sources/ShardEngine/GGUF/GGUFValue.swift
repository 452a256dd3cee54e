/// A GGUF metadata value.
public enum GGUFValue: Sendable, Equatable {
    case uint(UInt64)
    case int(Int64)
    case float(Double)
    case bool(Bool)
    case string(String)
    case array([GGUFValue])

    /// The value as an integer, when it is an integer that fits.
    public var intValue: Int? {
        switch self {
        case let .uint(value): value <= UInt64(Int.max) ? Int(value) : nil
        case let .int(value): Int(exactly: value)
        default: nil
        }
    }

    /// The value as a floating-point number, when it is numeric.
    public var doubleValue: Double? {
        switch self {
        case let .float(value): value
        case let .uint(value): Double(value)
        case let .int(value): Double(value)
        default: nil
        }
    }

    /// The value as a string, when it is one.
    public var stringValue: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    /// The value as a boolean, when it is one.
    public var boolValue: Bool? {
        if case let .bool(value) = self { return value }
        return nil
    }

    /// The elements, when the value is an array.
    public var arrayValue: [GGUFValue]? {
        if case let .array(value) = self { return value }
        return nil
    }
}
