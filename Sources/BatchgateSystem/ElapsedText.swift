/// A span of time for a person (the log, `batchgate status`): `3.4s`, `42s`, `10m 3s`, `2h`,
/// `2h 5m`, `3d 4h`. Two units at most, the larger first, a zero second unit left out; a tenth of a
/// second below 10 s. Always rounded down, as a clock reads: what is shown has passed in full, so an
/// age never reads older than it is (59.9 s is `59s`, not `1m`).
public enum ElapsedText {
    /// `seconds` as text; a span below zero (a clock stepped back) or not a number reads as none.
    public static func format(_ seconds: Double) -> String {
        // A hair above, so that a span computed as 0.3 (2.9999… tenths) is not cut to 0.2.
        let seconds = (seconds.isNaN ? 0 : max(0, seconds)) + 1e-9
        if seconds < 10 {
            let tenths = Int((seconds * 10).rounded(.down))
            return "\(tenths / 10).\(tenths % 10)s"
        }
        guard seconds < Double(Int.max / 2) else { return "\(Int.max / 2 / 86_400)d" }
        let whole = Int(seconds.rounded(.down))
        func pair(_ big: Int, _ bigUnit: String, _ small: Int, _ smallUnit: String) -> String {
            small == 0 ? "\(big)\(bigUnit)" : "\(big)\(bigUnit) \(small)\(smallUnit)"
        }
        switch whole {
        case ..<60: return "\(whole)s"
        case ..<3600: return pair(whole / 60, "m", whole % 60, "s")
        case ..<86_400: return pair(whole / 3600, "h", whole % 3600 / 60, "m")
        default: return pair(whole / 86_400, "d", whole % 86_400 / 3600, "h")
        }
    }
}
