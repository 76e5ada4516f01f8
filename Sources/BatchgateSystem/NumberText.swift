/// Numbers written for people (the log, command output) without Foundation's `String(format:)`.
public enum NumberText {
    /// `value` rounded to `digits` decimals (0 to 6), written with a point: `fixed(2.345, 1)` is `2.3`.
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return String(value) }
        let places = min(max(0, digits), 6)
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let sign = value < 0 && scaled != 0 ? "-" : ""
        let whole = scaled / Int64(scale)
        guard places > 0 else { return sign + String(whole) }
        let fraction = String(scaled % Int64(scale))
        return sign + String(whole) + "." + String(repeating: "0", count: places - fraction.count) + fraction
    }
}
