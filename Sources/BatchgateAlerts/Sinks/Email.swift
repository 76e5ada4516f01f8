import BatchgateCore
import BatchgateSystem
import BatchgateConfig

extension Sinks {
    /// E-mail through an SMTP server: a plain-text message a person can act on, with a subject
    /// that says what happened, sent by ``MailTransfer``.
    enum Email: SinkKind {
        /// A subject line and a plain-text body a person can act on.
        static func alert(_ message: AlertMessage) -> SinkMessage {
            let subject = "[batchgate] \(message.title)"
            // Every piece from a manifest on one line of its own: a line break in an item name
            // cannot forge a line of ours, nor a bare CR reach the mail.
            var lines = [oneLine(message.title), "", oneLine(message.summary), ""]
            for check in message.checks { lines += checkLines(check, indent: "") }
            if !message.checks.isEmpty { lines.append("") }
            for package in message.packagesToFix {
                let tag = package.tag.map(oneLine) ?? "\(package.position.packageIndex)"
                lines.append("Package \(tag)  \(oneLine(package.item ?? "")) \(package.category.map { "(\(oneLine($0)))" } ?? "")")
                for finding in package.findings { lines.append("  - \(oneLine(finding.message))") }
                if package.status == .invalid { for error in package.errors { lines.append("  - \(oneLine(error))") } }
                if let fix = package.fix { lines.append("  Fix: \(oneLine(fix))") }
                for check in package.checks { lines += checkLines(check, indent: "  ") }
                lines.append("")
            }
            for error in message.errors { lines.append("Error: \(oneLine(error))") }
            lines += ["", "Report: \(oneLine(message.reportPath))", "Host: \(oneLine(message.host))   Time: \(message.time)   Alert: \(message.id)"]
            return SinkMessage(body: Array((lines.joined(separator: "\n") + "\n").utf8), subject: subject)
        }

        /// A failed check as two lines: `- warning [id]: message`, then its fix.
        private static func checkLines(_ finding: CheckFinding, indent: String) -> [String] {
            ["\(indent)- \(oneLine(AlertMessage.line(finding)))", "\(indent)  fix: \(oneLine(finding.fix))"]
        }

        /// The subject of ``alert(_:)`` and a body of the title, the counts and where the report is.
        static func fallback(_ message: AlertMessage) -> SinkMessage {
            let lines = [oneLine(message.title), "", oneLine(message.summary), "", "Report: \(oneLine(message.reportPath))",
                         "Host: \(oneLine(message.host))   Time: \(message.time)   Alert: \(message.id)",
                         "", "(The full alert was refused by the mail server; the report has every package.)"]
            return SinkMessage(body: Array((lines.joined(separator: "\n") + "\n").utf8), subject: "[batchgate] \(message.title)")
        }

        /// A notice about the service: "[batchgate] Metrc unreachable (North Plant, 402-00123)",
        /// and a body of the headline, the text, a line per detail and the host, time and alert
        /// id. Each text on one line of its own, as in an alert: a line break in an error text
        /// cannot forge a line of ours, nor a bare CR reach the mail.
        static func notice(_ notice: NoticeMessage) -> SinkMessage {
            var lines = [oneLine(notice.headline), "", oneLine(notice.text), ""]
            lines += notice.details.map { "\(oneLine($0.label)): \(oneLine($0.value))" }
            lines += ["", "Host: \(oneLine(notice.host))   Time: \(notice.time)   Alert: \(notice.id)"]
            return SinkMessage(body: Array((lines.joined(separator: "\n") + "\n").utf8), subject: "[batchgate] \(notice.headline)")
        }

        /// The subject of ``notice(_:)`` and a body of the headline and the text.
        static func noticeFallback(_ notice: NoticeMessage) -> SinkMessage {
            let lines = [oneLine(notice.headline), "", oneLine(notice.text), "",
                         "Host: \(oneLine(notice.host))   Time: \(notice.time)   Alert: \(notice.id)",
                         "", "(The full notice was refused by the mail server; the journal has its details.)"]
            return SinkMessage(body: Array((lines.joined(separator: "\n") + "\n").utf8), subject: "[batchgate] \(notice.headline)")
        }

        /// A subject that says how many, and the lines.
        static func digest(_ digest: AlertDigest) -> SinkMessage {
            let subject = "[batchgate] \(digest.lines.count) manifests need attention" + (digest.facility.map { " (\($0))" } ?? "")
            let body = ([oneLine(digest.title), ""] + digest.lines.map { "- " + oneLine($0) }
                        + ["", "Host: \(oneLine(digest.host))   Time: \(digest.time)"])
                .joined(separator: "\n") + "\n"
            return SinkMessage(body: Array(body.utf8), subject: subject)
        }

        static func request(for delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
                            host: String, date: Double) -> SinkRequest {
            guard let settings = sink.email else {
                return .refused(reason: "the sink has no e-mail settings", answer: "no e-mail settings")
            }
            let message = message(for: delivery, settings: settings, host: host, date: date)
            // STARTTLS as configured: MailTransfer looks at it for smtp:// only, as smtps:// is encrypted from the start.
            return .mail(MailDelivery(url: secrets.url.exposedValue, from: settings.from, to: settings.to, message: message.rendered(),
                                      username: settings.username, password: secrets.password?.exposedValue,
                                      requireTLS: settings.starttls))
        }

        /// The message that goes to the server for `delivery`, dated `date`. Its Message-ID is the
        /// delivery's id at the sender's domain (stable across retries, as `Idempotency-Key` is for
        /// HTTP); `host` stands in when the sender's address gives no usable domain.
        static func message(for delivery: AlertDelivery, settings: DaemonConfig.AlertSink.Email, host: String,
                            date: Double) -> MailMessage {
            MailMessage(from: settings.from, to: settings.to, subject: delivery.subject ?? "[batchgate] alert",
                        body: String(decoding: delivery.body, as: UTF8.self), date: date,
                        messageID: MailMessage.messageID(for: delivery.id, sender: settings.from, host: host))
        }
    }
}

/// A plain-text e-mail as RFC 5322 bytes, ready for an SMTP upload: CRLF line ends, UTF-8 text
/// sent as quoted-printable, a subject encoded per RFC 2047 when it is not plain ASCII, long
/// headers folded. Every line is at most 78 characters (but for an address or a Message-ID longer
/// than a line, which cannot be cut) and every byte 7-bit (but for an address written in UTF-8),
/// so a strict server takes it without 8BITMIME and never meets a line over its limit of 998
/// octets. Pure: the caller gives the time and id.
struct MailMessage: Sendable, Equatable {
    var from: String
    var to: [String]
    var subject: String
    var body: String
    /// Seconds since 1970 for the Date header.
    var date: Double
    /// The Message-ID without brackets, such as `<alert id>@<sender's domain>`.
    var messageID: String

    init(from: String, to: [String], subject: String, body: String, date: Double, messageID: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.date = date
        self.messageID = messageID
    }

    /// RFC 5322's recommended line length, CRLF not counted: headers are folded to it.
    static let foldedLineLength = 78
    /// RFC 2045's longest quoted-printable line, a soft line break's `=` counted.
    static let quotedPrintableLineLength = 76

    /// The message, headers and body, with CRLF line ends.
    func rendered() -> [UInt8] {
        let headers = [
            "Date: \(Self.rfc5322Date(date))",
            Self.folded("From", [Self.headerSafe(from)]),
            Self.folded("To", to.map(Self.headerSafe)),
            "Subject: \(Self.encodedSubject(subject))",
            Self.folded("Message-ID", ["<\(Self.headerSafe(messageID))>"]),
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "Auto-Submitted: auto-generated",
        ]
        return Array((headers.joined(separator: "\r\n") + "\r\n\r\n").utf8) + Self.quotedPrintable(body)
    }

    /// Header values never carry a line break (no header injection from a file name).
    static func headerSafe(_ text: String) -> String {
        String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }

    /// `Name: a, b, c`, folded (RFC 5322 §2.2.3) before an item that would take the line past
    /// 78 characters, the first item included: an item (an address, a Message-ID) is never cut,
    /// so only an item longer than a line makes a longer one.
    static func folded(_ name: String, _ items: [String]) -> String {
        var lines: [String] = []
        var line = name + ":"
        for (index, item) in items.enumerated() {
            let separator = index + 1 < items.count ? "," : ""
            if line.utf8.count + 1 + item.utf8.count + separator.utf8.count > foldedLineLength && !line.isEmpty {
                lines.append(line)
                line = ""
            }
            line += " " + item + separator
        }
        lines.append(line)
        return lines.joined(separator: "\r\n")
    }

    /// The subject as the `Subject:` header's value: printable ASCII as it is, folded at spaces;
    /// anything else (non-ASCII, control characters, text that reads as an encoded-word, a word
    /// too long to fold) as RFC 2047 base64 encoded-words, one a line.
    static func encodedSubject(_ subject: String) -> String {
        let safe = headerSafe(subject)
        return foldedPlainSubject(safe) ?? encodedWords(safe)
    }

    /// `subject` folded before spaces so that every line, `Subject: ` included, is at most 78
    /// characters; nil when it cannot go as plain text.
    private static func foldedPlainSubject(_ subject: String) -> String? {
        // "=?" would be decoded by the reader as the start of an encoded-word.
        guard subject.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }), !subject.contains("=?") else { return nil }
        let words = subject.split(separator: " ", omittingEmptySubsequences: false)
        var lines: [String] = []
        var line = String(words[0])
        var used = "Subject: ".utf8.count + line.utf8.count
        for word in words.dropFirst() {
            // A fold before an empty word would leave a line of nothing but a space.
            if !word.isEmpty && used + 1 + word.utf8.count > foldedLineLength {
                lines.append(line)
                line = ""
                used = 0
            }
            line += " " + word
            used += 1 + word.utf8.count
        }
        lines.append(line)
        let firstLineRoom = foldedLineLength - "Subject: ".utf8.count
        guard lines[0].utf8.count <= firstLineRoom, lines.dropFirst().allSatisfy({ $0.utf8.count <= foldedLineLength }) else { return nil }
        return lines.joined(separator: "\r\n")
    }

    /// `text` as base64 encoded-words of whole code points, one per line: 39 bytes make 52
    /// base64 characters, 64 with `=?UTF-8?B?` and `?=`, so the first line with `Subject: ` is
    /// 73 characters, within RFC 2047's 76 for a line holding encoded-words (§2), and each word
    /// within its 75. A reader joins the words (the
    /// folding between them is not part of the text), so a character of several code points
    /// may be split between two.
    private static func encodedWords(_ text: String) -> String {
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > 39 {
                words.append("=?UTF-8?B?\(Base64.string(chunk))?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?\(Base64.string(chunk))?=") }
        return words.joined(separator: "\r\n ")
    }

    /// `text` as quoted-printable UTF-8 (RFC 2045 §6.7) with CRLF line ends: each line of the
    /// text (ended by LF or CRLF) becomes encoded lines of at most 76 characters joined by soft
    /// line breaks (`=` at the end). Literal are the printable ASCII characters but `=`, and
    /// spaces and tabs that do not end a line; the rest is `=XX`. A line that would start with
    /// `From ` starts with `=46rom ` (RFC 2049 §3), as some mailboxes would change it to `>From `.
    /// A leading `.` stays: the SMTP client doubles it on the wire and the server takes it off.
    static func quotedPrintable(_ text: String) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + text.utf8.count / 8)
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (number, line) in lines.enumerated() {
            if number > 0 { output += [0x0D, 0x0A] }
            let content = line.last == 0x0D ? line.dropLast() : line[...]
            appendQuotedPrintable(Array(content), to: &output)
        }
        return output
    }

    /// One line of text (without its line end) as quoted-printable lines joined by soft breaks.
    private static func appendQuotedPrintable(_ line: [UInt8], to output: inout [UInt8]) {
        let hex = Array("0123456789ABCDEF".utf8)
        /// The characters that stand for `line[index]`.
        func token(_ index: Int) -> ArraySlice<UInt8> {
            let byte = line[index]
            let isLast = index == line.count - 1
            let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 0x20 || byte == 0x09) && !isLast)
            return literal ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
        }
        let from = Array("From ".utf8)
        var used = 0
        for index in line.indices {
            var next = token(index)
            let fitsAsTheLast = index == line.count - 1 && used + next.count <= quotedPrintableLineLength
            if used + next.count > quotedPrintableLineLength - 1 && !fitsAsTheLast {
                output += [UInt8(ascii: "="), 0x0D, 0x0A]
                used = 0
            }
            if used == 0 && line[index...].starts(with: from) { next = [UInt8(ascii: "="), UInt8(ascii: "4"), UInt8(ascii: "6")] }
            output += next
            used += next.count
        }
    }

    /// `<id>@<domain>` for a delivery: the id and the domain of the `sender` address (after its
    /// last `@`) made a valid dot-atom and domain, so a reader's parser finds no defect; `host`
    /// when the sender's domain has nothing usable, `localhost` when the host has nothing either.
    static func messageID(for deliveryID: String, sender: String, host: String) -> String {
        let senderDomain = sender.lastIndex(of: "@").flatMap { domainName(String(sender[sender.index(after: $0)...])) }
        let domain = senderDomain ?? domainName(host) ?? "localhost"
        let id = deliveryID.unicodeScalars.map { isLetterOrDigit($0) || $0 == "-" || $0 == "_" || $0 == "." ? Character($0) : "-" }
        let dotAtom = String(id).split(separator: ".").joined(separator: ".")
        return (dotAtom.isEmpty ? "alert" : dotAtom) + "@" + domain
    }

    /// `text` as a domain name (RFC 1035's letters, digits and hyphens, dot-separated labels of
    /// at most 63 characters, 253 in all), other characters as `-`; nil when nothing is left.
    /// `[192.0.2.1]` becomes `192.0.2.1`; `bücher.example` becomes `b-cher.example`.
    static func domainName(_ text: String) -> String? {
        var labels: [String] = text.split(separator: ".").compactMap { label in
            let mapped = String(label.unicodeScalars.map { isLetterOrDigit($0) ? Character($0) : "-" }.prefix(63))
            let trimmed = mapped.drop { $0 == "-" }.reversed().drop { $0 == "-" }.reversed()
            return trimmed.isEmpty ? nil : String(trimmed)
        }
        // The right-hand labels say whose the domain is: the left ones go first.
        while labels.joined(separator: ".").utf8.count > 253 { labels.removeFirst() }
        return labels.isEmpty ? nil : labels.joined(separator: ".")
    }

    /// An ASCII letter or digit: what a domain label and a Message-ID's id keep as it is.
    private static func isLetterOrDigit(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    /// `Fri, 27 Nov 2026 01:00:00 +0000`.
    static func rfc5322Date(_ seconds: Double) -> String {
        let iso = Timestamp.iso8601(seconds)  // 2026-11-27T01:00:00.000Z
        let parts = iso.split(whereSeparator: { $0 == "-" || $0 == "T" || $0 == "." })
        guard parts.count >= 4, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else { return iso }
        let days = Int((seconds / 86_400).rounded(.down))
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((days % 7) + 7) % 7]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let dayText = day < 10 ? "0\(day)" : "\(day)"
        return "\(weekday), \(dayText) \(months[month - 1]) \(year) \(parts[3]) +0000"
    }
}
