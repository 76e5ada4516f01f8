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
            var lines = [message.title, "", message.summary, ""]
            for package in message.packagesToFix {
                lines.append("Package \(package.tag ?? "\(package.position.packageIndex)")  \(package.item ?? "") \(package.category.map { "(\($0))" } ?? "")")
                for finding in package.findings { lines.append("  - \(finding.message)") }
                if package.status == .invalid { for error in package.errors { lines.append("  - \(error)") } }
                if let fix = package.fix { lines.append("  Fix: \(fix)") }
                lines.append("")
            }
            for error in message.errors { lines.append("Error: \(error)") }
            lines += ["", "Report: \(message.reportPath)", "Host: \(message.host)   Time: \(message.time)   Alert: \(message.id)"]
            return SinkMessage(body: Array((lines.joined(separator: "\n") + "\n").utf8), subject: subject)
        }

        /// The subject of ``alert(_:)`` and a body of the title, the counts and where the report is.
        static func fallback(_ message: AlertMessage) -> SinkMessage {
            let lines = [message.title, "", message.summary, "", "Report: \(message.reportPath)",
                         "Host: \(message.host)   Time: \(message.time)   Alert: \(message.id)",
                         "", "(The full alert was refused by the mail server; the report has every package.)"]
            return SinkMessage(body: Array((lines.joined(separator: "\n") + "\n").utf8), subject: "[batchgate] \(message.title)")
        }

        /// A subject that says how many, and the lines.
        static func digest(_ digest: AlertDigest) -> SinkMessage {
            let subject = "[batchgate] \(digest.lines.count) manifests need attention" + (digest.facility.map { " (\($0))" } ?? "")
            let body = ([digest.title, ""] + digest.lines.map { "- " + $0 } + ["", "Host: \(digest.host)   Time: \(digest.time)"])
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

        /// The message that goes to the server for `delivery`, dated `date`, its Message-ID the
        /// delivery's id at `host` (stable across retries, as `Idempotency-Key` is for HTTP).
        static func message(for delivery: AlertDelivery, settings: DaemonConfig.AlertSink.Email, host: String,
                            date: Double) -> MailMessage {
            MailMessage(from: settings.from, to: settings.to, subject: delivery.subject ?? "[batchgate] alert",
                        body: String(decoding: delivery.body, as: UTF8.self), date: date, messageID: "\(delivery.id)@\(host)")
        }
    }
}

/// A plain-text e-mail as RFC 5322 bytes, ready for an SMTP upload: CRLF line ends, UTF-8 text,
/// a subject encoded per RFC 2047 when it is not ASCII. Pure: the caller gives the time and id.
struct MailMessage: Sendable, Equatable {
    var from: String
    var to: [String]
    var subject: String
    var body: String
    /// Seconds since 1970 for the Date header.
    var date: Double
    /// The Message-ID without brackets, such as `<alert id>@<host>`.
    var messageID: String

    init(from: String, to: [String], subject: String, body: String, date: Double, messageID: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.date = date
        self.messageID = messageID
    }

    /// The message, headers and body, with CRLF line ends.
    func rendered() -> [UInt8] {
        var lines = [
            "Date: \(Self.rfc5322Date(date))",
            "From: \(Self.headerSafe(from))",
            "To: \(to.map(Self.headerSafe).joined(separator: ", "))",
            "Subject: \(Self.encodedSubject(subject))",
            "Message-ID: <\(Self.headerSafe(messageID))>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "Auto-Submitted: auto-generated",
            "",
        ]
        lines += body.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        return Array(lines.joined(separator: "\r\n").utf8)
    }

    /// Header values never carry a line break (no header injection from a file name).
    static func headerSafe(_ text: String) -> String {
        String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }

    /// ASCII subjects as they are; others as RFC 2047 base64 encoded-words of at most 75 characters.
    static func encodedSubject(_ subject: String) -> String {
        let safe = headerSafe(subject)
        if safe.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return safe }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in safe {
            let bytes = Array(String(character).utf8)
            // 45 bytes make 60 base64 characters: with "=?UTF-8?B?" and "?=", 72 in all.
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?\(base64(chunk))?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(base64(chunk))?=") }
        return words.joined(separator: "\r\n ")
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var output = ""
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            output.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : "=")
            output.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : "=")
            index += 3
        }
        return output
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
