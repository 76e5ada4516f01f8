import BatchgateCore
import BatchgateConfig

extension Sinks {
    /// A Microsoft Teams incoming webhook (a Workflows webhook): a message carrying one Adaptive
    /// Card 1.4, sent as the POST of ``Webhook``. Every body stays within ``bodyLimit`` bytes, and
    /// no text from a manifest or a file name is ever read as markdown (see ``TeamsCard``).
    enum Teams: SinkKind {
        /// The largest body batchgate sends to Teams, in bytes of the JSON as sent (UTF-8, escapes
        /// included). Microsoft documents "The message size limit is 28 KB. When the size exceeds
        /// 28 KB, you receive an error" (learn.microsoft.com/microsoftteams/platform/webhooks-and-
        /// connectors/how-to/add-incoming-webhook) and, for the Workflows action that posts the
        /// card, about 28 KB with all HTML elements counted (learn.microsoft.com/connectors/teams,
        /// known issues). That limit is approximate and measured on the message as Teams keeps it,
        /// not on what we send, hence 4 KB of headroom. A Workflows webhook answers 202 before its
        /// flow runs, so a card over the limit is dropped inside the flow while batchgate counts it
        /// delivered: no body may go over.
        static let bodyLimit = 24_000

        /// The largest digest the sender builds before it lists fewer alerts and leaves the rest
        /// for the next digest. Below ``bodyLimit`` by more than one digest line can take
        /// (``digestLineLimit`` and its element): a digest that had to leave lines out to stay
        /// within ``bodyLimit`` is always larger than this, so the sender sees it is too big and
        /// sends fewer alerts in it instead of alerts that nobody is shown.
        static let digestBodyLimit = bodyLimit - 1_500

        /// The most bytes (JSON-escaped) any one piece of text from a manifest takes in a card: an
        /// item name, a category, a finding, an error, the title, the summary. Longer text is cut
        /// at a character boundary and ends with "…", so that one enormous name cannot crowd out
        /// the rest of the card.
        static let textLimit = 1_000
        /// The most bytes one line of a digest takes; a longer one keeps its start and its end
        /// (where the report's path is) and loses its middle.
        static let digestLineLimit = 1_000
        /// The most bytes of a report's path: PATH_MAX, so that a real path is never cut; the
        /// limit only bounds the card's fixed part.
        static let pathLimit = 4_096

        /// A Teams Workflows message with an Adaptive Card: the title, the summary, the file and the
        /// report, the facts, then each failed check of the manifest, each package to fix and each
        /// file-wide error, as many as fit in
        /// ``bodyLimit``; the rest are counted in a last line that points at the report.
        static func alert(_ message: AlertMessage) -> SinkMessage {
            let packages = message.packagesToFix.map(packageElements)
            let checks = message.checks.map { checkElements($0, separator: true) }
            let errors = message.errors.map { error in
                [TeamsCard.Element.paragraph([.bold("Error: "), .plain(TeamsCard.shown(error))], separator: true)]
            }
            // A check of the manifest as a whole first: on a long manifest (too-many-packages) it
            // would otherwise be among what is left out.
            let card = TeamsCard(head: head(of: message), items: checks + packages + errors, tail: []) { omitted, cut in
                let omittedChecks = omitted.filter { $0 < checks.count }.count
                let omittedPackages = omitted.filter { $0 >= checks.count && $0 < checks.count + packages.count }.count
                return .paragraph([.plain(remainder(packages: omittedPackages, checks: omittedChecks,
                                                    errors: omitted.count - omittedPackages - omittedChecks, cut: cut,
                                                    report: message.reportPath))], separator: true)
            }
            return SinkMessage(body: card.bytes(within: bodyLimit))
        }

        /// A card of the title, the counts and the report's path: the same head an alert has,
        /// without the facts and the packages.
        static func fallback(_ message: AlertMessage) -> SinkMessage {
            let card = TeamsCard(head: [
                .paragraph([.title(TeamsCard.shown(message.title))]),
                .paragraph([.plain(TeamsCard.shown(message.summary))]),
                .paragraph([.bold("Report: "), .plain(TeamsCard.shown(message.reportPath, limit: pathLimit))]),
            ], items: [], tail: [])
            return SinkMessage(body: card.bytes(within: bodyLimit))
        }

        /// An Adaptive Card with the title and one line per alert. The sender keeps a digest under
        /// ``digestBodyLimit`` by listing fewer alerts; should one still be larger than
        /// ``bodyLimit`` (a digest sent again after a reload gave the facility a longer name), it
        /// lists the lines that fit and counts the rest.
        static func digest(_ digest: AlertDigest) -> SinkMessage {
            let lines = digest.lines.map { line in
                [TeamsCard.Element.paragraph([.plain("• " + TeamsCard.shownKeepingTheEnd(line, limit: digestLineLimit))])]
            }
            let card = TeamsCard(head: [.paragraph([.title(TeamsCard.shown(digest.title))])], items: lines,
                                 tail: [.paragraph([.subtle(TeamsCard.shown("batchgate on \(digest.host) · \(digest.time)"))])]) { omitted, _ in
                .paragraph([.plain("… and \(omitted.count) more \(omitted.count == 1 ? "manifest" : "manifests"): see the reports beside them")])
            }
            return SinkMessage(body: card.bytes(within: bodyLimit))
        }

        /// The most bytes (JSON-escaped) of a notice's text in a card: a paragraph, longer than any
        /// one piece of a manifest.
        static let noticeTextLimit = 4_000
        /// The most bytes of a detail's label; its value takes at most ``textLimit``.
        static let noticeLabelLimit = 200

        /// A card of the notice's headline, its text, a line per detail (its label in bold) as
        /// many as fit in ``bodyLimit``, and a footer (host, time, alert id). Every text is a
        /// `TextRun`, as in an alert: a server name or an error from libcurl or Metrc is never
        /// read as markdown, which is also why the footer is no FactSet.
        static func notice(_ notice: NoticeMessage) -> SinkMessage {
            let details = notice.details.map { detail in
                [TeamsCard.Element.paragraph([.bold(TeamsCard.shown(detail.label, limit: noticeLabelLimit) + ": "),
                                              .plain(TeamsCard.shown(detail.value))])]
            }
            let card = TeamsCard(head: [
                .paragraph([.title(TeamsCard.shown(notice.headline))]),
                .paragraph([.plain(TeamsCard.shown(notice.text, limit: noticeTextLimit))]),
            ], items: details, tail: [
                .paragraph([.subtle(TeamsCard.shown("batchgate on \(notice.host) · \(notice.time) · alert \(notice.id)"))]),
            ]) { omitted, _ in
                .paragraph([.plain("… and \(omitted.count) more \(omitted.count == 1 ? "detail" : "details"): see the journal (journalctl -u batchgate)")])
            }
            return SinkMessage(body: card.bytes(within: bodyLimit))
        }

        /// A card of the notice's headline and its text.
        static func noticeFallback(_ notice: NoticeMessage) -> SinkMessage {
            let card = TeamsCard(head: [
                .paragraph([.title(TeamsCard.shown(notice.headline))]),
                .paragraph([.plain(TeamsCard.shown(notice.text))]),
            ], items: [], tail: [])
            return SinkMessage(body: card.bytes(within: bodyLimit))
        }

        static func request(for delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
                            host: String, date: Double) -> SinkRequest {
            .post(Webhook.httpRequest(for: delivery, to: sink, secrets: secrets, host: host, date: date))
        }

        /// The part of an alert's card that is always there: title, summary, file, report, facts.
        /// The file and the report are text runs, not facts: a Fact's value is markdown.
        private static func head(of message: AlertMessage) -> [TeamsCard.Element] {
            [
                .paragraph([.title(TeamsCard.shown(message.title))]),
                .paragraph([.plain(TeamsCard.shown(message.summary))]),
                .paragraph([.bold("File: "), .plain(TeamsCard.shown(message.file))]),
                .paragraph([.bold("Report: "), .plain(TeamsCard.shown(message.reportPath, limit: pathLimit))]),
                // Only batchgate's own words and values: the decision, this host, the time, the id.
                .facts([("Decision", message.decision.rawValue), ("Host", TeamsCard.shown(message.host)),
                        ("Time", message.time), ("Alert", message.id)]),
            ]
        }

        /// One package to fix: its tag, item and category, a line per finding (and per error when
        /// it is invalid), the fix, then each failed check with its own fix.
        private static func packageElements(_ package: PackageVerdict) -> [TeamsCard.Element] {
            var heading: [TeamsCard.Run] = [.bold(TeamsCard.shown(package.tag ?? "package \(package.position.packageIndex)"))]
            var named = ""
            if let item = package.item { named += " " + TeamsCard.shown(item) }
            if let category = package.category { named += " (" + TeamsCard.shown(category) + ")" }
            if !named.isEmpty { heading.append(.plain(named)) }
            var elements: [TeamsCard.Element] = [.paragraph(heading, separator: true)]
            elements += package.findings.map { .paragraph([.plain("• " + TeamsCard.shown($0.message))]) }
            if package.status == .invalid { elements += package.errors.map { .paragraph([.plain("• " + TeamsCard.shown($0))]) } }
            if let fix = package.fix { elements.append(.paragraph([.bold("Fix: "), .plain(TeamsCard.shown(fix))])) }
            return elements + package.checks.flatMap { checkElements($0, separator: false) }
        }

        /// A failed check: `warning [id]: message`, its level and id in bold, then its fix; with
        /// `separator`, a line above it (a check of the manifest as a whole, before the packages).
        private static func checkElements(_ finding: CheckFinding, separator: Bool) -> [TeamsCard.Element] {
            [.paragraph([.bold("\(finding.severity.rawValue) [\(finding.check.rawValue)]: "), .plain(TeamsCard.shown(finding.message))],
                        separator: separator),
             .paragraph([.bold("Fix: "), .plain(TeamsCard.shown(finding.fix))])]
        }

        /// "… and 12 more packages: see the report /var/…/x.json.report.txt": what the card left
        /// out (packages, the manifest's failed checks, its errors); `cut` when the one package
        /// shown is itself shown in part.
        private static func remainder(packages: Int, checks: Int, errors: Int, cut: Bool, report: String) -> String {
            var parts: [String] = []
            if cut { parts.append("the rest of this package") }
            if packages > 0 { parts.append("\(packages) more \(packages == 1 ? "package" : "packages")") }
            if checks > 0 { parts.append("\(checks) more failed \(checks == 1 ? "check" : "checks")") }
            if errors > 0 { parts.append("\(errors) more \(errors == 1 ? "error" : "errors")") }
            return "… and \(parts.joined(separator: " and ")): see the report \(TeamsCard.shown(report, limit: pathLimit))"
        }
    }
}

/// An Adaptive Card 1.4 in a Teams message, laid out within a byte limit: a head and a tail that
/// are always there, and between them as many items (a package's lines, an error, a digest line)
/// as fit, then a line saying what was left out.
///
/// Text is written as `TextRun`s inside `RichTextBlock`s, never as a `TextBlock`: a TextBlock's
/// text and a Fact's title and value are read as markdown (Adaptive Cards' TextBlock: "A subset of
/// markdown is supported"; Teams: "Markdown is supported in Adaptive Card TextBlock field, and
/// Fact.Title and Fact.Value"), while a TextRun's is not (the schema's TextRun.text: "Text to
/// display. Markdown is not supported."). No escape would do instead: Adaptive Cards document
/// none, and Teams' desktop, iOS and Android renderers treat backslashes differently
/// (github.com/microsoft/AdaptiveCards/issues/4677 and /5758). So `[x](https://…)` in an item name stays
/// those characters, and bold is the run's `"weight": "Bolder"`, not `**`.
struct TeamsCard {
    /// A run of text and how it looks; never markdown.
    struct Run {
        enum Style { case plain, bold, title, subtle }
        var text: String
        var style: Style

        /// As the card's text is by default.
        static func plain(_ text: String) -> Run { Run(text: text, style: .plain) }
        /// Bolder: a package's tag, a label of batchgate's ("File: ", "Fix: ").
        static func bold(_ text: String) -> Run { Run(text: text, style: .bold) }
        /// Bolder and medium-sized: the card's title.
        static func title(_ text: String) -> Run { Run(text: text, style: .title) }
        /// Toned down: the digest's footer.
        static func subtle(_ text: String) -> Run { Run(text: text, style: .subtle) }
    }

    /// One element of the card's body.
    enum Element {
        /// A RichTextBlock of runs; `separator` draws a line above it (a new package).
        case paragraph([Run], separator: Bool = false)
        /// A FactSet. Its titles and values are markdown: only batchgate's own words go there.
        case facts([(title: String, value: String)])

        /// Writes this element as one value of the card's `body` array.
        func write(to json: inout JSONWriter) {
            json.beginObject()
            switch self {
            case let .paragraph(runs, separator):
                json.key("type"); json.string("RichTextBlock")
                json.key("inlines")
                json.beginArray()
                for run in runs {
                    json.beginObject()
                    json.key("type"); json.string("TextRun")
                    json.key("text"); json.string(run.text)
                    switch run.style {
                    case .plain: break
                    case .bold: json.key("weight"); json.string("Bolder")
                    case .title: json.key("weight"); json.string("Bolder"); json.key("size"); json.string("Medium")
                    case .subtle: json.key("isSubtle"); json.bool(true)
                    }
                    json.endObject()
                }
                json.endArray()
                if separator { json.key("separator"); json.bool(true) }
            case let .facts(facts):
                json.key("type"); json.string("FactSet")
                json.key("facts")
                json.beginArray()
                for fact in facts {
                    json.beginObject()
                    json.key("title"); json.string(fact.title)
                    json.key("value"); json.string(fact.value)
                    json.endObject()
                }
                json.endArray()
            }
            json.endObject()
        }

        /// The bytes this element takes in the card: an element is written the same wherever it is.
        var byteCount: Int {
            var json = JSONWriter()
            write(to: &json)
            return json.bytes.count
        }

        /// This paragraph with its last run cut so that the whole takes at most `limit` bytes, or
        /// nil when not even a few characters of it would fit.
        func cut(toBytes limit: Int) -> Element? {
            guard case let .paragraph(runs, separator) = self, var last = runs.last else { return nil }
            let room = limit - (byteCount - TeamsCard.escapedLength(of: last.text))
            guard room >= 16 else { return nil }
            last.text = TeamsCard.clipped(last.text, toBytes: room)
            return .paragraph(runs.dropLast() + [last], separator: separator)
        }
    }

    /// What comes first and always stays: the title, the facts.
    var head: [Element]
    /// Each item is one or more elements that go together (a package and its lines).
    var items: [[Element]]
    /// What comes last and always stays: a digest's footer.
    var tail: [Element]
    /// The line that says what was left out: the indices of the items not shown, and whether the
    /// one item shown was cut short.
    var remainder: ((_ omitted: Range<Int>, _ cut: Bool) -> Element)?

    /// A card of `head`, `items` and `tail`; without `remainder`, every item is always shown.
    init(head: [Element], items: [[Element]], tail: [Element],
         remainder: ((_ omitted: Range<Int>, _ cut: Bool) -> Element)? = nil) {
        self.head = head
        self.items = items
        self.tail = tail
        self.remainder = remainder
    }

    /// The message as sent: every item when they all fit in `limit` bytes; otherwise the items
    /// that fit whole, in order, and the remainder line. When not even the first item fits, as
    /// many of its elements as fit, the last one cut short. The head (title, facts) always stays:
    /// each of its texts is bounded (``Sinks/Teams/textLimit``), so it fits on its own.
    func bytes(within limit: Int) -> [UInt8] {
        let whole = Self.message(head + items.joined() + tail)
        guard whole.count > limit, !items.isEmpty, let remainder else {
            assert(whole.count <= limit, "a Teams card of \(whole.count) bytes, over \(limit), with nothing to leave out")
            return whole
        }

        // Each element after the first costs its bytes and a comma: the sizes add up exactly.
        let fixed = Self.message([]).count + (head + tail).reduce(0) { $0 + $1.byteCount } + head.count + tail.count - 1
        var room = limit - fixed - (remainder(0..<items.count, true).byteCount + 1)
        var shown: [Element] = []
        var wholeItems = 0
        for item in items {
            let cost = item.reduce(0) { $0 + $1.byteCount + 1 }
            guard cost <= room else { break }
            shown += item
            room -= cost
            wholeItems += 1
        }
        var cut = false
        if wholeItems == 0, let first = items.first {
            for element in first {
                let cost = element.byteCount + 1
                if cost <= room {
                    shown.append(element)
                    room -= cost
                    continue
                }
                if let part = element.cut(toBytes: room - 1) { shown.append(part) }
                cut = true
                break
            }
        }
        let omitted = (cut ? 1 : wholeItems)..<items.count
        let bytes = Self.message(head + shown + [remainder(omitted, cut)] + tail)
        assert(bytes.count <= limit, "a Teams card of \(bytes.count) bytes, over \(limit)")
        return bytes
    }

    /// A Teams Workflows message with one Adaptive Card 1.4 whose body is `body`.
    private static func message(_ body: [Element]) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("type"); json.string("message")
        json.key("attachments")
        json.beginArray()
        json.beginObject()
        json.key("contentType"); json.string("application/vnd.microsoft.card.adaptive")
        json.key("content")
        json.beginObject()
        json.key("$schema"); json.string("http://adaptivecards.io/schemas/adaptive-card.json")
        json.key("type"); json.string("AdaptiveCard")
        json.key("version"); json.string("1.4")
        json.key("body")
        json.beginArray()
        for element in body { element.write(to: &json) }
        json.endArray()
        json.endObject()
        json.endObject()
        json.endArray()
        json.endObject()
        return json.bytes
    }

    // Text from a manifest as a card shows it.

    /// `text` on one line (``Sinks/oneLine(_:)``: a NUL or an escape sequence means nothing to a
    /// person, and costs six bytes escaped), cut to `limit` bytes.
    static func shown(_ text: String, limit: Int = Sinks.Teams.textLimit) -> String {
        clipped(Sinks.oneLine(text), toBytes: limit)
    }

    /// Like ``shown(_:limit:)``, but a long text keeps its start and its last 40 %, with "…"
    /// between: a digest line ends with the report's path.
    static func shownKeepingTheEnd(_ text: String, limit: Int) -> String {
        let text = Sinks.oneLine(text)
        guard escapedLength(of: text) > limit else { return text }
        var end = text.endIndex
        var endLength = 0
        while end > text.startIndex {
            let before = text.index(before: end)
            let length = escapedLength(of: text[before])
            guard endLength + length <= limit * 2 / 5 else { break }
            endLength += length
            end = before
        }
        return clipped(String(text[..<end]), toBytes: limit - endLength) + text[end...]
    }

    /// `text` cut at a character boundary so that, JSON-escaped, it takes at most `limit` bytes,
    /// "…" included; unchanged when it already does.
    static func clipped(_ text: String, toBytes limit: Int) -> String {
        guard escapedLength(of: text) > limit else { return text }
        let room = limit - "…".utf8.count
        var length = 0
        var end = text.startIndex
        for index in text.indices {
            let next = escapedLength(of: text[index])
            guard length + next <= room else { break }
            length += next
            end = text.index(after: index)
        }
        return text[..<end] + "…"
    }

    /// The bytes `text` takes inside a JSON string as ``JSONWriter`` writes it.
    static func escapedLength(of text: some StringProtocol) -> Int {
        text.unicodeScalars.reduce(0) { total, scalar in
            let length = switch scalar.value {
            case 0x22, 0x5C, 0x0A, 0x0D, 0x09: 2
            case 0..<0x20, 0x7F: 6
            default: UTF8.width(scalar)
            }
            return total + length
        }
    }

    /// The bytes one character takes inside a JSON string.
    private static func escapedLength(of character: Character) -> Int {
        escapedLength(of: String(character))
    }
}
