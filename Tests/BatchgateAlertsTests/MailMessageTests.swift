import Foundation
import Testing
@testable import BatchgateAlerts

@Suite("Mail message")
struct MailMessageTests {
    func text(_ message: MailMessage) -> String { String(decoding: message.rendered(), as: UTF8.self) }

    @Test func rendersHeadersAndBodyWithCRLF() {
        let message = MailMessage(from: "batchgate@processor.example", to: ["compliance@example.com", "qa@example.com"],
                                  subject: "[batchgate] Needs a production batch: run.json", body: "line one\nline two\n",
                                  date: 1_795_000_000, messageID: "00aa-mail@processor-1")
        let rendered = text(message)
        #expect(rendered.hasPrefix("Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n"))
        #expect(rendered.contains("\r\nTo: compliance@example.com, qa@example.com\r\n"))
        #expect(rendered.contains("\r\nSubject: [batchgate] Needs a production batch: run.json\r\n"))
        #expect(rendered.contains("\r\nMessage-ID: <00aa-mail@processor-1>\r\n"))
        #expect(rendered.contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"))
        #expect(rendered.hasSuffix("\r\n\r\nline one\r\nline two\r\n"))
        #expect(!rendered.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "no bare line feed")
    }

    @Test func encodesANonASCIISubjectAndRefusesHeaderInjection() {
        let message = MailMessage(from: "a@b", to: ["c@d"], subject: "Café 🌿 run\r\nBcc: evil@example.com",
                                  body: "", date: 0, messageID: "x")
        let rendered = text(message)
        #expect(!rendered.contains("\r\nBcc:"))
        let subject = rendered.components(separatedBy: "\r\n").first { $0.hasPrefix("Subject: ") }
        #expect(subject?.hasPrefix("Subject: =?UTF-8?B?") == true)
        #expect(MailMessage.base64(Array("Café 🌿 run  Bcc: evil@example.com".utf8)).hasPrefix("Q2Fmw6kg8J+Mvy"))
    }

    @Test func base64MatchesTheStandard() {
        #expect(MailMessage.base64(Array("".utf8)) == "")
        #expect(MailMessage.base64(Array("f".utf8)) == "Zg==")
        #expect(MailMessage.base64(Array("fo".utf8)) == "Zm8=")
        #expect(MailMessage.base64(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(MailMessage.base64(Array(0...255)) == Data(Array(0...255)).base64EncodedString())
    }

    @Test func datesCarryTheRightWeekday() {
        #expect(MailMessage.rfc5322Date(0) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(MailMessage.rfc5322Date(1_795_000_000) == "Wed, 18 Nov 2026 11:06:40 +0000")
    }
}
