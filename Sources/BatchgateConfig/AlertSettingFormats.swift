import BatchgateCore

// How the settings of the `alerts:` section are written, for ``DaemonConfig/Alerts`` and
// ``DaemonConfig/AlertSink``.

extension SettingFormat where Value == Duration {
    /// How long an alert is retried before it is given up: more than 0, at most 7 days.
    static var alertMaxAge: Self {
        let limit = DaemonConfig.Alerts.maxAgeLimit
        return Self(expected: "a duration such as 24h or 90m") { text throws(SettingRefusal) in
            let duration: Duration
            do throws(SettingRefusal) {
                duration = try DurationText.duration(text, upTo: limit)
            } catch {
                if case .notAllowed = error { throw .notAllowed("at most \(DurationText.format(limit))") }
                throw error
            }
            guard duration > .zero else { throw .notAllowed("more than 0, such as 24h or 90m") }
            return duration
        }
    }

    /// A sink's rate limit, kept as the shortest time between two messages; see ``RateText``.
    static var rateLimit: Self {
        Self(expected: "a rate such as 1/s, 30/m or 10/h, or off") { text throws(SettingRefusal) in
            try RateText.interval(text)
        }
    }
}

extension SettingFormat where Value == Int {
    /// How many waiting alerts make a digest: 0 (never) to 1000.
    static var digestThreshold: Self {
        let limit = DaemonConfig.AlertSink.largestDigestThreshold
        let range = "a whole number from 0 (never) to \(limit)"
        return Self(expected: range) { text throws(SettingRefusal) in
            guard !text.isEmpty, text.allSatisfy(DecimalDigits.isDigit) else { throw .unreadable }
            guard text.count <= 6, let number = Int(text), number <= limit else { throw .notAllowed(range) }
            return number
        }
    }
}

extension SettingFormat where Value == Decision {
    /// A decision as the audit log and folder names write it: accepted, needs-batch, rejected.
    static var decision: Self { oneOfTheNames }
}

extension SettingFormat where Value == DaemonConfig.AlertSink.SinkType {
    static var sinkType: Self {
        let names = DaemonConfig.AlertSink.SinkType.allCases.map(\.rawValue).joined(separator: ", ")
        return Self(expected: "one of \(names)") { text throws(SettingRefusal) in
            guard let type = DaemonConfig.AlertSink.SinkType(rawValue: text) else { throw .unreadable }
            return type
        }
    }
}

extension SettingFormat where Value == String {
    /// A sink's name: 1 to 64 ASCII letters, digits, `-` and `_` (it names the sink's outbox files).
    static var sinkName: Self {
        Self(expected: "a name of 1 to 64 letters, digits, - and _, such as compliance-slack") { text throws(SettingRefusal) in
            let allowed = text.unicodeScalars.allSatisfy { ASCII.isLetterOrDigit($0) || $0 == "-" || $0 == "_" }
            guard (1...64).contains(text.unicodeScalars.count), allowed else { throw .unreadable }
            return text
        }
    }

    /// A bare e-mail address: one `@` with text either side; no name, angle brackets, commas,
    /// spaces or control characters, so that it goes into a header and an SMTP command as it is.
    static var emailAddress: Self {
        Self(expected: "an e-mail address such as compliance@plant.example.com") { text throws(SettingRefusal) in
            let parts = text.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw .unreadable }
            guard !text.unicodeScalars.contains(where: { ASCII.isSpaceOrControl($0) || "<>,;\"".unicodeScalars.contains($0) }) else {
                throw .notAllowed(
                    "a bare e-mail address such as compliance@plant.example.com, without a name, <>, quotes, commas or spaces")
            }
            return text
        }
    }

    /// The name of the header a sink's signature goes in: an HTTP header name batchgate does not
    /// set otherwise.
    static var signingHeaderName: Self {
        Self(expected: "a header name such as X-Batchgate-Signature") { text throws(SettingRefusal) in
            guard HTTPHeaderName.isValid(text) else { throw .unreadable }
            guard !HTTPHeaderName.isSetByBatchgate(text) else {
                throw .notAllowed("a header batchgate does not set already (\(HTTPHeaderName.setByBatchgateList))")
            }
            return text
        }
    }
}

/// HTTP header names as RFC 9110 allows them (a "token"), and the ones batchgate sets itself.
enum HTTPHeaderName {
    /// The headers alert requests carry, which a sink's `headers` may not replace: the request's
    /// own, CloudEvents' binary-mode attributes (webhook sinks) and Standard Webhooks' signature
    /// headers (signing sinks).
    static let setByBatchgate = ["Content-Type", "Content-Length", "Host", "Idempotency-Key",
                                 "ce-id", "ce-source", "ce-type", "ce-specversion", "ce-time",
                                 "webhook-id", "webhook-timestamp", "webhook-signature"]

    /// ``setByBatchgate`` for a message.
    static var setByBatchgateList: String { setByBatchgate.joined(separator: ", ") }

    /// The characters of a token besides ASCII letters and digits.
    private static let symbols = Set("!#$%&'*+-.^_`|~".unicodeScalars)

    /// Whether `name` is one or more token characters.
    static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { ASCII.isLetterOrDigit($0) || symbols.contains($0) }
    }

    static func isSetByBatchgate(_ name: String) -> Bool {
        setByBatchgate.contains { same($0, name) }
    }

    /// Whether two header names are the same header (names ignore case).
    static func same(_ a: String, _ b: String) -> Bool {
        a.lowercased() == b.lowercased()
    }
}

/// The check of a sink's url written inline. A url from a file, credential or variable is checked
/// when it is read. Messages never show the url, which may hold a secret (a Slack webhook's does).
enum SinkURL {
    /// Why `url` is not a URL with one of `schemes` (such as `["http", "https"]`), or nil.
    static func problem(with url: String, schemes: [String]) -> String? {
        let written = schemes.map { "\($0)://" }
        let expected = "a URL starting with " + written.dropLast().joined(separator: ", ") + " or " + written.last!
        guard let separator = url.range(of: "://"), isScheme(url[..<separator.lowerBound]) else {
            return "must be \(expected); found a value with no scheme (not shown: the URL may be secret)"
        }
        let scheme = url[..<separator.lowerBound]
        guard schemes.contains(scheme.lowercased()) else {
            return "must be \(expected); found one starting with \"\(scheme)://\""
        }
        let rest = url[separator.upperBound...]
        guard let first = rest.first, first != "/", first != "?", first != "#" else {
            return "must be \(expected) and a host; found no host after \"\(scheme)://\""
        }
        guard !url.unicodeScalars.contains(where: ASCII.isSpaceOrControl) else {
            return "must be a URL without spaces or line breaks; found some (not shown: the URL may be secret)"
        }
        return nil
    }

    /// The scheme of `url` in lower case, when it has one.
    static func scheme(of url: String) -> String? {
        guard let separator = url.range(of: "://"), isScheme(url[..<separator.lowerBound]) else { return nil }
        return url[..<separator.lowerBound].lowercased()
    }

    /// A letter, then letters, digits, `+`, `-` or `.` (RFC 3986).
    private static func isScheme(_ text: Substring) -> Bool {
        guard let first = text.unicodeScalars.first, ASCII.isLetterOrDigit(first), !("0"..."9").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { ASCII.isLetterOrDigit($0) || "+-.".unicodeScalars.contains($0) }
    }
}

/// Character classes for the checks above.
enum ASCII {
    /// An ASCII letter or digit.
    static func isLetterOrDigit(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    /// White space (any, not only ASCII) or a control character such as CR, LF or NUL.
    static func isSpaceOrControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || scalar.properties.generalCategory == .control
    }
}
