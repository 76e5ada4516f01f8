import Testing
import BatchgateSystem

/// The one way a span of time is written for a person, in the log and in `batchgate status`.
@Suite("Elapsed time as text")
struct ElapsedTextTests {
    /// Spans and their text; 275_459 s is 3 days, 4 hours and 59 seconds.
    static let spans: [(Double, String)] = [
        (0, "0.0s"), (0.04, "0.0s"), (0.3, "0.3s"), (3.45, "3.4s"), (9.99, "9.9s"), (10, "10s"), (45.9, "45s"), (59.9, "59s"),
        (200, "3m 20s"), (600, "10m"), (603, "10m 3s"), (3599.9, "59m 59s"), (7_200, "2h"), (7_500, "2h 5m"), (7_559, "2h 5m"),
        (86_400, "1d"), (275_459, "3d 4h"), (277_200, "3d 5h"),
    ]

    @Test(arguments: spans)
    func twoUnitsAtMostRoundedDown(seconds: Double, text: String) {
        #expect(ElapsedText.format(seconds) == text)
    }

    @Test func aSpanBelowZeroOrNotANumberIsNone() {
        #expect(ElapsedText.format(-5) == "0.0s", "a clock stepped back: nothing has passed")
        #expect(ElapsedText.format(.nan) == "0.0s")
        #expect(ElapsedText.format(.infinity).hasSuffix("d"))
    }
}
