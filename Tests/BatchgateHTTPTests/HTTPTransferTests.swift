import Foundation
import Testing
import TestSupport
@testable import BatchgateHTTP

/// libcurl POSTs to a real server on loopback.
@Suite("HTTP transfer: POST", .serialized)
struct HTTPTransferTests {
    @Test func postsTheBodyAndHeadersAndReadsTheStatus() throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .answer(status: 202, body: "accepted"))
        let body = Array(#"{"event": "needs-batch", "text": "é 🌿"}"#.utf8)
        let answer = try HTTPTransfer.post(HTTPRequest(
            url: server.url,
            headers: [("Content-Type", "application/json"), ("Idempotency-Key", "0123456789abcdef"), ("Authorization", "Bearer t")],
            body: body))
        #expect(answer == HTTPAnswer(status: 202, retryAfter: nil, body: Array("accepted".utf8)))
        #expect(answer.isSuccess)
        let request = try #require(server.requests.first)
        #expect(request.method == "POST")
        #expect(request.path == "/hook")
        #expect(Array(request.body) == body)
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["idempotency-key"] == "0123456789abcdef")
        #expect(request.headers["authorization"] == "Bearer t")
        #expect(request.headers["user-agent"] == "batchgate/0.1")
    }

    @Test(arguments: [400, 404, 500, 503])
    func returnsFailingStatusesAsAnswers(status: Int) throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .answer(status: status, body: "no"))
        let answer = try HTTPTransfer.post(HTTPRequest(url: server.url, body: []))
        #expect(answer.status == status)
        #expect(!answer.isSuccess)
    }

    @Test func readsRetryAfterInSecondsAndAsADate() throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .answer(status: 429, headers: [("Retry-After", "120")]))
        let first = try HTTPTransfer.post(HTTPRequest(url: server.url, body: []))
        #expect(first.retryAfter == 120, "\(first)")
        server.reply(with: .answer(status: 503, headers: [("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]))
        #expect(try HTTPTransfer.post(HTTPRequest(url: server.url, body: [])).retryAfter == 0, "a date in the past means now")
    }

    @Test func keepsOnlyTheFirstKiBOfTheAnswer() throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .answer(status: 500, body: String(repeating: "x", count: 5_000)))
        let answer = try HTTPTransfer.post(HTTPRequest(url: server.url, body: []))
        #expect(answer.body.count == HTTPTransfer.keptBodyBytes)
    }

    @Test func aHungEndpointTimesOut() throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .hang)
        defer { withExtendedLifetime(server) {} }
        let started = Date()
        let error = #expect(throws: TransferError.self) {
            try HTTPTransfer.post(HTTPRequest(url: server.url, body: []), options: TransferOptions(connectTimeout: .seconds(1), timeout: .milliseconds(500)))
        }
        #expect(error?.isTimeout == true, "\(String(describing: error))")
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func aClosedPortIsAConnectionError() throws {
        // A port bound but not listening refuses connections, and no other test can take it.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, length) == 0 ? getsockname(holder, $0, &length) : -1 }
        }
        let port = UInt16(bigEndian: address.sin_port)
        let error = #expect(throws: TransferError.self) {
            try HTTPTransfer.post(HTTPRequest(url: "http://127.0.0.1:\(port)/", body: []))
        }
        #expect(error?.code == 7, "CURLE_COULDNT_CONNECT: \(String(describing: error))")
    }

    @Test func refusesOtherProtocols() {
        let error = #expect(throws: TransferError.self) {
            try HTTPTransfer.post(HTTPRequest(url: "file:///etc/passwd", body: []))
        }
        #expect(error?.code == 1, "CURLE_UNSUPPORTED_PROTOCOL: \(String(describing: error))")
    }

    @Test func retryAfterDates() {
        #expect(RetryAfter.httpDate("Thu, 01 Jan 1970 00:00:10 GMT") == 10)
        #expect(RetryAfter.httpDate("Wed, 21 Oct 2015 07:28:00 GMT") == 1_445_412_480)
        #expect(RetryAfter.seconds("Wed, 21 Oct 2015 07:28:30 GMT", now: 1_445_412_480) == 30)
        #expect(RetryAfter.seconds(" 5 ", now: 0) == 5)
        #expect(RetryAfter.seconds(" 120\r\n", now: 0) == 120, "as a header line arrives")
        #expect(RetryAfter.seconds("soon", now: 0) == nil)
        #expect(RetryAfter.seconds("-3", now: 0) == nil)
    }
}
