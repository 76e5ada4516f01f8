import BatchgateCore

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

        /// A subject that says how many, and the lines.
        static func digest(_ digest: AlertDigest) -> SinkMessage {
            let subject = "[batchgate] \(digest.lines.count) manifests need attention" + (digest.facility.map { " (\($0))" } ?? "")
            let body = ([digest.title, ""] + digest.lines.map { "- " + $0 } + ["", "Host: \(digest.host)   Time: \(digest.time)"])
                .joined(separator: "\n") + "\n"
            return SinkMessage(body: Array(body.utf8), subject: subject)
        }
    }
}
