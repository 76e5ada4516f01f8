#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock times as ISO 8601 UTC text with milliseconds: `2026-11-27T00:10:00.123Z`.
public enum Timestamp {
    public static func iso8601(_ seconds: Double) -> String {
        // A time whose year does not fit `tm` (no clock gives one) prints as `1900-01-00T00:00:00`.
        let parts = System.utcCalendar(time_t(seconds.rounded(.down))) ?? tm()
        let millis = Int32((seconds - seconds.rounded(.down)) * 1000)
        // Written as bytes: the daemon stamps every manifest twice and every log line once, and
        // text made of interpolated, padded strings cost ten times as much.
        var text: [UInt8] = []
        text.reserveCapacity(24)
        appendDecimal(parts.tm_year + 1900, width: 4, then: "-", to: &text)
        appendDecimal(parts.tm_mon + 1, width: 2, then: "-", to: &text)
        appendDecimal(parts.tm_mday, width: 2, then: "T", to: &text)
        appendDecimal(parts.tm_hour, width: 2, then: ":", to: &text)
        appendDecimal(parts.tm_min, width: 2, then: ":", to: &text)
        appendDecimal(parts.tm_sec, width: 2, then: ".", to: &text)
        appendDecimal(millis, width: 3, then: "Z", to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// `value` in decimal with zeros in front up to `width` characters, as `String(value)` padded
    /// on the left would be (a minus sign counts as a character and comes after the zeros), then
    /// `separator`.
    private static func appendDecimal(_ value: Int32, width: Int, then separator: Unicode.Scalar, to text: inout [UInt8]) {
        var divisor: UInt32 = 1
        var digits = 1
        while value.magnitude / divisor >= 10 {
            divisor *= 10
            digits += 1
        }
        let sign = value < 0 ? 1 : 0
        for _ in 0..<max(0, width - digits - sign) { text.append(UInt8(ascii: "0")) }
        if sign == 1 { text.append(UInt8(ascii: "-")) }
        var rest = value.magnitude
        while divisor > 0 {
            text.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
        text.append(UInt8(ascii: separator))
    }

    public static func now() -> String { iso8601(System.wallClock()) }

    /// How far ahead of UTC the earliest time zone is: UTC+14 (Kiribati's Line Islands).
    static let earliestZoneOffset = 14.0 * 3600

    /// The latest calendar date anywhere on Earth at `seconds` since 1970, as `YYYY-MM-DD`: the UTC
    /// date 14 hours on. A date that is today in any time zone is then never later than it, so a
    /// check of "a date in the future" never refuses a correct one, wherever the facility is.
    public static func latestDateOnEarth(at seconds: Double) -> String {
        String(iso8601(seconds + earliestZoneOffset).prefix(10))
    }
}
