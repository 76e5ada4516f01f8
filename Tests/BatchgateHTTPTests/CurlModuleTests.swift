import CCurl
import Testing

/// The libcurl module builds, links and its typed shims reach the library.
@Suite("CCurl module")
struct CurlModuleTests {
    @Test func shimsSetOptionsAndReadInfo() throws {
        let handle = try #require(curl_easy_init())
        defer { curl_easy_cleanup(handle) }
        #expect(batchgate_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1) == CURLE_OK)
        #expect(batchgate_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, 5_000) == CURLE_OK)
        #expect(batchgate_curl_setopt_string(handle, CURLOPT_URL, "http://127.0.0.1:9/") == CURLE_OK)
        var code: Int = -1
        #expect(batchgate_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK)
        #expect(code == 0, "no transfer yet")
        let version = try #require(batchgate_curl_version_info())
        #expect(version.pointee.version_num >= 0x074400, "libcurl 7.68 or later")
    }
}
