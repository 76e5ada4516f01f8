import Foundation
import Testing
import BatchgateSystem
@testable import BatchgateConfig
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
        #expect(rendered.contains("\r\nContent-Transfer-Encoding: quoted-printable\r\n"))
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
        #expect(Base64.string(Array("Café 🌿 run  Bcc: evil@example.com".utf8)).hasPrefix("Q2Fmw6kg8J+Mvy"))
    }

    @Test func datesCarryTheRightWeekday() {
        #expect(MailMessage.rfc5322Date(0) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(MailMessage.rfc5322Date(1_795_000_000) == "Wed, 18 Nov 2026 11:06:40 +0000")
    }

    // Quoted-printable, RFC 2045 §6.7.

    /// The body as it is encoded, CRLF shown as LF.
    func encoded(_ body: String) -> String {
        String(decoding: MailMessage.quotedPrintable(body), as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    }

    @Test func quotedPrintableEncodesWhatIsNotPlainText() {
        #expect(encoded("1 + 1 = 2") == "1 + 1 =3D 2")
        #expect(encoded("Cre\u{301}me bru\u{302}le\u{301}e") == "Cre=CC=81me bru=CC=82le=CC=81e")
        #expect(encoded("Café 👨‍👩") == "Caf=C3=A9 =F0=9F=91=A8=E2=80=8D=F0=9F=91=A9")
        #expect(encoded("ends in a space \nand a tab\t\n") == "ends in a space=20\nand a tab=09\n", "trailing white space would be lost")
        #expect(encoded("a\tb c") == "a\tb c", "white space inside a line stays")
        #expect(encoded("nul\u{0} bell\u{7} esc\u{1B}[31m cr\ralone del\u{7F}") == "nul=00 bell=07 esc=1B[31m cr=0Dalone del=7F")
        #expect(encoded("From the line start\nnot From here\nFrom") == "=46rom the line start\nnot From here\nFrom")
        #expect(encoded(".a leading dot\n..two\n.") == ".a leading dot\n..two\n.", "the SMTP client dot-stuffs, the text keeps its dots")
        #expect(encoded("crlf\r\nlf\nend") == "crlf\nlf\nend", "CRLF and LF both end a line")
        #expect(encoded("") == "")
    }

    @Test func quotedPrintableLinesAreAtMost76WithSoftBreaks() {
        #expect(encoded(String(repeating: "x", count: 76)) == String(repeating: "x", count: 76), "76 fit on one line")
        #expect(encoded(String(repeating: "x", count: 77)) == String(repeating: "x", count: 75) + "=\nxx")
        #expect(encoded(String(repeating: "x", count: 200))
                == String(repeating: "x", count: 75) + "=\n" + String(repeating: "x", count: 75) + "=\n" + String(repeating: "x", count: 50))
        // An escape is never cut by a soft break: 74 + "=C3" would be 77.
        #expect(encoded(String(repeating: "x", count: 74) + "é") == String(repeating: "x", count: 74) + "=\n=C3=A9")
        // A space that ends a soft-broken line is followed by its "=": it stays a space.
        #expect(encoded(String(repeating: "x", count: 74) + " y" + String(repeating: "z", count: 80))
                == String(repeating: "x", count: 74) + " =\ny" + String(repeating: "z", count: 74) + "=\nzzzzzz")
        #expect(encoded(String(repeating: "x", count: 74) + "From here") == String(repeating: "x", count: 74) + "F=\nrom here",
                "only a line of the text starting with From is changed")
        for line in encoded(String(repeating: "é=\t ", count: 500) + " ").split(separator: "\n") {
            #expect(line.utf8.count <= 76, "\(line)")
            #expect(!line.hasSuffix(" ") && !line.hasSuffix("\t"), "\(line)")
        }
    }

    // Headers, RFC 5322 §2.2.3 and RFC 2047.

    /// The header lines of a rendered message (the first of a folded header and its continuations).
    func headerLines(_ message: MailMessage) -> [String] {
        let text = text(message)
        return Array(text[..<text.range(of: "\r\n\r\n")!.lowerBound].components(separatedBy: "\r\n"))
    }

    /// A header's value unfolded: each CRLF before white space taken out.
    func unfoldedHeader(_ name: String, _ message: MailMessage) -> String? {
        let lines = headerLines(message)
        guard let start = lines.firstIndex(where: { $0.hasPrefix(name + ":") }) else { return nil }
        let continuation = lines[(start + 1)...].prefix { $0.hasPrefix(" ") || $0.hasPrefix("\t") }
        return ([String(lines[start].dropFirst(name.count + 1))] + continuation).joined()
    }

    static func message(to: [String] = ["c@example.com"], subject: String = "s", body: String = "",
                        messageID: String = "x@example.com") -> MailMessage {
        MailMessage(from: "batchgate@plant.example.com", to: to, subject: subject, body: body, date: 0, messageID: messageID)
    }

    @Test func manyRecipientsAreFoldedBetweenAddresses() {
        let recipients = (1...12).map { "compliance-team-\($0)@plant.example.com" }
        let message = Self.message(to: recipients)
        #expect(headerLines(message).allSatisfy { $0.utf8.count <= 78 }, "\(headerLines(message))")
        #expect(headerLines(message).filter { $0.hasPrefix(" compliance-team-") }.count > 3, "folded")
        #expect(unfoldedHeader("To", message) == " " + recipients.joined(separator: ", "))
        // An address longer than a line goes on a line of its own, whole.
        let long = String(repeating: "l", count: 90) + "@plant.example.com"
        let lines = headerLines(Self.message(to: ["a@example.com", long, "b@example.com"]))
        #expect(lines.contains("To: a@example.com,") && lines.contains(" \(long),") && lines.contains(" b@example.com"), "\(lines)")
    }

    @Test func plainSubjectsAreFoldedAtSpaces() {
        let subject = "[batchgate] Needs a production batch: " + (1...20).map { "word\($0)" }.joined(separator: " ") + ".json (North Plant)"
        let message = Self.message(subject: subject)
        let lines = headerLines(message)
        #expect(lines.allSatisfy { $0.utf8.count <= 78 }, "\(lines)")
        #expect(lines.first { $0.hasPrefix("Subject: ") }?.hasPrefix("Subject: [batchgate] Needs") == true, "plain text, readable")
        #expect(unfoldedHeader("Subject", message) == " " + subject)
        // Two spaces: no line is left with nothing but a space.
        let spaced = Self.message(subject: String(repeating: "ab  ", count: 30))
        #expect(headerLines(spaced).allSatisfy { !$0.trimmingCharacters(in: .whitespaces).isEmpty && $0.utf8.count <= 78 })
        #expect(unfoldedHeader("Subject", spaced) == " " + String(repeating: "ab  ", count: 30))
    }

    @Test(arguments: [
        String(repeating: "x", count: 120),  // a word too long for a line
        "run =?UTF-8?B?QQ==?= .json",        // reads as an encoded-word
        "tab\there",                         // a control character
        "Cre\u{301}me 👨‍👩‍👧‍👦 " + String(repeating: "e\u{301}", count: 60),
    ])
    func otherSubjectsAreEncodedWordsWithinTheirLimits(subject: String) throws {
        let message = Self.message(subject: subject)
        let words = try #require(unfoldedHeader("Subject", message)).split(separator: " ")
        #expect(!words.isEmpty && words.allSatisfy { $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") && $0.count <= 75 }, "\(words)")
        #expect(headerLines(message).allSatisfy { $0.utf8.count <= 78 }, "\(headerLines(message))")
        // RFC 2047 §2: a line that holds an encoded-word is at most 76 characters, the first too.
        let subjectLines = headerLines(message).drop { !$0.hasPrefix("Subject: ") }.prefix { $0.hasPrefix("Subject: ") || $0.hasPrefix(" ") }
        #expect(!subjectLines.isEmpty && subjectLines.allSatisfy { $0.utf8.count <= 76 }, "\(subjectLines.map(\.utf8.count))")
        let decoded = words.map { word in Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))! }.reduce(Data(), +)
        #expect(String(decoding: decoded, as: UTF8.self) == subject, "each word is whole code points and together they are the subject")
    }

    // Message-ID.

    @Test func messageIDsNameTheSendersDomain() {
        #expect(MailMessage.messageID(for: "3f9c2a71d04be815-compliance-mail", sender: "batchgate@plant.example.com", host: "plant-1")
                == "3f9c2a71d04be815-compliance-mail@plant.example.com")
        #expect(MailMessage.messageID(for: "digest-6753baca", sender: "alerts@[192.0.2.1]", host: "plant-1") == "digest-6753baca@192.0.2.1")
        #expect(MailMessage.messageID(for: "a", sender: "alerts@bücher.example", host: "plant-1") == "a@b-cher.example")
        #expect(MailMessage.messageID(for: "a", sender: "alerts@-x-.example.", host: "plant-1") == "a@x.example")
        #expect(MailMessage.messageID(for: "a b<c>..d", sender: "alerts@plant.example", host: "plant-1") == "a-b-c-.d@plant.example")
        #expect(MailMessage.messageID(for: ".", sender: "alerts@plant.example", host: "plant-1") == "alert@plant.example")
        let long = MailMessage.messageID(for: "a", sender: "alerts@" + String(repeating: "l", count: 70) + ".example", host: "plant-1")
        #expect(long == "a@" + String(repeating: "l", count: 63) + ".example", "a label is at most 63 characters")
        let many = MailMessage.messageID(for: "a", sender: "alerts@" + String(repeating: "label.", count: 60) + "example", host: "h")
        #expect(many.utf8.count <= 2 + 253 && many.hasSuffix(".label.example"), "at most 253 in all, the right-hand labels kept")
        // Without a usable domain, the host's name; without that either, localhost.
        #expect(MailMessage.messageID(for: "a", sender: "alerts", host: "plant-1") == "a@plant-1")
        #expect(MailMessage.messageID(for: "a", sender: "alerts@...", host: "plant 1.local") == "a@plant-1.local")
        #expect(MailMessage.messageID(for: "a", sender: "alerts@", host: "") == "a@localhost")
    }

    @Test func theMessageIDStaysTheSameAcrossRetries() {
        let settings = DaemonConfig.AlertSink.Email(from: "batchgate@plant.example.com", to: ["compliance@plant.example.com"])
        let delivery = AlertDelivery(id: "3f9c2a71d04be815-compliance-mail", body: Array("text\n".utf8), subject: "s")
        let first = Sinks.Email.message(for: delivery, settings: settings, host: "plant-1", date: 1_795_000_000)
        let retry = Sinks.Email.message(for: delivery, settings: settings, host: "plant-1", date: 1_795_000_600)
        #expect(first.messageID == "3f9c2a71d04be815-compliance-mail@plant.example.com")
        #expect(retry.messageID == first.messageID)
        #expect(text(first).contains("\r\nMessage-ID: <3f9c2a71d04be815-compliance-mail@plant.example.com>\r\n"))
        let longID = Self.message(messageID: String(repeating: "i", count: 70) + "@plant.example.com")
        #expect(headerLines(longID).contains(" <\(longID.messageID)>"), "folded after the colon: \(headerLines(longID))")
    }

    // Every hostile alert, its fallback and every hostile digest, as a reader and a server see them.

    /// Each hostile alert, fallback and digest as the e-mail sink renders it.
    static func hostileMails() -> [(name: String, message: MailMessage)] {
        let settings = DaemonConfig.AlertSink.Email(from: "batchgate@plant.example.com",
                                                    to: ["compliance@plant.example.com", "qa@plant.example.com"])
        func mail(_ name: String, _ sink: SinkMessage) -> (String, MailMessage) {
            let delivery = AlertDelivery(id: "3f9c2a71d04be815-compliance-mail", body: sink.body, subject: sink.subject)
            return (name, Sinks.Email.message(for: delivery, settings: settings, host: "plant-1", date: 1_795_000_000))
        }
        var mails: [(String, MailMessage)] = []
        for (name, message) in HostileAlerts.messages() {
            mails.append(mail("alert: \(name)", Sinks.Email.alert(message)))
            mails.append(mail("fallback: \(name)", Sinks.Email.fallback(message)))
        }
        for (name, digest) in HostileAlerts.digests() { mails.append(mail("digest: \(name)", Sinks.Email.digest(digest))) }
        return mails
    }

    /// The lengths in octets of the lines of `bytes`, which must end each line with CRLF.
    static func lineLengths(_ bytes: [UInt8]) -> (lengths: [Int], bareLineEnds: Int) {
        var lengths: [Int] = []
        var bare = 0
        var current = 0
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x0D && index + 1 < bytes.count && bytes[index + 1] == 0x0A {
                lengths.append(current)
                current = 0
                index += 2
                continue
            }
            if bytes[index] == 0x0D || bytes[index] == 0x0A { bare += 1 }
            current += 1
            index += 1
        }
        lengths.append(current)
        return (lengths, bare)
    }

    @Test func everyHostileMailHasShortSevenBitLines() {
        for (name, message) in Self.hostileMails() {
            let bytes = message.rendered()
            let (lengths, bare) = Self.lineLengths(bytes)
            #expect(lengths.max()! <= 78, "\(name): a line of \(lengths.max()!) octets")
            #expect(lengths.allSatisfy { $0 <= 998 }, "\(name)")
            #expect(bare == 0, "\(name): \(bare) CR or LF outside a CRLF")
            #expect(bytes.allSatisfy { $0 < 0x80 }, "\(name): 8-bit bytes without 8BITMIME")
        }
    }

    @Test func everyHostileMailReadsBackAsWritten() throws {
        let mails = Self.hostileMails()
        #expect(mails.count == 2 * HostileAlerts.messages().count + HostileAlerts.digests().count)
        let problems = try PythonMailReader.problems(mails.map { PythonMailReader.Expectation(name: $0.name, message: $0.message) })
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    @Test func theReaderCheckFindsAMailThatDoesNotReadBack() throws {
        // The check itself can fail: a body sent as it is, but declared quoted-printable,
        // decodes to other text ("=3D" is "=").
        let message = Self.message(subject: "s", body: "a=3Db\n")
        #expect(text(message).hasSuffix("\r\n\r\na=3D3Db\r\n"))
        let raw = Array(text(message).replacingOccurrences(of: "a=3D3Db", with: "a=3Db").utf8)
        let problems = try PythonMailReader.problems([
            PythonMailReader.Expectation(name: "sent as it is", message: message, raw: raw),
            PythonMailReader.Expectation(name: "as rendered", message: message),
        ])
        #expect(problems.count == 1 && problems.first?.hasPrefix("sent as it is: text differs") == true, "\(problems)")
    }
}
