import Testing
@testable import BatchgateSystem

/// ISO 8601 times as batchgate writes them, and read back (`audit.jsonl`'s `time`).
@Suite struct TimestampTests {
    @Test func readsBackTheTimesBatchgateWrites() {
        #expect(Timestamp.seconds(iso8601: "1970-01-01T00:00:00Z") == 0)
        #expect(Timestamp.seconds(iso8601: "2026-11-27T00:10:00.250Z") == 1_795_738_200.25)
        #expect(Timestamp.seconds(iso8601: "2026-11-27T02:10:00+02:00") == 1_795_738_200)
        #expect(Timestamp.seconds(iso8601: "2024-02-29T12:00:00Z") != nil)
        for text in ["2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-27T00:10:00", "2026-11-27 00:10:00Z",
                     "2026-11-27T00:10:00.Z", "2026-11-27T00:10:00Zjunk", "2026-11-27T24:00:00Z", ""] {
            #expect(Timestamp.seconds(iso8601: text) == nil, "\(text)")
        }
        // Whatever Timestamp writes reads back to the millisecond, across years and leap days.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let seconds = Double(Int.random(in: 0...4_102_444_800, using: &generator)) + Double(Int.random(in: 0...999)) / 1000
            let back = Timestamp.seconds(iso8601: Timestamp.iso8601(seconds))
            #expect(back.map { abs($0 - seconds) < 0.0015 } == true, "\(Timestamp.iso8601(seconds))")
        }
    }
}
