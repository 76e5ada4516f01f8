import Foundation
import Testing
import TestSupport
import BatchgateHTTP
@testable import BatchgateAlerts

/// What an alert sink's log and dead letters tell a person to check for each kind of trouble
/// (``TransferProblem``), in the config's words, and how it is put beside what libcurl or the
/// receiver said.
@Suite("Sink advice")
struct SinkAdviceTests {
    let options = TransferOptions(connectTimeout: .seconds(5), timeout: .seconds(15))

    @Test func theAdviceSaysWhatToCheck() {
        #expect(TransferProblem.hostNotFound.advice(peer: .receiver, options: options)
                == "cannot resolve the host name: check the host name in the sink's url and this server's DNS")
        #expect(TransferProblem.noConnection.advice(peer: .mailServer, options: options)?
                    .hasPrefix("cannot connect to the SMTP server: is it up? check the host and port in the sink's url, a firewall or a proxy") == true)
        #expect(TransferProblem.timeout.advice(peer: .receiver, options: TransferOptions(connectTimeout: .milliseconds(500), timeout: .milliseconds(2500)))?
                    .hasPrefix("the receiver did not answer within 2500ms (alerts.timeout; connecting: 500ms)") == true)
        let certificate = TransferProblem.certificate.advice(peer: .receiver, options: options) ?? ""
        #expect(certificate.contains("check its certificate") && certificate.contains("CA bundle (ca-certificates; alerts.caFile") && certificate.contains("clock"))
        #expect(TransferProblem.credentials.advice(peer: .receiver, options: options)?.contains("token, headers, signing secret or webhook URL") == true)
        #expect(TransferProblem.credentials.advice(peer: .mailServer, options: options) == "the SMTP server refused the login: check the sink's username and password")
        #expect(TransferProblem.address.advice(peer: .receiver, options: options) == "the webhook URL is wrong or was deleted: check the sink's url")
        #expect(TransferProblem.rateLimited.advice(peer: .receiver, options: options)?.hasSuffix("a slower rateLimit on the sink avoids it") == true)
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

    @Test func aRefusedConnectionIsAdviceThenLibcurlsOwnWords() throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }  // refusing until the test ends
        let error = #expect(throws: TransferError.self) {
            try HTTPTransfer.post(HTTPRequest(url: "http://127.0.0.1:\(refusing.port)/hook", body: []), options: options)
        }
        let text = error?.explained(peer: .receiver, options: options) ?? ""
        #expect(text.hasPrefix("cannot connect to the receiver: is it up? check the host and port in the sink's url, a firewall or a proxy ("), "\(text)")
        #expect(text.contains("127.0.0.1") && text.hasSuffix("; curl error 7)"), "\(text)")
    }
}
