/// A secret's value: a webhook URL, a token, a password. Printing, interpolating, dumping or
/// reflecting it shows `<redacted>`; only ``exposedValue`` gives the value.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    /// Wraps `value`; normally made by ``SecretResolver/resolve(_:)``.
    init(_ value: String) {
        self.value = value
    }

    /// The value itself, for the one place that sends it (a request, a login). Never log it.
    public var exposedValue: String { value }

    /// Always `<redacted>`.
    public var description: String { "<redacted>" }

    /// Always `<redacted>`.
    public var debugDescription: String { "<redacted>" }

    /// A mirror with no children, so that `dump` and reflection do not reach the value.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
