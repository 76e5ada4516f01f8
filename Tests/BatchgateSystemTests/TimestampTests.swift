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

    /// At UTC 09:59:59 on 5 December it is still the 5th in UTC+14; at 10:00 the 6th begins there.
    @Test func theLatestDateOnEarthTurnsAtTenUTC() throws {
        let before = try #require(Timestamp.seconds(iso8601: "2026-12-05T09:59:59.999Z"))
        let at = try #require(Timestamp.seconds(iso8601: "2026-12-05T10:00:00Z"))
        #expect(Timestamp.latestDateOnEarth(at: before) == "2026-12-05")
        #expect(Timestamp.latestDateOnEarth(at: at) == "2026-12-06")
        // Across a year's end and a leap day.
        #expect(Timestamp.latestDateOnEarth(at: try #require(Timestamp.seconds(iso8601: "2026-12-31T10:00:00Z"))) == "2027-01-01")
        #expect(Timestamp.latestDateOnEarth(at: try #require(Timestamp.seconds(iso8601: "2028-02-28T23:00:00Z"))) == "2028-02-29")
    }
}
