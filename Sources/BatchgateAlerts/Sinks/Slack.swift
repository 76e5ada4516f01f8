import BatchgateCore
import BatchgateConfig

extension Sinks {
    /// A Slack incoming webhook: Block Kit messages with a fallback `text`, within Slack's limits
    /// (50 blocks, 150 characters of header, 3,000 of section), file names escaped so that none
    /// becomes a link or a mention. Sent as the POST of ``Webhook``; Slack's one message a second
    /// is the sink's default rate limit (``DaemonConfig/AlertSink/SinkType/defaultRateLimit``).
    enum Slack: SinkKind {
        /// A Slack incoming-webhook message: `text` as the fallback, and Block Kit `blocks`.
        static func alert(_ message: AlertMessage) -> SinkMessage {
            var json = JSONWriter()
            json.slackMessage(fallback: "\(message.title) — \(message.summary)") { json in
                json.slackHeader(message.title)
                json.slackSection("*\(escapeMrkdwn(message.summary))*\nReport: `\(escapeMrkdwn(message.reportPath))`")
                // Slack allows 50 blocks: header, summary, up to 46 packages or errors, a remainder, context.
                let lines = packageLines(of: message) + message.errors.map { "Error: \(escapeMrkdwn($0))" }
                for line in lines.prefix(46) { json.slackSection(String(line.prefix(3000))) }
                if lines.count > 46 { json.slackSection("… and \(lines.count - 46) more in the report.") }
                json.slackContext("batchgate on \(escapeMrkdwn(message.host)) · \(message.time) · alert \(message.id)")
            }
            return SinkMessage(body: json.bytes)
        }

        /// Only the notification `text`: the title, the counts and the report's path.
        static func fallback(_ message: AlertMessage) -> SinkMessage {
            var json = JSONWriter()
            json.beginObject()
            json.key("text"); json.string(escapeMrkdwn("\(message.title) — \(message.summary) Report: \(message.reportPath)"))
            json.endObject()
            return SinkMessage(body: json.bytes)
        }

        private static func packageLines(of message: AlertMessage) -> [String] {
            message.packagesToFix.map { package in
                var line = "*\(package.tag ?? "package \(package.position.packageIndex)")*"
                if let item = package.item { line += " \(escapeMrkdwn(item))" }
                if let category = package.category { line += " (\(escapeMrkdwn(category)))" }
                line += package.status == .invalid ? " — invalid" : " — needs a production batch"
                for finding in package.findings { line += "\n• \(escapeMrkdwn(finding.message))" }
                if package.status == .invalid { for error in package.errors { line += "\n• \(escapeMrkdwn(error))" } }
                if let fix = package.fix { line += "\n*Fix:* \(escapeMrkdwn(fix))" }
                return line
            }
        }

        /// A header, the lines in sections of up to 40 lines each (3,000 characters at most),
        /// within Slack's 50 blocks.
        static func digest(_ digest: AlertDigest) -> SinkMessage {
            var json = JSONWriter()
            let lines = digest.lines
            let fallback = "\(digest.title): " + lines.prefix(5).joined(separator: "; ") + (lines.count > 5 ? "; …" : "")
            json.slackMessage(fallback: fallback) { json in
                json.slackHeader(digest.title)
                let groups = chunks(lines.map(escapeMrkdwn), maxLines: 40, maxCharacters: 2_900)
                for group in groups.prefix(47) { json.slackSection(group.map { "• " + $0 }.joined(separator: "\n")) }
                if groups.count > 47 {
                    json.slackSection("… and \(groups.dropFirst(47).reduce(0) { $0 + $1.count }) more.")
                }
                json.slackContext("batchgate on \(escapeMrkdwn(digest.host)) · \(digest.time)")
            }
            return SinkMessage(body: json.bytes)
        }

        /// The lines cut into groups that each fit one Slack section.
        private static func chunks(_ lines: [String], maxLines: Int, maxCharacters: Int) -> [[String]] {
            var result: [[String]] = []
            var current: [String] = []
            var size = 0
            for line in lines.map({ String($0.prefix(maxCharacters - 2)) }) {
                if current.count == maxLines || size + line.count + 3 > maxCharacters {
                    result.append(current)
                    current = []
                    size = 0
                }
                current.append(line)
                size += line.count + 3
            }
            if !current.isEmpty { result.append(current) }
            return result
        }

        static func request(for delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
                            host: String, date: Double) -> SinkRequest {
            .post(Webhook.httpRequest(for: delivery, to: sink, secrets: secrets, host: host, date: date))
        }

        /// Slack's three control characters in mrkdwn text (`&`, `<`, `>`), escaped so that a file
        /// name cannot become a link or a mention.
        private static func escapeMrkdwn(_ text: String) -> String {
            text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
        }
    }
}

/// The Block Kit pieces that alerts and digests share.
extension JSONWriter {
    /// A Slack message: `text` as the fallback, then the blocks `body` writes.
    fileprivate mutating func slackMessage(fallback: String, blocks body: (inout JSONWriter) -> Void) {
        beginObject()
        key("text"); string(fallback)
        key("blocks")
        beginArray()
        body(&self)
        endArray()
        endObject()
    }

    /// A Slack header block (at most 150 characters).
    fileprivate mutating func slackHeader(_ text: String) {
        slackBlock("header", textType: "plain_text", String(text.prefix(150)))
    }

    /// A Slack section block of mrkdwn text.
    fileprivate mutating func slackSection(_ text: String) {
        slackBlock("section", textType: "mrkdwn", text)
    }

    /// A Slack block of `type` holding one text object of `textType`.
    private mutating func slackBlock(_ type: String, textType: String, _ text: String) {
        beginObject()
        key("type"); string(type)
        key("text")
        beginObject()
        key("type"); string(textType)
        key("text"); string(text)
        endObject()
        endObject()
    }

    /// A Slack context block with one mrkdwn element.
    fileprivate mutating func slackContext(_ text: String) {
        beginObject()
        key("type"); string("context")
        key("elements")
        beginArray()
        beginObject()
        key("type"); string("mrkdwn")
        key("text"); string(text)
        endObject()
        endArray()
        endObject()
    }
}
