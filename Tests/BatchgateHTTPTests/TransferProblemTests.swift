import CCurl
import Foundation
import Testing
import TestSupport
@testable import BatchgateHTTP

/// libcurl's codes and HTTP statuses put in kinds of trouble: the mapping itself, and real
/// failures of real transfers, told in libcurl's own words. (What a person is told to check for
/// each kind is an alert sink's advice: BatchgateAlertsTests' SinkAdviceTests.)
@Suite("Transfer problems", .serialized)
struct TransferProblemTests {
    let options = TransferOptions(connectTimeout: .seconds(5), timeout: .seconds(15))

    @Test func eachCurlCodeOfAKnownCauseHasItsKind() {
        let kinds: [(CURLcode, TransferProblem)] = [
            (CURLE_COULDNT_RESOLVE_HOST, .hostNotFound), (CURLE_COULDNT_RESOLVE_PROXY, .hostNotFound),
            (CURLE_COULDNT_CONNECT, .noConnection), (CURLE_GOT_NOTHING, .connectionLost), (CURLE_RECV_ERROR, .connectionLost),
            (CURLE_OPERATION_TIMEDOUT, .timeout), (CURLE_PEER_FAILED_VERIFICATION, .certificate), (CURLE_SSL_CACERT_BADFILE, .certificate),
            (CURLE_SSL_CONNECT_ERROR, .tlsHandshake), (CURLE_USE_SSL_FAILED, .tlsRequired), (CURLE_LOGIN_DENIED, .credentials),
            (CURLE_URL_MALFORMAT, .transfer(3)),
        ]
        for (code, kind) in kinds {
            #expect(TransferProblem(curlCode: Int32(code.rawValue)) == kind, "\(code)")
        }
    }

    @Test func statusesArePutWithTheirCause() {
        #expect([401, 403].map(TransferProblem.init(httpStatus:)) == [.credentials, .credentials])
        #expect([404, 410].map(TransferProblem.init(httpStatus:)) == [.address, .address])
        #expect([408, 413, 429].map(TransferProblem.init(httpStatus:)) == [.timeout, .tooLarge, .rateLimited])
        #expect([500, 502, 503, 504].allSatisfy { TransferProblem(httpStatus: $0) == .receiverError }, "one cause: the receiver's")
        #expect(TransferProblem(httpStatus: 400) == .status(400))
        #expect(TransferProblem(httpStatus: 302) == .status(302))
    }

    @Test func aRefusedConnectionIsToldInLibcurlsOwnWords() throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }  // refusing until the test ends
        let error = #expect(throws: TransferError.self) {
            try HTTPTransfer.post(HTTPRequest(url: "http://127.0.0.1:\(refusing.port)/hook", body: []), options: options)
        }
        #expect(error.map { TransferProblem(curlCode: $0.code) } == .noConnection, "\(String(describing: error))")
        // libcurl's error buffer, which names the address, rather than the code's name alone.
        let text = error?.description ?? ""
        #expect(text.contains("127.0.0.1") && text.contains("\(refusing.port)") && text.hasSuffix(" (curl error 7)"), "\(text)")
    }

    @Test func aHungReceiverIsATimeout() throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .hang)
        defer { withExtendedLifetime(server) {} }
        let short = TransferOptions(connectTimeout: .seconds(2), timeout: .milliseconds(500))
        let error = #expect(throws: TransferError.self) { try HTTPTransfer.post(HTTPRequest(url: server.url, body: []), options: short) }
        #expect(error.map { TransferProblem(curlCode: $0.code) } == .timeout, "\(String(describing: error))")
        #expect(error?.isTimeout == true && error?.description.hasSuffix(" (curl error 28)") == true, "\(String(describing: error))")
    }

    @Test func httpsToAPlainReceiverIsAFailedHandshake() throws {
        // A receiver that speaks plain HTTP at once, as soon as a client connects: a TLS client
        // reads it as a record of no TLS version.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 ? getsockname(listener, $0, &length) : -1 }
        }
        try #require(bound == 0 && listen(listener, 4) == 0)
        let port = UInt16(bigEndian: address.sin_port)
        let answering = Thread {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let reply = Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            _ = reply.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            usleep(200_000)
            close(client)
        }
        answering.start()
        let error = #expect(throws: TransferError.self) {
            try HTTPTransfer.post(HTTPRequest(url: "https://127.0.0.1:\(port)/hook", body: []), options: options)
        }
        #expect(error.map { TransferProblem(curlCode: $0.code) } == .tlsHandshake, "\(String(describing: error))")
    }
}
