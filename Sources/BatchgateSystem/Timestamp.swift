#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock times as ISO 8601 UTC text with milliseconds: `2026-11-27T00:10:00.123Z`.
public enum Timestamp {
    public static func iso8601(_ seconds: Double) -> String {
        // A time whose year does not fit `tm` (no clock gives one) prints as `1900-01-00T00:00:00`.
        let parts = System.utcCalendar(time_t(seconds.rounded(.down))) ?? tm()
        let millis = Int((seconds - seconds.rounded(.down)) * 1000)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
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
