/// A parsed JSON value. Objects keep their members in file order, with the line each value
/// starts on, so readers can name the line of a bad field.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONElement])
    case object([JSONMember])

    /// A short name of the value's kind for error messages ("text", "a number", ...).
    public var kindDescription: String {
        let kind: JSONDocument.Kind = switch self {
        case .null: .null
        case .bool: .bool
        case .number: .number
        case .string: .string
        case .array: .array
        case .object: .object
        }
        return kind.description
    }
}

/// A value with the 1-based line it starts on.
public struct JSONElement: Sendable, Equatable {
    public var value: JSONValue
    public var line: Int

    public init(_ value: JSONValue, line: Int) {
        self.value = value
        self.line = line
    }
}

/// One `"key": value` member of an object; `line` is where the value starts.
public struct JSONMember: Sendable, Equatable {
    public var key: String
    public var value: JSONValue
    public var line: Int

    public init(key: String, value: JSONValue, line: Int) {
        self.key = key
        self.value = value
        self.line = line
    }
}
