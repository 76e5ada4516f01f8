import BatchgateCore
import BatchgateSystem

/// Why the text of a setting was refused.
enum SettingRefusal: Error, Equatable {
    /// Not written the way the setting is written: the message repeats what is expected.
    case unreadable
    /// Written the right way but not allowed, such as a size above the limit. The text says what
    /// is allowed, for "must be …", such as `from 1 byte to 1G`.
    case notAllowed(String)
}

/// How one setting is written: what to tell a person who got it wrong, and how its text becomes
/// a value. Every scalar setting is read from its text as written, so that a message can quote it.
struct SettingFormat<Value: Sendable>: Sendable {
    /// What to write, for "must be …", such as `a duration such as 30s, 2m or 0 (off)`.
    let expected: String
    let parse: @Sendable (String) throws(SettingRefusal) -> Value

    /// Reads the value the decoder points at, or throws a ``ConfigProblem`` saying what was
    /// expected and what was found.
    func read(from decoder: any Decoder) throws -> Value {
        let written = decoder.writtenValue()
        var allowed = expected
        if case .text(let text) = written {
            do {
                return try parse(text)
            } catch {
                if case .notAllowed(let explanation) = error { allowed = explanation }
            }
        }
        throw ConfigProblem(at: decoder.codingPath, "must be \(allowed); found \(written.described)")
    }
}

extension SettingFormat where Value == Bool {
    static var boolean: Self {
        Self(expected: "true or false") { text throws(SettingRefusal) in
            switch text {
            case "true", "True", "TRUE": true
            case "false", "False", "FALSE": false
            default: throw .unreadable
            }
        }
    }
}

extension SettingFormat where Value == Duration {
    /// The longest duration any setting takes; also keeps the arithmetic far from overflow.
    static var longest: Duration { .seconds(24 * 3600) }

    /// A duration where 0 turns the feature off.
    static var durationOrOff: Self {
        Self(expected: "a duration such as 30s, 2m or 0 (off)") { text throws(SettingRefusal) in
            try DurationText.duration(text, upTo: longest)
        }
    }

    /// A duration that must be more than 0.
    static var positiveDuration: Self {
        positiveDuration(upTo: longest)
    }

    /// A duration more than 0 and at most `limit`.
    static func positiveDuration(upTo limit: Duration) -> Self {
        Self(expected: "a duration such as 2s or 500ms") { text throws(SettingRefusal) in
            let duration = try DurationText.duration(text, upTo: limit)
            guard duration > .zero else { throw .notAllowed("more than 0, such as 2s or 500ms") }
            return duration
        }
    }
}

extension SettingFormat where Value == Int {
    /// A byte count from 1 to `limit`, written with an optional K, M or G.
    static func byteSize(upTo limit: Int) -> Self {
        let range = "from 1 byte to \(ByteSizeText.format(limit))"
        return Self(expected: "a size such as 16M, 512K or 1048576 (bytes), \(range)") { text throws(SettingRefusal) in
            guard let bytes = ByteSizeText.bytes(text) else { throw .unreadable }
            guard bytes >= 1, bytes <= Int128(limit) else { throw .notAllowed(range) }
            return Int(bytes)
        }
    }
}

extension SettingFormat where Value == String {
    /// A path to a folder or file. Relative paths are kept as written; the loader resolves them.
    static func path(to what: String) -> Self {
        Self(expected: "the path of \(what), absolute or relative to the config file's folder") { text throws(SettingRefusal) in
            guard !text.allSatisfy(\.isWhitespace) else { throw .unreadable }
            guard !text.contains("\0") else { throw .notAllowed("a path without NUL characters") }
            if text == "~" || text.hasPrefix("~/") {
                throw .notAllowed("an absolute path or one relative to the config file's folder (~ is not expanded)")
            }
            return text
        }
    }

    /// Text that is not empty or only spaces, such as a name.
    static func text(_ what: String) -> Self {
        Self(expected: what) { text throws(SettingRefusal) in
            guard !text.allSatisfy(\.isWhitespace) else { throw .unreadable }
            return text
        }
    }
}

extension SettingFormat where Value: RawRepresentable & CaseIterable, Value.RawValue == String {
    /// One of the enumeration's names, exactly as written, such as a log level or a decision.
    static var oneOfTheNames: Self {
        let names = Value.allCases.map(\.rawValue).joined(separator: ", ")
        return Self(expected: "one of \(names)") { text throws(SettingRefusal) in
            guard let value = Value(rawValue: text) else { throw .unreadable }
            return value
        }
    }
}

extension SettingFormat where Value == LogLevel {
    static var logLevel: Self { oneOfTheNames }
}

extension SettingFormat where Value == RuleSettings.ItemChange {
    /// When a change of item counts: concentrates, always or never.
    static var itemChange: Self { oneOfTheNames }
}

extension SettingFormat where Value == CheckLevel {
    /// What a failed pre-flight check does: error, warning or off.
    static var checkLevel: Self { oneOfTheNames }
}

extension SettingFormat where Value == String {
    /// A word or phrase the rules look for in a note, an item name or a processing step. The rules
    /// engine says what it can look for (``RuleSettings/problem(phrase:)``): a phrase with no
    /// letter or digit can match nothing, and the engine would drop it without a word, so it is
    /// refused here instead.
    static func phrase(_ expected: String) -> Self {
        Self(expected: expected) { text throws(SettingRefusal) in
            guard RuleSettings.problem(phrase: text) == nil else { throw .unreadable }
            return text
        }
    }
}
