/// Text that is not well-formed JSON, with the place a person can look at.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, in plain words.
    public var reason: String
    /// 1-based line of the offending character.
    public var line: Int
    /// 1-based column (in bytes) of the offending character.
    public var column: Int
    /// True when the text may be well-formed but passes one of the parser's caps (values,
    /// properties of one object, nesting): too large to read, rather than broken.
    public var exceedsLimit: Bool

    public init(reason: String, line: Int, column: Int, exceedsLimit: Bool = false) {
        self.reason = reason
        self.line = line
        self.column = column
        self.exceedsLimit = exceedsLimit
    }

    public var description: String { "line \(line), column \(column): \(reason)" }
}
