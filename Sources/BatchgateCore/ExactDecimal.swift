/// The digits of a decimal number written without an exponent, gathered into one integer, so that
/// the common number (`408.72`) is read without making a `String` for `Double.init` (strtod), which
/// cost more than the rest of parsing the number.
struct ExactDecimal {
    private var significand: UInt64 = 0
    private var count = 0
    private var fractionCount = 0

    /// Adds the next digit (an ASCII byte `0`-`9`), before or after the decimal point.
    mutating func append(_ digit: UInt8, inFraction: Bool) {
        count += 1
        if inFraction { fractionCount += 1 }
        if count <= Self.exactDigits { significand = significand &* 10 &+ UInt64(digit &- UInt8(ascii: "0")) }
    }

    /// The most digits kept: 10^15 < 2^53, so the significand is an exact `Double`.
    private static let exactDigits = 15

    /// The value of the digits, equal to what `Double(text)` reads, or nil when there are too many
    /// digits to compute it exactly this way (the caller then asks `Double(text)`).
    ///
    /// Exact because both operands are exact doubles (the significand below 2^53, the power of
    /// ten at most 10^15, below 10^22) and IEEE division rounds correctly: the quotient is the
    /// correctly rounded decimal value, which is what strtod returns.
    var exactValue: Double? {
        guard count <= Self.exactDigits else { return nil }
        return Double(significand) / Self.powersOfTen[fractionCount]
    }

    private static let powersOfTen: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15]
}
