import CCurl
import Foundation
import Testing
import TestSupport
@testable import BatchgateHTTP

/// libcurl's codes and HTTP statuses turned into what to check: the mapping itself, and real
/// failures of real transfers read through it.
@Suite("Transfer advice", .serialized)
struct TransferAdviceTests {
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

    @Test func theAdviceSaysWhatToCheck() {
        #expect(TransferProblem.hostNotFound.advice(peer: .receiver, options: options)
                == "cannot resolve the host name: check the host name in the sink's url and this server's DNS")
        #expect(TransferProblem.noConnection.advice(peer: .mailServer, options: options)?
                    .hasPrefix("cannot connect to the SMTP server: is it up? check the host and port in the sink's url, a firewall or a proxy") == true)
        #expect(TransferProblem.timeout.advice(peer: .receiver, options: TransferOptions(connectTimeout: .milliseconds(500), timeout: .milliseconds(2500)))?
                    .hasPrefix("the receiver did not answer within 2.5s (alerts.timeout; connecting: 500ms)") == true)
        let certificate = TransferProblem.certificate.advice(peer: .receiver, options: options) ?? ""
        #expect(certificate.contains("check its certificate") && certificate.contains("CA bundle (ca-certificates") && certificate.contains("clock"))
        #expect(TransferProblem.credentials.advice(peer: .receiver, options: options)?.contains("token, headers, signing secret or webhook URL") == true)
        #expect(TransferProblem.credentials.advice(peer: .mailServer, options: options) == "the SMTP server refused the login: check the sink's username and password")
        #expect(TransferProblem.address.advice(peer: .receiver, options: options) == "the webhook URL is wrong or was deleted: check the sink's url")
        #expect(TransferProblem.receiverError.advice(peer: .receiver, options: options) == "the receiver has a problem; nothing to fix here")
        #expect(TransferProblem.status(400).advice(peer: .receiver, options: options) == nil, "the body says more than any advice")
        #expect(TransferProblem.transfer(3).advice(peer: .receiver, options: options) == nil)
    }

    @Test func anAnswerKeepsTheReceiversWordsAfterTheAdvice() {
        #expect(HTTPAnswer(status: 503, body: Array("down for\nmaintenance".utf8)).explained(options: options)
                == "HTTP 503: the receiver has a problem; nothing to fix here (down for maintenance)")
        #expect(HTTPAnswer(status: 404).explained(options: options) == "HTTP 404: the webhook URL is wrong or was deleted: check the sink's url")
        #expect(HTTPAnswer(status: 400, body: Array("invalid_blocks".utf8)).explained(options: options) == "HTTP 400: invalid_blocks")
        #expect(HTTPAnswer(status: 200, body: Array("ok".utf8)).explained(options: options) == "HTTP 200: ok")
        #expect(HTTPAnswer(status: 204).explained(options: options) == "HTTP 204")
    }

    @Test func aClosedPortIsExplainedWithLibcurlsOwnWordsKept() throws {
        let gone = try LoopbackHTTPServer()
        let port = gone.port
        gone.stop()
        let error = #expect(throws: TransferError.self) {
            try HTTPTransfer.post(HTTPRequest(url: "http://127.0.0.1:\(port)/hook", body: []), options: options)
        }
        let text = error?.explained(peer: .receiver, options: options) ?? ""
        #expect(text.hasPrefix("cannot connect to the receiver: is it up? check the host and port in the sink's url, a firewall or a proxy ("), "\(text)")
        // libcurl's error buffer, which names the address, rather than the code's name alone.
        #expect(text.contains("127.0.0.1") && text.hasSuffix("; curl error 7)"), "\(text)")
    }

    @Test func aHungReceiverIsExplainedWithTheTimeout() throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .hang)
        defer { withExtendedLifetime(server) {} }
        let short = TransferOptions(connectTimeout: .seconds(2), timeout: .milliseconds(500))
        let error = #expect(throws: TransferError.self) { try HTTPTransfer.post(HTTPRequest(url: server.url, body: []), options: short) }
        let text = error?.explained(peer: .receiver, options: short) ?? ""
        #expect(text.hasPrefix("the receiver did not answer within 500ms (alerts.timeout; connecting: 2s)"), "\(text)")
        #expect(text.hasSuffix("; curl error 28)"), "\(text)")
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
        let text = error?.explained(peer: .receiver, options: options) ?? ""
        #expect(text.hasPrefix("the TLS handshake with the receiver failed: check that it speaks TLS on that port"), "\(text)")
    }
}
