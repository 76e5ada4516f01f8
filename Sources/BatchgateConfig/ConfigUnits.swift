/// Durations as the config file writes them: `500ms`, `30s`, `2m`, `1h`, `365d`, or a plain number
/// of seconds. Fractions are allowed (`1.5`, `0.25s`); signs, exponents and spaces are not.
/// Parsed exactly, in attoseconds, so `0.1s` is exactly 100 milliseconds.
public enum DurationText {
    private static let units: [(suffix: String, attoseconds: Int128)] = [
        ("ms", 1_000_000_000_000_000),
        ("s", 1_000_000_000_000_000_000),
        ("m", 60_000_000_000_000_000_000),
        ("h", 3_600_000_000_000_000_000_000),
        ("d", 86_400_000_000_000_000_000_000),
    ]
    private static let attosecondsPerSecond: Int128 = 1_000_000_000_000_000_000

    /// The duration `text` stands for, refusing text that is not a duration and durations above `limit`.
    static func duration(_ text: String, upTo limit: Duration) throws(SettingRefusal) -> Duration {
        guard let attoseconds = attoseconds(text) else { throw .unreadable }
        let (limitSeconds, limitAttoseconds) = limit.components
        guard attoseconds <= Int128(limitSeconds) * attosecondsPerSecond + Int128(limitAttoseconds) else {
            throw .notAllowed("at most \(format(limit))")
        }
        return Duration(
            secondsComponent: Int64(attoseconds / attosecondsPerSecond),
            attosecondsComponent: Int64(attoseconds % attosecondsPerSecond)
        )
    }

    /// The attoseconds `text` stands for, or nil when it is not written as a duration. A number too
    /// large to count gives `Int128.max`, so that the caller reports a limit rather than a form.
    static func attoseconds(_ text: String) -> Int128? {
        let unit = units.first { text.hasSuffix($0.suffix) && text.count > $0.suffix.count }
        let number = unit.map { String(text.dropLast($0.suffix.count)) } ?? text
        let perUnit = unit?.attoseconds ?? attosecondsPerSecond
        guard let (whole, fraction) = DecimalDigits.split(number) else { return nil }

        guard whole.count <= 20,
              case let (wholePart, overflow) = Int128(whole)!.multipliedReportingOverflow(by: perUnit), !overflow
        else { return .max }
        // Digits finer than an attosecond are dropped; the rest divide the unit exactly.
        let kept = fraction.prefix(DecimalDigits.trailingZeros(of: perUnit))
        let fractionPart = kept.isEmpty ? 0 : Int128(kept)! * (perUnit / DecimalDigits.power(kept.count))
        return wholePart + fractionPart
    }

    /// The shortest way to write `duration` that reads back the same: `0`, `365d`, `2h`, `30s`, `500ms`, `0.25s`.
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
        switch (seconds, attoseconds) {
        case (0, 0): return "0"
        case (_, 0) where seconds % 86_400 == 0: return "\(seconds / 86_400)d"
        case (_, 0) where seconds % 3600 == 0: return "\(seconds / 3600)h"
        case (_, 0) where seconds % 60 == 0: return "\(seconds / 60)m"
        case (_, 0): return "\(seconds)s"
        case _ where attoseconds % attosecondsPerMillisecond == 0:
            return "\(seconds * 1000 + attoseconds / attosecondsPerMillisecond)ms"
        default:
            let digits = String(attoseconds)
            var fraction = String(repeating: "0", count: 18 - digits.count) + digits
            while fraction.hasSuffix("0") { fraction.removeLast() }
            return "\(seconds).\(fraction)s"
        }
    }
}

/// Rates as the config file writes them: `1/s`, `30/m`, `10/h` (at most that many messages a
/// second, minute or hour), or `off` or `0` for no limit. Kept as the shortest time between two
/// messages: `30/m` is one every 2s, `0` no limit.
enum RateText {
    private static let units: [(suffix: String, seconds: Int64)] = [("s", 1), ("m", 60), ("h", 3600)]
    private static let attosecondsPerSecond: Int128 = 1_000_000_000_000_000_000
    /// The most messages a rate may allow in its unit of time.
    static let largestCount = 1000

    /// The shortest time between two messages at the rate `text` stands for; zero for no limit.
    static func interval(_ text: String) throws(SettingRefusal) -> Duration {
        if ["0", "off", "Off", "OFF"].contains(text) { return .zero }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let unit = units.first(where: { $0.suffix == parts[1] }),
              !parts[0].isEmpty, parts[0].allSatisfy(DecimalDigits.isDigit)
        else { throw .unreadable }
        guard parts[0].count <= 6, let count = Int(parts[0]), (1...largestCount).contains(count) else {
            throw .notAllowed("a rate of 1 to \(largestCount) messages a second, minute or hour, such as 1/s, 30/m or 10/h, or off")
        }
        return duration(attoseconds: Int128(unit.seconds) * attosecondsPerSecond / Int128(count))
    }

    private static func duration(attoseconds: Int128) -> Duration {
        Duration(
            secondsComponent: Int64(attoseconds / attosecondsPerSecond),
            attosecondsComponent: Int64(attoseconds % attosecondsPerSecond)
        )
    }
}

/// Byte counts as the config file and the command line (`check --max-size`) write them: a whole
/// number of bytes, optionally followed by K, M or G (powers of 1024), then optionally by B or iB,
/// any case: `1048576`, `512K`, `16M`, `16MB`, `16MiB`, `1g`. A leading `+` is allowed, as the
/// command line always took one.
public enum ByteSizeText {
    private static let units: [Character: Int128] = [
        "K": 1 << 10, "k": 1 << 10,
        "M": 1 << 20, "m": 1 << 20,
        "G": 1 << 30, "g": 1 << 30,
    ]

    /// The bytes `text` stands for, or nil when it is not written as a size. A number too large to
    /// count gives `Int128.max`, so that the caller reports a limit rather than a form.
    public static func bytes(_ text: String) -> Int128? {
        var number = Substring(text)
        if number.hasPrefix("+") { number = number.dropFirst() }
        let lowered = number.lowercased()
        if lowered.hasSuffix("ib") { number = number.dropLast(2) } else if lowered.hasSuffix("b") { number = number.dropLast() }
        let multiplier = number.last.flatMap { units[$0] }
        if multiplier != nil { number = number.dropLast() }
        guard !number.isEmpty, number.allSatisfy(DecimalDigits.isDigit) else { return nil }
        guard number.count <= 20,
              case let (bytes, overflow) = Int128(number)!.multipliedReportingOverflow(by: multiplier ?? 1), !overflow
        else { return .max }
        return bytes
    }

    /// The shortest way to write `bytes`: `1G`, `16M`, `512K` or a plain number.
    public static func format(_ bytes: Int) -> String {
        for (suffix, size) in [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] where bytes != 0 && bytes % size == 0 {
            return "\(bytes / size)\(suffix)"
        }
        return String(bytes)
    }
}

/// Helpers for numbers written in decimal.
enum DecimalDigits {
    static func isDigit(_ character: Character) -> Bool {
        ("0"..."9").contains(character)
    }

    /// `12.5` as (`12`, `5`); `12` as (`12`, ``); nil for anything that is not digits with at most
    /// one dot between digits.
    static func split(_ number: String) -> (whole: Substring, fraction: Substring)? {
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy(isDigit) else { return nil }
        guard parts.count == 2 else { return (whole, "") }
        let fraction = parts[1]
        guard !fraction.isEmpty, fraction.allSatisfy(isDigit) else { return nil }
        return (whole, fraction)
    }

    static func power(_ exponent: Int) -> Int128 {
        (0..<exponent).reduce(1) { value, _ in value * 10 }
    }

    static func trailingZeros(of value: Int128) -> Int {
        var value = value, count = 0
        while value != 0 && value % 10 == 0 {
            value /= 10
            count += 1
        }
        return count
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`: for the timers and libcurl options that take
    /// seconds, while the config keeps the exact `Duration` it read.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
