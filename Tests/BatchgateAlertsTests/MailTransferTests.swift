import CCurl
import Foundation
import Testing
import TestSupport
@testable import BatchgateConfig
@testable import BatchgateAlerts

/// libcurl sends mail to a real SMTP server (aiosmtpd, Tests/TestSupport/smtp_server.py) on loopback, with a
/// self-signed certificate given as the CA file: TLS verification stays on throughout.
@Suite("Mail transfer", .serialized)
struct MailTransferTests {
    static let message = MailMessage(
        from: "batchgate@example.org", to: ["ops@example.org", "lab@example.net"],
        subject: "Manifest needs a batch — 🌿 lot 7",
        body: "The manifest needs a batch number.\n.a line starting with a dot\n..and two\n"
            + String(repeating: "Long enough to take more than one read callback.\n", count: 3_000),
        date: 1_795_741_200, messageID: "alert-1@batchgate.test"
    ).rendered()

    /// Without a line end at the end: libcurl adds one before the final dot.
    static let shortMessage = MailMessage(
        from: "batchgate@example.org", to: ["ops@example.org"], subject: "Short", body: "One line.",
        date: 1_795_741_200, messageID: "alert-2@batchgate.test"
    ).rendered()

    static func delivery(_ url: String, to: [String] = ["ops@example.org", "lab@example.net"], message: [UInt8] = message,
                         username: String? = nil, password: String? = nil, requireTLS: Bool = true) -> MailDelivery {
        MailDelivery(url: url, from: "batchgate@example.org", to: to, message: message,
                     username: username, password: password, requireTLS: requireTLS)
    }

    /// Whether the server got `message` byte for byte (dots unstuffed), with the line end libcurl
    /// adds before the final dot when the message has none. (Checked as a Bool: no 180 KB dump on failure.)
    static func arrivedIntact(_ received: [UInt8], _ message: [UInt8] = message) -> Bool {
        received == (message.suffix(2) == [13, 10] ? message : message + [13, 10])
    }

    @Test func startTLSWithLoginDelivers() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.startTLS, in: folder, user: "alerts", password: "s3cret pass")
        defer { server.stop() }
        let receipt = try MailTransfer.send(Self.delivery(server.url, username: "alerts", password: "s3cret pass"),
                                           options: folder.options)
        #expect(receipt.status == 250 && receipt.refused.isEmpty)
        let mail = try #require(try server.deliveries().first)
        #expect(try server.deliveries().count == 1)
        #expect(mail.mailFrom == "batchgate@example.org")
        #expect(mail.rcptTos == ["ops@example.org", "lab@example.net"])
        #expect(mail.tls)
        #expect(mail.login == "alerts")
        let intact = Self.arrivedIntact(mail.data)
        #expect(intact, "\(mail.data.count) bytes arrived for \(Self.message.count)")
        let text = String(decoding: mail.data, as: UTF8.self)
        #expect(text.contains("Subject: =?UTF-8?B?"))
        #expect(text.contains("\r\n.a line starting with a dot\r\n..and two\r\n"))
    }

    @Test func smtpsDelivers() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.implicitTLS, in: folder, user: "alerts", password: "pw")
        defer { server.stop() }
        let receipt = try MailTransfer.send(Self.delivery(server.url, to: ["ops@example.org"], message: Self.shortMessage,
                                                         username: "alerts", password: "pw"),
                                           options: folder.options)
        #expect(receipt.status == 250 && receipt.refused.isEmpty)
        let mail = try #require(try server.deliveries().first)
        #expect(mail.tls)
        #expect(mail.login == "alerts")
        #expect(mail.rcptTos == ["ops@example.org"])
        let intact = Self.arrivedIntact(mail.data, Self.shortMessage)
        #expect(intact, "\(String(decoding: mail.data, as: UTF8.self))")
    }

    @Test func aServerWithoutStartTLSGetsNothingWhenTLSIsRequired() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.plain, in: folder)
        defer { server.stop() }
        let error = #expect(throws: MailError.self) {
            try MailTransfer.send(Self.delivery(server.url), options: folder.options)
        }
        #expect(error?.code == 64, "CURLE_USE_SSL_FAILED: \(String(describing: error))")
        #expect(error?.isPermanent == true)
        #expect(error?.smtpStatus == nil, "the server refused nothing: \(String(describing: error))")
        #expect(error?.description.contains("STARTTLS") == true, "\(String(describing: error))")
        #expect(try server.deliveries().isEmpty)
    }

    @Test func inClearWithoutPasswordWhenTLSIsNotRequired() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.plain, in: folder)
        defer { server.stop() }
        let receipt = try MailTransfer.send(Self.delivery(server.url, requireTLS: false), options: folder.options)
        #expect(receipt.status == 250 && receipt.refused.isEmpty)
        let mail = try #require(try server.deliveries().first)
        #expect(!mail.tls)
        #expect(mail.login == nil)
        #expect(mail.rcptTos == ["ops@example.org", "lab@example.net"])
        let intact = Self.arrivedIntact(mail.data)
        #expect(intact, "\(mail.data.count) bytes arrived for \(Self.message.count)")
    }

    @Test func aPasswordIsNeverSentInClear() throws {
        // A plain server would take the mail (it offers no AUTH, so libcurl would send without a login).
        let folder = try TestFolder()
        let server = try SMTPTestServer(.plain, in: folder)
        defer { server.stop() }
        let error = #expect(throws: MailError.self) {
            try MailTransfer.send(Self.delivery(server.url, username: "alerts", password: "pw", requireTLS: false),
                                  options: folder.options)
        }
        #expect(error?.isPermanent == true)
        #expect(error?.message.contains("password") == true, "\(String(describing: error))")
        #expect(try server.deliveries().isEmpty)
    }

    @Test func aWrongPasswordIsPermanent() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.startTLS, in: folder, user: "alerts", password: "right")
        defer { server.stop() }
        let error = #expect(throws: MailError.self) {
            try MailTransfer.send(Self.delivery(server.url, username: "alerts", password: "wrong"), options: folder.options)
        }
        #expect(error?.code == 67, "CURLE_LOGIN_DENIED: \(String(describing: error))")
        #expect(error?.smtpStatus == 535)
        #expect(error?.isPermanent == true)
        #expect(error?.refusesMessage == false)
        #expect(error?.message.contains("535 5.7.8 Authentication credentials invalid") == true, "\(String(describing: error))")
        #expect(error?.description.contains("refused the login") == true)
        #expect(error?.description.contains("wrong") == false, "the password never appears")
        #expect(try server.deliveries().isEmpty)
    }

    @Test func aRefusedRecipientDoesNotKeepTheMailFromTheOthers() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.startTLS, in: folder, user: "alerts", password: "pw", refusedRecipient: "nobody@example.org")
        defer { server.stop() }
        let receipt = try MailTransfer.send(
            Self.delivery(server.url, to: ["ops@example.org", "nobody@example.org"], username: "alerts", password: "pw"),
            options: folder.options)
        #expect(receipt.status == 250)
        #expect(receipt.refused.map(\.address) == ["nobody@example.org"], "the refused one is named")
        #expect(receipt.refused.first?.reply.hasPrefix("550") == true, "\(receipt.refused)")
        #expect(try server.deliveries().map(\.rcptTos) == [["ops@example.org"]])
    }

    @Test func everyRecipientRefusedIsPermanent() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.startTLS, in: folder, user: "alerts", password: "pw", refusedRecipient: "nobody@example.org")
        defer { server.stop() }
        let error = #expect(throws: MailError.self) {
            try MailTransfer.send(Self.delivery(server.url, to: ["nobody@example.org"], username: "alerts", password: "pw"),
                                  options: folder.options)
        }
        #expect(error?.smtpStatus == 550, "\(String(describing: error))")
        #expect(error?.isPermanent == true)
        #expect(error?.refusesMessage == false, "another version of the alert would be refused the same")
        #expect(error?.message.contains("<nobody@example.org>: Recipient address rejected") == true, "\(String(describing: error))")
        #expect(try server.deliveries().isEmpty)
    }

    @Test func aClosedPortIsNotPermanent() throws {
        let port = try ClosedPort()
        let error = #expect(throws: MailError.self) {
            try MailTransfer.send(Self.delivery("smtp://127.0.0.1:\(port.number)"))
        }
        #expect(error?.code == 7, "CURLE_COULDNT_CONNECT: \(String(describing: error))")
        #expect(error?.isPermanent == false)
        #expect(error?.smtpStatus == nil)
        #expect(error?.description.hasPrefix("cannot connect to the SMTP server") == true, "\(String(describing: error))")
    }

    @Test(arguments: [SMTPTestServer.Mode.startTLS, .implicitTLS])
    func anUntrustedCertificateGetsNothing(mode: SMTPTestServer.Mode) throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(mode, in: folder, user: "alerts", password: "pw")
        defer { server.stop() }
        let error = #expect(throws: MailError.self) {
            try MailTransfer.send(Self.delivery(server.url, username: "alerts", password: "pw"),
                                  options: DaemonConfig.Alerts(connectTimeout: .seconds(5), timeout: .seconds(10)))
        }
        #expect(error?.code == 60, "CURLE_PEER_FAILED_VERIFICATION: \(String(describing: error))")
        #expect(error?.isPermanent == false, "a renewed certificate can fix it; retried until the alert is too old")
        #expect(error?.description.contains("not trusted") == true, "\(String(describing: error))")
        #expect(try server.deliveries().isEmpty)
    }

    @Test(arguments: ["http://127.0.0.1:9/", "file:///etc/passwd", "smtp.example.org:25", ""])
    func otherURLsAreRefused(url: String) {
        let error = #expect(throws: MailError.self) { try MailTransfer.send(Self.delivery(url)) }
        #expect(error?.code == 1, "CURLE_UNSUPPORTED_PROTOCOL: \(String(describing: error))")
        #expect(error?.isPermanent == true)
        #expect(error?.description.contains("smtp://") == true)
    }

    @Test func addressesThatCouldInjectAreRefused() {
        let bad = ["ops@example.org\r\nRCPT TO:<spy@example.com>", "ops@example.org\n", "<ops@example.org>",
                   "ops@example.org> NOTIFY=NEVER", "", "ops\0@example.org"]
        for address in bad {
            for delivery in [MailDelivery(url: "smtp://127.0.0.1:9", from: address, to: ["ops@example.org"], message: []),
                             MailDelivery(url: "smtp://127.0.0.1:9", from: "a@example.org", to: ["ops@example.org", address], message: [])] {
                let error = #expect(throws: MailError.self) { try MailTransfer.send(delivery) }
                #expect(error?.code == 43, "refused before any connection: \(address.debugDescription) \(String(describing: error))")
                #expect(error?.isPermanent == true)
            }
        }
        let none = #expect(throws: MailError.self) {
            try MailTransfer.send(MailDelivery(url: "smtp://127.0.0.1:9", from: "a@example.org", to: [], message: []))
        }
        #expect(none?.message == "the mail has no recipient")
        #expect(none?.isPermanent == true)
    }

    @Test func whichFailuresArePermanent() {
        #expect(MailError.failed(CURLE_SEND_ERROR, smtpStatus: 550, message: "").isPermanent)
        #expect(!MailError.failed(CURLE_SEND_ERROR, smtpStatus: 451, message: "").isPermanent)
        #expect(!MailError.failed(CURLE_WEIRD_SERVER_REPLY, smtpStatus: 421, message: "").isPermanent)
        #expect(MailError.failed(CURLE_LOGIN_DENIED, smtpStatus: 535, message: "").isPermanent)
        #expect(!MailError.failed(CURLE_LOGIN_DENIED, smtpStatus: 454, message: "").isPermanent, "454: try again later")
        #expect(MailError.failed(CURLE_USE_SSL_FAILED, smtpStatus: nil, message: "").isPermanent)
        #expect(!MailError.failed(CURLE_OPERATION_TIMEDOUT, smtpStatus: nil, message: "").isPermanent)
        #expect(!MailError.failed(CURLE_SSL_CONNECT_ERROR, smtpStatus: nil, message: "").isPermanent)
    }

    @Test func whichFailuresRefuseTheMessage() {
        #expect(MailError.failed(CURLE_RECV_ERROR, smtpStatus: 554, answering: .message, message: "").refusesMessage)
        #expect(MailError.failed(CURLE_WEIRD_SERVER_REPLY, smtpStatus: 500, answering: .message, message: "").refusesMessage)
        #expect(MailError.failed(CURLE_SEND_ERROR, smtpStatus: 552, answering: .sender, message: "").refusesMessage,
                "552 to MAIL FROM with SIZE: the message is too large")
        #expect(!MailError.failed(CURLE_SEND_ERROR, smtpStatus: 550, answering: .sender, message: "").refusesMessage)
        #expect(!MailError.failed(CURLE_SEND_ERROR, smtpStatus: 550, answering: .recipients, message: "").refusesMessage)
        #expect(!MailError.failed(CURLE_LOGIN_DENIED, smtpStatus: 535, answering: .session, message: "").refusesMessage)
        #expect(!MailError.failed(CURLE_RECV_ERROR, smtpStatus: 451, answering: .message, message: "").refusesMessage,
                "4xx: try the same again later")
        #expect(!MailError.failed(CURLE_RECV_ERROR, smtpStatus: 554, message: "").refusesMessage, "no reply seen: not known to be the message")
    }

    // The message as a strict server takes it, and the server's refusals as the transport reports them.

    /// An e-mail sink sending in clear to `server`, from the address the messages name.
    static func sink(_ server: SMTPTestServer, to: [String] = ["compliance@plant.example.com", "qa@plant.example.com"],
                     username: String? = nil, password: String? = nil) -> DaemonConfig.AlertSink {
        DaemonConfig.AlertSink(name: "compliance-mail", type: .email, url: .inline(server.url),
                               email: .init(from: "batchgate@plant.example.com", to: to, username: username,
                                            password: password.map { .inline($0) }, starttls: password != nil))
    }

    /// A message whose body is `body`, as it is, with CRLF line ends: not made by ``MailMessage``.
    static func rawMessage(body: String) -> [UInt8] {
        Array("From: batchgate@example.org\r\nTo: ops@example.org\r\nSubject: raw\r\n\r\n\(body)\r\n".utf8)
    }

    @Test func theServerTakesLinesOf998OctetsAndRefusesLongerOnesForTheirContent() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.plain, in: folder)
        defer { server.stop() }
        let longest = Self.rawMessage(body: String(repeating: "x", count: 998))
        _ = try MailTransfer.send(Self.delivery(server.url, message: longest, requireTLS: false), options: folder.options)
        for length in [999, 1_013] {
            let error = #expect(throws: MailError.self) {
                try MailTransfer.send(Self.delivery(server.url, message: Self.rawMessage(body: String(repeating: "x", count: length)),
                                                    requireTLS: false), options: folder.options)
            }
            #expect(error?.smtpStatus == 500, "\(length): \(String(describing: error))")
            #expect(error?.refusesMessage == true, "\(length): \(String(describing: error))")
            #expect(error?.description.contains("500 Line too long") == true, "\(String(describing: error))")
            #expect(error?.description.hasPrefix("the SMTP server refused the message itself") == true, "\(String(describing: error))")
        }
        #expect(try server.deliveries().count == 1)
        let intact = Self.arrivedIntact(try #require(try server.deliveries().first).data, longest)
        #expect(intact)
    }

    @Test func everyHostileMailGoesThroughAStrictServerAndReadsBack() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.plain, in: folder)
        defer { server.stop() }
        let mails = MailMessageTests.hostileMails()
        #expect(mails.contains { $0.name == "alert: 300 sources" })
        for (name, message) in mails {
            let mail = MailDelivery(url: server.url, from: message.from, to: message.to, message: message.rendered(), requireTLS: false)
            let receipt = try MailTransfer.send(mail, options: folder.options)
            #expect(receipt.status == 250, "\(name)")
        }
        let received = try server.deliveries()
        try #require(received.count == mails.count)
        for ((name, message), delivery) in zip(mails, received) {
            let intact = Self.arrivedIntact(delivery.data, message.rendered())
            #expect(intact, "\(name): \(delivery.data.count) bytes arrived")
        }
        let problems = try PythonMailReader.problems(zip(mails, received).map { mail, delivery in
            PythonMailReader.Expectation(name: mail.name, message: mail.message, raw: delivery.data)
        })
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    @Test func linesStartingWithADotArriveWithTheirDots() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.plain, in: folder)
        defer { server.stop() }
        let body = ".\n..\n.a leading dot\n" + String(repeating: "x", count: 75) + ".after a soft break\nthe end\n"
        let message = MailMessage(from: "batchgate@example.org", to: ["ops@example.org"], subject: "dots", body: body,
                                  date: 1_795_741_200, messageID: "dots@example.org")
        _ = try MailTransfer.send(Self.delivery(server.url, to: ["ops@example.org"], message: message.rendered(), requireTLS: false),
                                  options: folder.options)
        let received = try #require(try server.deliveries().first).data
        #expect(received == message.rendered())
        #expect(String(decoding: received, as: UTF8.self).contains("\r\n.\r\n..\r\n.a leading dot\r\n"))
        let problems = try PythonMailReader.problems([.init(name: "dots", message: message, raw: received)])
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test func aMessageRefusedForItsContentIsRefusedContentAndItsFallbackGoesThrough() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.plain, in: folder, refusedContent: "Forbidden Kush")
        defer { server.stop() }
        let sink = Self.sink(server)
        let transport = LibcurlAlertTransport(host: "plant-1")
        // The words are cut by a soft line break on the wire: the server reads the decoded text.
        let item = String(repeating: "x", count: 68) + " Forbidden Kush 1g"
        let alert = AlertDelivery(id: "3f9c2a71d04be815-compliance-mail", body: Array("\(item)\n".utf8), subject: "[batchgate] run")
        #expect(!String(decoding: Sinks.Email.message(for: alert, settings: sink.email!, host: "plant-1", date: 0).rendered(), as: UTF8.self)
            .contains("Forbidden Kush"))
        let refused = transport.send(alert, to: sink, secrets: sink.inlineSecrets, options: folder.options)
        guard case .refusedContent(let reason) = refused.attempt else {
            Issue.record("\(refused)")
            return
        }
        #expect(reason.contains("554 5.6.0 content refused"), "\(reason)")
        #expect(RetryPolicy().verdict(after: refused.attempt, attempt: 1, age: 0, jitter: 0) == .refusedContent)

        let fallback = AlertDelivery(id: alert.id, body: Array("Needs a production batch: run.json\n".utf8), subject: alert.subject)
        let sent = transport.send(fallback, to: sink, secrets: sink.inlineSecrets, options: folder.options)
        #expect(sent.attempt == .answered(status: 200, retryAfter: nil), "\(sent)")
        #expect(try server.deliveries().count == 1)
    }

    @Test func aMessageTooLargeForTheServerIsRefusedContent() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.plain, in: folder, sizeLimit: 4_000)
        defer { server.stop() }
        let sink = Self.sink(server)
        let transport = LibcurlAlertTransport(host: "plant-1")
        let large = AlertDelivery(id: "a-compliance-mail", body: Array(String(repeating: "Package line\n", count: 1_000).utf8), subject: "s")
        let refused = transport.send(large, to: sink, secrets: sink.inlineSecrets, options: folder.options)
        guard case .refusedContent(let reason) = refused.attempt else {
            Issue.record("\(refused)")
            return
        }
        #expect(reason.contains("552"), "SIZE is advertised: MAIL FROM says the size and is refused: \(reason)")
        let small = AlertDelivery(id: "a-compliance-mail", body: Array("Package line\n".utf8), subject: "s")
        #expect(transport.send(small, to: sink, secrets: sink.inlineSecrets, options: folder.options).attempt
                == .answered(status: 200, retryAfter: nil))
    }

    @Test func aRefusedLoginOrRecipientStaysRefused() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.startTLS, in: folder, user: "alerts", password: "right", refusedRecipient: "left@plant.example.com")
        defer { server.stop() }
        let transport = LibcurlAlertTransport(host: "plant-1")
        let alert = AlertDelivery(id: "3f9c2a71d04be815-compliance-mail", body: Array("text\n".utf8), subject: "s")
        let wrongLogin = Self.sink(server, username: "alerts", password: "wrong")
        let login = transport.send(alert, to: wrongLogin, secrets: wrongLogin.inlineSecrets, options: folder.options)
        guard case .refused(let loginReason) = login.attempt else {
            Issue.record("a refused login: \(login)")
            return
        }
        #expect(loginReason.contains("535"), "\(loginReason)")
        let everyoneLeft = Self.sink(server, to: ["left@plant.example.com"], username: "alerts", password: "right")
        let recipient = transport.send(alert, to: everyoneLeft, secrets: everyoneLeft.inlineSecrets, options: folder.options)
        guard case .refused(let recipientReason) = recipient.attempt else {
            Issue.record("a refused recipient: \(recipient)")
            return
        }
        #expect(recipientReason.contains("550"), "\(recipientReason)")
        #expect(try server.deliveries().isEmpty)
    }
}
