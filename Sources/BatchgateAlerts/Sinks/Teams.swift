import BatchgateCore
import BatchgateConfig

extension Sinks {
    /// A Microsoft Teams incoming webhook (a Workflows webhook): a message carrying one Adaptive
    /// Card 1.4, sent as the POST of ``Webhook``.
    enum Teams: SinkKind {
        /// The largest digest body for a Teams workflow (Teams refuses messages past about 28 KB);
        /// a digest that would be larger lists fewer alerts, and the rest go in the next.
        static let digestBodyLimit = 24_000

        /// A Teams Workflows webhook message carrying an Adaptive Card.
        static func alert(_ message: AlertMessage) -> SinkMessage {
            var json = JSONWriter()
            json.teamsCard { json in
                json.teamsTextBlock(message.title, bold: true)
                json.teamsTextBlock(message.summary)
                json.beginObject()
                json.key("type"); json.string("FactSet")
                json.key("facts")
                json.beginArray()
                for (title, value) in [("File", message.file), ("Decision", message.decision.rawValue), ("Report", message.reportPath),
                                       ("Host", message.host), ("Time", message.time), ("Alert", message.id)] {
                    json.beginObject()
                    json.key("title"); json.string(title)
                    json.key("value"); json.string(value)
                    json.endObject()
                }
                json.endArray()
                json.endObject()
                for package in message.packagesToFix {
                    var lines = ["**\(package.tag ?? "package \(package.position.packageIndex)")** \(package.item ?? "") \(package.category.map { "(\($0))" } ?? "")"]
                    lines += package.findings.map { "- \($0.message)" }
                    if package.status == .invalid { lines += package.errors.map { "- \($0)" } }
                    if let fix = package.fix { lines.append("**Fix:** \(fix)") }
                    json.teamsTextBlock(lines.joined(separator: "\n\n"))
                }
                for error in message.errors { json.teamsTextBlock("Error: \(error)") }
            }
            return SinkMessage(body: json.bytes)
        }

        /// A card of the title, the counts and the report's path.
        static func fallback(_ message: AlertMessage) -> SinkMessage {
            var json = JSONWriter()
            json.teamsCard { json in
                json.teamsTextBlock(message.title, bold: true)
                json.teamsTextBlock("\(message.summary) Report: \(message.reportPath)")
            }
            return SinkMessage(body: json.bytes)
        }

        /// An Adaptive Card with the title and one line per alert.
        static func digest(_ digest: AlertDigest) -> SinkMessage {
            var json = JSONWriter()
            json.teamsCard { json in
                json.teamsTextBlock(digest.title, bold: true)
                for line in digest.lines { json.teamsTextBlock("- " + line) }
                json.teamsTextBlock("batchgate on \(digest.host) · \(digest.time)")
            }
            return SinkMessage(body: json.bytes)
        }

        static func request(for delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
                            host: String, date: Double) -> SinkRequest {
            .post(Webhook.httpRequest(for: delivery, to: sink, secrets: secrets, host: host, date: date))
        }
    }
}

/// The Adaptive Card pieces that alerts and digests share.
extension JSONWriter {
    /// A Teams Workflows message with one Adaptive Card 1.4 whose body `body` writes.
    fileprivate mutating func teamsCard(body: (inout JSONWriter) -> Void) {
        beginObject()
        key("type"); string("message")
        key("attachments")
        beginArray()
        beginObject()
        key("contentType"); string("application/vnd.microsoft.card.adaptive")
        key("content")
        beginObject()
        key("$schema"); string("http://adaptivecards.io/schemas/adaptive-card.json")
        key("type"); string("AdaptiveCard")
        key("version"); string("1.4")
        key("body")
        beginArray()
        body(&self)
        endArray()
        endObject()
        endObject()
        endArray()
        endObject()
    }

    /// An Adaptive Card text block that wraps; `bold` makes it a medium, bolder title.
    fileprivate mutating func teamsTextBlock(_ text: String, bold: Bool = false) {
        beginObject()
        key("type"); string("TextBlock")
        key("text"); string(text)
        key("wrap"); bool(true)
        if bold {
            key("weight"); string("Bolder")
            key("size"); string("Medium")
        }
        endObject()
    }
}
