import CCurl
import Testing
@testable import BatchgateHTTP

/// The options every transfer gets, as libcurl takes them.
@Suite("HTTP transfer options")
struct TransferOptionsTests {
    @Test func timeoutsInWholeMillisecondsNeverZero() {
        #expect(TransferOptions.milliseconds(.seconds(15)) == 15_000)
        #expect(TransferOptions.milliseconds(.milliseconds(500)) == 500)
        #expect(TransferOptions.milliseconds(.seconds(1.25)) == 1_250)
        // libcurl reads 0 as "no limit": a limit under a millisecond stays a limit.
        #expect(TransferOptions.milliseconds(.microseconds(10)) == 1)
        #expect(TransferOptions.milliseconds(.seconds(Int64.max)) == 365 * 24 * 3600 * 1000, "no overflow")
    }

    @Test func everyOptionIsTakenOnceWithACAFile() throws {
        let handle = try #require(curl_easy_init())
        defer { curl_easy_cleanup(handle) }
        let results = TransferOptions(caFile: "/etc/ssl/certs/ca-certificates.crt")
            .apply(to: handle, protocols: Int(CURLPROTO_HTTP | CURLPROTO_HTTPS))
        #expect(results.allSatisfy { $0.0 == CURLE_OK }, "\(results.filter { $0.0 != CURLE_OK }.map(\.1))")
        let names = results.map(\.1)
        #expect(Set(names).count == names.count, "each option set once: \(names)")
        #expect(names.contains("the CA file"))
        #expect(names.contains("the system CA folder") == (TransferOptions.systemCAFolder != nil))
        #expect(!TransferOptions().apply(to: handle, protocols: Int(CURLPROTO_HTTP)).contains { $0.1 == "the CA file" })
    }
}
