import BatchgateCore
import BatchgateConfig

extension Sinks {
    /// A Slack incoming webhook: Block Kit messages with a notification `text`, within Slack's
    /// limits counted as Slack counts (code points), and nothing from a manifest or a file name
    /// read as markup: it goes in `plain_text` text objects, our own labels in `mrkdwn`. Sent as
    /// the POST of ``Webhook``; Slack's one message a second is the sink's default rate limit
    /// (``DaemonConfig/AlertSink/SinkType/defaultRateLimit``).
    enum Slack: SinkKind {
        /// Slack's limits, as slack_sdk 3.48.0 states them (slack_sdk/models/blocks/blocks.py:
        /// `HeaderBlock.text_max_length`, `SectionBlock.text_max_length`, `ContextBlock.elements_max_length`)
        /// and Slack's Block Kit reference (docs.slack.dev/reference/block-kit/blocks: "up to 50 blocks in
        /// each message"; .../composition-objects/text-object: a text of 1 to 3,000 characters;
        /// .../blocks/section-block: a field at most 2,000). Slack counts characters as Python's len()
        /// does, in code points: a decomposed "é" is two, a family emoji seven.
        enum Limit {
            static let blocks = 50
            static let header = 150
            /// Any text object: a section's text, a context element.
            static let text = 3_000
            static let sectionField = 2_000
            /// The top-level `text`, shown in notifications and read by screen readers: Slack truncates
            /// past 40,000 and advises 4,000 (docs.slack.dev/reference/methods/chat.postMessage); a
            /// notification needs far less.
            static let messageText = 3_000
            /// All the blocks' texts together. Slack refuses a message whose blocks hold more than about
            /// 12,000 characters (`msg_blocks_too_long`), a limit no reference page states (the evidence is
            /// in docs/alerts.md, Slack); 10,000 leaves room for what Slack counts besides the texts.
            static let blocksText = 10_000
        }

        /// The largest digest body, in bytes. A code point is at least one byte, so a digest this size
        /// holds fewer than ``Limit/blocksText`` characters and lists every line it was given; the
        /// sender puts the rest in the next digest instead of leaving them out ("… and N more").
        static let digestBodyLimit = 8_000

        /// One alert: its title as the header, the summary with the report's path, one section per
        /// failed check of the manifest, package to fix or file-wide error as long as the limits allow, then "… and N more" pointing
        /// at the report, and a context line (host, time, alert id).
        static func alert(_ message: AlertMessage) -> SinkMessage {
            let report = oneLine(message.reportPath)
            // The blocks every alert has are kept under half of Limit.blocksText (the summary to
            // 1,500, the path to 1,000, the context to 500), so that packages always have room.
            var blocks: [SlackBlock] = [
                .header(.plain(oneLine(message.title), within: Limit.header)),
                .section(.plain(oneLine(message.summary), within: 1_500), fields: [.mrkdwn("*Report*"), .plain(report, within: 1_000)]),
            ]
            let context = SlackBlock.context([.plain("batchgate on \(oneLine(message.host)) · \(message.time) · alert \(message.id)",
                                                     within: 500)])
            // A check of the manifest as a whole first: on a long manifest (too-many-packages) it
            // would otherwise be among what is left out.
            let details = message.checks.map { SlackBlock.section(.plain(checkLines($0), within: Limit.text)) }
                + packageSections(of: message)
                + message.errors.map { SlackBlock.section(.plain("Error: " + oneLine($0), within: Limit.text)) }
            blocks += fitting(details, after: blocks, before: context) { count in
                .section(.plain("… and \(count) more in the report: " + fitted(report, within: 1_000), within: 1_100))
            }
            blocks.append(context)
            return SinkMessage(body: slackMessage(text: notification(title: message.title, " — ", detail: message.summary), blocks: blocks))
        }

        /// Only the notification `text`: the title, the counts and the report's path, each cut on its
        /// own so that the path is always there.
        static func fallback(_ message: AlertMessage) -> SinkMessage {
            let text = mrkdwn(oneLine(message.title), within: 600) + " — " + mrkdwn(oneLine(message.summary), within: 1_200)
                + ". Report: " + mrkdwn(oneLine(message.reportPath), within: 1_000)
            return SinkMessage(body: slackMessage(text: text, blocks: nil))
        }

        /// The most code points of one detail's value and of its label.
        static let noticeValue = 1_000
        static let noticeLabel = 100

        /// A notice about the service: its headline as the header, its text in a section whose
        /// fields are the details (a label beside its value, five to a section, as Slack takes at
        /// most ten fields), as many as the text budget allows, then "… and N more" and a context
        /// line (host, time, alert id). The text and the values go in `plain_text`: a server name
        /// or an error from libcurl or Metrc is shown as written.
        static func notice(_ notice: NoticeMessage) -> SinkMessage {
            let header = SlackBlock.header(.plain(oneLine(notice.headline), within: Limit.header))
            let text = SlackText.plain(oneLine(notice.text), within: Limit.text)
            let context = SlackBlock.context([.plain("batchgate on \(oneLine(notice.host)) · \(notice.time) · alert \(notice.id)",
                                                     within: 500)])
            let remainder = { (count: Int) in
                SlackBlock.section(.plain("… and \(count) more \(count == 1 ? "detail" : "details"): see the journal (journalctl -u batchgate)",
                                          within: Limit.text))
            }
            let pairs = notice.details.map { detail in
                [SlackText.label(oneLine(detail.label), within: noticeLabel), .plain(oneLine(detail.value), within: noticeValue)]
            }
            // The budget counts the remainder line from the start, so that it always fits.
            var used = header.textLength + text.length + context.textLength + remainder(notice.details.count).textLength
            var fields: [SlackText] = []
            for pair in pairs {
                let cost = pair.reduce(0) { $0 + $1.length }
                guard used + cost <= Limit.blocksText else { break }
                fields += pair
                used += cost
            }
            let perSection = 10
            var blocks: [SlackBlock] = [header, .section(text, fields: Array(fields.prefix(perSection)))]
            for start in stride(from: perSection, to: fields.count, by: perSection) {
                blocks.append(.fields(Array(fields[start..<min(start + perSection, fields.count)])))
            }
            let shown = fields.count / 2
            if shown < notice.details.count { blocks.append(remainder(notice.details.count - shown)) }
            blocks.append(context)
            return SinkMessage(body: slackMessage(text: notification(title: notice.headline, " — ", detail: notice.text), blocks: blocks))
        }

        /// Only the notification `text`: the headline and the text, each cut on its own.
        static func noticeFallback(_ notice: NoticeMessage) -> SinkMessage {
            let text = mrkdwn(oneLine(notice.headline), within: 600) + " — " + mrkdwn(oneLine(notice.text), within: 1_500)
            return SinkMessage(body: slackMessage(text: text, blocks: nil))
        }

        /// A section per package to fix: what it is and why (its failed checks with their fixes
        /// among the reasons), and the fix under a bold label.
        private static func packageSections(of message: AlertMessage) -> [SlackBlock] {
            message.packagesToFix.map { package in
                var lines = [[package.tag ?? "package \(package.position.packageIndex)",
                              package.item.map { fitted(oneLine($0), within: 300) },
                              package.category.map { "(" + fitted(oneLine($0), within: 150) + ")" }]
                    .compactMap { $0 }.joined(separator: " ")
                    + " — " + AlertMessage.state(of: package)]
                lines += package.findings.map { "• " + fitted(oneLine($0.message), within: 600) }
                if package.status == .invalid { lines += package.errors.map { "• " + fitted(oneLine($0), within: 600) } }
                lines += package.checks.map(checkLines)
                let fields = package.fix.map { [SlackText.mrkdwn("*Fix*"), .plain(oneLine($0), within: 600)] } ?? []
                return .section(.plain(lines.joined(separator: "\n"), within: Limit.text), fields: fields)
            }
        }

        /// A failed check as a bullet, `• warning [id]: message`, and its fix on the next line,
        /// each cut on its own so that the fix always shows.
        private static func checkLines(_ finding: CheckFinding) -> String {
            "• " + fitted(oneLine(AlertMessage.line(finding)), within: 800) + "\n  fix: " + fitted(oneLine(finding.fix), within: 400)
        }

        /// A header, the lines in sections of up to 40 lines each, as many as the limits allow, then
        /// "… and N more" and a context line.
        static func digest(_ digest: AlertDigest) -> SinkMessage {
            let lines = digest.lines.map { "• " + fitted(oneLine($0), within: 1_000) }
            let head: [SlackBlock] = [.header(.plain(oneLine(digest.title), within: Limit.header))]
            let context = SlackBlock.context([.plain("batchgate on \(oneLine(digest.host)) · \(digest.time)", within: 500)])
            var sections: [SlackBlock] = []
            var counts: [Int] = []  // how many lines each section lists, for the remainder's count
            var group: [String] = []
            var size = 0
            for line in lines {
                let length = line.unicodeScalars.count
                if !group.isEmpty, group.count == 40 || size + 1 + length > Limit.text {
                    sections.append(.section(.plain(group.joined(separator: "\n"), within: Limit.text)))
                    counts.append(group.count)
                    group = []
                    size = 0
                }
                size += (group.isEmpty ? 0 : 1) + length
                group.append(line)
            }
            if !group.isEmpty {
                sections.append(.section(.plain(group.joined(separator: "\n"), within: Limit.text)))
                counts.append(group.count)
            }
            let shown = fitting(sections, after: head, before: context) { remaining in
                let more = counts.suffix(remaining).reduce(0, +)
                return .section(.plain("… and \(more) more manifests, each with its report beside it in its outcome folder.",
                                       within: Limit.text))
            }
            let preview = digest.lines.prefix(3).map { fitted(oneLine($0), within: 300) }.joined(separator: "; ")
                + (digest.lines.count > 3 ? "; …" : "")
            let text = notification(title: digest.title, ": ", detail: preview)
            return SinkMessage(body: slackMessage(text: text, blocks: head + shown + [context]))
        }

        static func request(for delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
                            host: String, date: Double) -> SinkRequest {
            .post(Webhook.httpRequest(for: delivery, to: sink, secrets: secrets, host: host, date: date))
        }

        /// As many of `candidates` as fit after the blocks `head` and before `tail` within Slack's
        /// block count and the blocks' text budget (``Limit/blocksText``), in order; when some are
        /// left out, then the block `remainder(leftOut)` makes to say how many (room for it is kept
        /// from the start).
        private static func fitting(_ candidates: [SlackBlock], after head: [SlackBlock], before tail: SlackBlock,
                                    remainder: (Int) -> SlackBlock) -> [SlackBlock] {
            var used = head.reduce(tail.textLength) { $0 + $1.textLength }
            let free = Limit.blocks - head.count - 1
            let total = candidates.reduce(0) { $0 + $1.textLength }
            if candidates.count <= free, used + total <= Limit.blocksText { return candidates }
            // The largest count gives the longest remainder: its room is enough for any other.
            let reserved = remainder(candidates.count).textLength
            var shown: [SlackBlock] = []
            for candidate in candidates {
                guard shown.count < free - 1, used + candidate.textLength + reserved <= Limit.blocksText else { break }
                shown.append(candidate)
                used += candidate.textLength
            }
            return shown + [remainder(candidates.count - shown.count)]
        }

        /// The notification `text`: the title, the separator and the detail, escaped as mrkdwn (the
        /// field Slack reads as mrkdwn), within ``Limit/messageText`` with the title cut first to 600.
        private static func notification(title: String, _ separator: String, detail: String) -> String {
            let head = mrkdwn(oneLine(title), within: 600) + separator
            return head + mrkdwn(oneLine(detail), within: Limit.messageText - head.unicodeScalars.count)
        }

        /// The message: `text` for notifications and screen readers, then the blocks, if any.
        /// `"mrkdwn": false` shows `text` as written (Slack's message payload reference: whether
        /// `text` is rendered as mrkdwn, true by default), so `*`, `_`, `~` and backticks in a file
        /// name stay characters where the `text` is the message shown (``fallback(_:)``). Slack says
        /// nothing of it for the special parsing of `&`, `<`, `>` (mentions such as `<!here>`, links),
        /// so those are escaped in `text` all the same.
        private static func slackMessage(text: String, blocks: [SlackBlock]?) -> [UInt8] {
            var json = JSONWriter()
            json.beginObject()
            json.key("text"); json.string(text)
            json.key("mrkdwn"); json.bool(false)
            if let blocks {
                json.key("blocks")
                json.beginArray()
                for block in blocks { block.write(to: &json) }
                json.endArray()
            }
            json.endObject()
            return json.bytes
        }

        /// `text` escaped for mrkdwn and cut to `limit` code points, the escapes counted (``fitted(_:within:escaped:)``).
        static func mrkdwn(_ text: String, within limit: Int) -> String {
            fitted(text, within: limit, escaped: true)
        }

        /// `text` whole when it fits in `limit` code points, else its first characters (grapheme
        /// clusters, never part of one) and "…", `limit` code points at most. With `escaped`,
        /// Slack's three control characters become `&amp;`, `&lt;`, `&gt;` and are counted so: a cut
        /// falls between two characters, so never inside an entity, and escaping after the cut can
        /// no longer make the text too long.
        static func fitted(_ text: String, within limit: Int, escaped: Bool = false) -> String {
            let length: (Unicode.Scalar) -> Int = { scalar in
                guard escaped else { return 1 }
                switch scalar {
                case "&": return 5
                case "<", ">": return 4
                default: return 1
                }
            }
            let whole = text.unicodeScalars.reduce(0) { $0 + length($1) }
            if whole <= limit { return escaped ? escapeMrkdwn(text) : text }
            var kept = ""
            var used = 0
            for character in text {
                let size = character.unicodeScalars.reduce(0) { $0 + length($1) }
                guard used + size <= limit - 1 else { break }
                kept.append(character)
                used += size
            }
            return (escaped ? escapeMrkdwn(kept) : kept) + "…"
        }

        /// Slack's three control characters in mrkdwn text (`&`, `<`, `>`) as the entities Slack
        /// decodes for display (docs.slack.dev/messaging/formatting-message-text, "Escaping text"), so
        /// that text cannot become a link or a mention. Replaced code point by code point: a `>`
        /// followed by a combining mark or a joiner is one Character to Swift, which a replacement
        /// of the Character `>` would leave alone, but still a `>` to Slack.
        private static func escapeMrkdwn(_ text: String) -> String {
            var escaped = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                switch scalar {
                case "&": escaped.append(contentsOf: "&amp;".unicodeScalars)
                case "<": escaped.append(contentsOf: "&lt;".unicodeScalars)
                case ">": escaped.append(contentsOf: "&gt;".unicodeScalars)
                default: escaped.append(scalar)
                }
            }
            return String(escaped)
        }

    }
}

/// A Slack text object. Text from a manifest or a file name goes in `plain_text`, which Slack
/// shows as it is: mrkdwn has no escape for `*`, `_`, `~` and the backtick (only `&`, `<`, `>` have
/// entities), so a name in mrkdwn could turn bold, strike text out or close a code span and format
/// what follows. `emoji` is false so that `:name:` stays text. Our own labels are mrkdwn.
private struct SlackText {
    /// The text object's `type`.
    enum Kind: String { case plainText = "plain_text", mrkdwn }
    var kind: Kind
    var text: String

    /// Text shown as it is, cut to `limit` code points ("…" at the end); "-" for nothing, as Slack
    /// refuses an empty text.
    static func plain(_ text: String, within limit: Int) -> SlackText {
        SlackText(kind: .plainText, text: text.isEmpty ? "-" : Sinks.Slack.fitted(text, within: limit))
    }

    /// Our own mrkdwn (a label such as `*Fix*`), escaped all the same.
    static func mrkdwn(_ markup: String) -> SlackText {
        SlackText(kind: .mrkdwn, text: Sinks.Slack.mrkdwn(markup, within: Sinks.Slack.Limit.sectionField))
    }

    /// A label given with a value ("Server", "Last error"): bold mrkdwn when it is only letters,
    /// digits, spaces and `-`, which mrkdwn cannot read as anything but text; otherwise, since it
    /// came from outside this file, `plain_text`, shown as written.
    static func label(_ text: String, within limit: Int) -> SlackText {
        let plainWords = !text.isEmpty && text.unicodeScalars.count <= limit - 2 && text.unicodeScalars.allSatisfy { scalar in
            scalar.properties.isAlphabetic || scalar.properties.numericType != nil || scalar == " " || scalar == "-"
        } && text.first != " " && text.last != " "
        return plainWords ? .mrkdwn("*\(text)*") : .plain(text, within: limit)
    }

    /// Its length as Slack counts it.
    var length: Int { text.unicodeScalars.count }

    /// The text object as JSON.
    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("type"); json.string(kind.rawValue)
        json.key("text"); json.string(text)
        if kind == .plainText { json.key("emoji"); json.bool(false) }
        json.endObject()
    }
}

/// The Block Kit blocks alerts and digests use.
private enum SlackBlock {
    /// Large bold text: a plain_text object.
    case header(SlackText)
    /// A text, and fields shown in two columns under it.
    case section(SlackText, fields: [SlackText] = [])
    /// Small grey text.
    case context([SlackText])
    /// A section of fields only, shown in two columns (Slack takes a section without text when it
    /// has fields).
    case fields([SlackText])

    /// The code points of all its texts, for the message's budget (``Sinks/Slack/Limit/blocksText``).
    var textLength: Int {
        switch self {
        case .header(let text): text.length
        case .section(let text, let fields): fields.reduce(text.length) { $0 + $1.length }
        case .context(let elements), .fields(let elements): elements.reduce(0) { $0 + $1.length }
        }
    }

    /// The block as JSON.
    func write(to json: inout JSONWriter) {
        json.beginObject()
        switch self {
        case .header(let text):
            json.key("type"); json.string("header")
            json.key("text"); text.write(to: &json)
        case .section(let text, let fields):
            json.key("type"); json.string("section")
            json.key("text"); text.write(to: &json)
            if !fields.isEmpty {
                json.key("fields")
                json.beginArray()
                for field in fields { field.write(to: &json) }
                json.endArray()
            }
        case .context(let elements):
            json.key("type"); json.string("context")
            json.key("elements")
            json.beginArray()
            for element in elements { element.write(to: &json) }
            json.endArray()
        case .fields(let fields):
            json.key("type"); json.string("section")
            json.key("fields")
            json.beginArray()
            for field in fields { field.write(to: &json) }
            json.endArray()
        }
        json.endObject()
    }
}
