import Foundation
import Testing
import TestSupport
@testable import BatchgateHTTP

/// libcurl GETs from a real server on loopback, as the Metrc catalog reads its pages.
@Suite("HTTP transfer: GET", .serialized)
struct HTTPGetTests {
    /// What a server on loopback is asked for at `pathAndQuery`.
    private static func url(_ server: LoopbackHTTPServer, _ pathAndQuery: String) -> String {
        "http://127.0.0.1:\(server.port)\(pathAndQuery)"
    }

    @Test func sendsBasicAuthAndTheHeadersAndReadsTheAnswer() throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .answer(status: 200, headers: [("Content-Type", "application/json; charset=utf-8")], body: #"{"Data":[]}"#))
        // A password may hold a colon and any UTF-8: only the user name may not.
        let answer = try HTTPTransfer.get(url: Self.url(server, "/items/v2/active"), basicAuth: (user: "vendor-key", password: "user:key é"),
                                          headers: [("Accept", "application/json")], maximumBodyBytes: 1_000)
        #expect(answer == HTTPAnswer(status: 200, contentType: "application/json; charset=utf-8", body: Array(#"{"Data":[]}"#.utf8)))
        let request = try #require(server.requests.first)
        #expect(request.method == "GET")
        #expect(request.path == "/items/v2/active")
        #expect(request.body.isEmpty)
        let expected = "Basic " + Data("vendor-key:user:key é".utf8).base64EncodedString()
        #expect(request.headers["authorization"] == expected)
        #expect(request.headers["authorization"] == "Basic dmVuZG9yLWtleTp1c2VyOmtleSDDqQ==", "the same, worked out by hand")
        #expect(request.headers["accept"] == "application/json")
        #expect(request.headers["user-agent"] == "batchgate/0.1")
    }

    @Test func sendsNoAuthorizationWithoutCredentials() throws {
        let server = try LoopbackHTTPServer()
        _ = try HTTPTransfer.get(url: Self.url(server, "/unitsofmeasure/v2/active"), maximumBodyBytes: 100)
        let request = try #require(server.requests.first)
        #expect(request.headers["authorization"] == nil)
    }

    @Test func keepsTheQueryStringAsWritten() throws {
        let server = try LoopbackHTTPServer()
        // `%2B` must reach Metrc as written: decoded, it would be a space in the time zone.
        let pathAndQuery = "/packages/v2/active?licenseNumber=CUL000001&pageNumber=2&pageSize=20"
            + "&lastModifiedStart=2026-01-01T00:00:00%2B00:00&lastModifiedEnd=2026-01-02T00:00:00%2B00:00"
        _ = try HTTPTransfer.get(url: Self.url(server, pathAndQuery), basicAuth: ("v", "u"), maximumBodyBytes: 100)
        #expect(server.requests.map(\.path) == [pathAndQuery])
    }

    @Test(arguments: [false, true])
    func readsTheBodyWholeUpToTheLimit(sized: Bool) throws {
        let server = try LoopbackHTTPServer()
        // Larger than any buffer libcurl hands over at once, and not ASCII only.
        let body = String(repeating: #"{"Label":"1A4000000000000000012345","Name":"Blue Dream — 1 g"},"#, count: 4_000)
        let size = body.utf8.count
        server.reply(with: sized ? .answer(status: 200, body: body) : .answerUntilClose(status: 200, body: body))
        let answer = try HTTPTransfer.get(url: Self.url(server, "/packages/v2/active"), maximumBodyBytes: size)
        #expect(answer.body.count == size, "a body exactly at the limit is whole")
        #expect(answer.body == Array(body.utf8))
    }

    /// Over the limit by one byte, announced by a Content-Length (refused before reading) or
    /// not (refused as the bytes come): an error either way, never a body cut short.
    @Test(arguments: [false, true])
    func refusesABodyOverTheLimit(sized: Bool) throws {
        let server = try LoopbackHTTPServer()
        let body = String(repeating: "x", count: 100_001)
        server.reply(with: sized ? .answer(status: 200, body: body) : .answerUntilClose(status: 200, body: body))
        let error = #expect(throws: TransferError.self) {
            try HTTPTransfer.get(url: Self.url(server, "/packages/v2/active?licenseNumber=CUL000001"), maximumBodyBytes: 100_000)
        }
        #expect(error?.isTooLarge == true, "\(String(describing: error))")
        #expect(error?.message == "GET http://127.0.0.1:\(server.port)/packages/v2/active: the answer was larger than 100000 bytes, the most read for it")
    }

    @Test func readsRetryAfterAndReturnsRefusalsAsAnswers() throws {
        let server = try LoopbackHTTPServer()
        server.script([
            .answer(status: 429, headers: [("Retry-After", "7"), ("Content-Type", "text/plain")], body: "Too Many Requests"),
            .answer(status: 503, headers: [("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
            .answer(status: 401, headers: [("Content-Type", "text/plain")], body: "Authorization has been denied for this request."),
        ])
        let limited = try HTTPTransfer.get(url: Self.url(server, "/items/v2/active"), maximumBodyBytes: 1_000)
        #expect(limited == HTTPAnswer(status: 429, retryAfter: 7, contentType: "text/plain", body: Array("Too Many Requests".utf8)))
        let unavailable = try HTTPTransfer.get(url: Self.url(server, "/items/v2/active"), maximumBodyBytes: 1_000)
        #expect(unavailable.retryAfter == 0, "a date in the past means now")
        #expect(unavailable.contentType == nil)
        let denied = try HTTPTransfer.get(url: Self.url(server, "/items/v2/active"), maximumBodyBytes: 1_000)
        #expect(denied.status == 401)
        #expect(denied.retryAfter == nil)
        #expect(denied.bodyText == "Authorization has been denied for this request.")
    }

    @Test func doesNotFollowARedirect() throws {
        let elsewhere = try LoopbackHTTPServer()
        let server = try LoopbackHTTPServer()
        server.reply(with: .answer(status: 302, headers: [("Location", Self.url(elsewhere, "/collect"))], body: "moved"))
        let answer = try HTTPTransfer.get(url: Self.url(server, "/items/v2/active"), basicAuth: ("vendor-key", "user-key"), maximumBodyBytes: 1_000)
        #expect(answer.status == 302)
        #expect(answer.bodyText == "moved")
        #expect(server.requests.count == 1)
        #expect(elsewhere.requests.isEmpty, "the credentials went nowhere else")
    }

    @Test func aHungEndpointTimesOut() throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .hang)
        defer { withExtendedLifetime(server) {} }
        let started = Date()
        let error = #expect(throws: TransferError.self) {
            try HTTPTransfer.get(url: Self.url(server, "/items/v2/active?licenseNumber=CUL000001"), basicAuth: ("vendor-key", "user-key"),
                                 options: TransferOptions(connectTimeout: .seconds(1), timeout: .milliseconds(500)), maximumBodyBytes: 1_000)
        }
        #expect(error?.isTimeout == true, "\(String(describing: error))")
        #expect(error?.message.hasPrefix("GET http://127.0.0.1:\(server.port)/items/v2/active: ") == true, "\(String(describing: error))")
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func refusesCredentialsInTheURLBeforeConnecting() throws {
        let server = try LoopbackHTTPServer()
        let error = #expect(throws: TransferError.self) {
            try HTTPTransfer.get(url: "http://vendor-key:user-key@127.0.0.1:\(server.port)/items/v2/active", maximumBodyBytes: 1_000)
        }
        #expect(error?.message == "GET http://127.0.0.1:\(server.port)/items/v2/active: the URL carries a user name or password; "
            + "give credentials apart, so that no URL holds them")
        #expect(error?.description.contains("user-key") == false)
        #expect(server.requests.isEmpty)
    }

    @Test(arguments: ["file:///etc/passwd", "ftp://127.0.0.1/items", "gopher://127.0.0.1/"])
    func refusesOtherProtocols(url: String) {
        let error = #expect(throws: TransferError.self) {
            try HTTPTransfer.get(url: url, maximumBodyBytes: 1_000)
        }
        #expect(error?.code == 1, "CURLE_UNSUPPORTED_PROTOCOL: \(String(describing: error))")
    }

    @Test func refusesAnUnreadableURL() {
        let error = #expect(throws: TransferError.self) {
            try HTTPTransfer.get(url: "api-wv.metrc.com/items/v2/active", maximumBodyBytes: 1_000)
        }
        #expect(error?.code == 3, "CURLE_URL_MALFORMAT: \(String(describing: error))")
    }
}
