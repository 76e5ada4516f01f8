import Foundation
import Testing
import TestSupport
import BatchgateCore
@testable import BatchgateSystem
@testable import BatchgateConfig
@testable import BatchgateAlerts

/// The payload gallery of docs/alerts.md is what the code sends: each block marked
/// `<!-- gallery: NAME -->` is rendered here by the real formatting code from fixed inputs (a
/// fixed alert id, host and clock) and compared with the document.
///
/// After a deliberate change to a payload, `BATCHGATE_UPDATE_GALLERY=1 swift test --filter
/// Gallery` rewrites the blocks; review the diff of docs/alerts.md before committing it.
@Suite("Alert payload gallery")
struct AlertGalleryTests {
    @Test func galleryInTheDocsIsWhatTheCodeSends() throws {
        let document = try String(contentsOfFile: Gallery.documentPath, encoding: .utf8)
        let rendered = try Gallery.rendered()
        var blocks = try GalleryDocument(document)

        #expect(Set(blocks.names) == Set(rendered.map(\.name)),
                "docs/alerts.md marks \(blocks.names.sorted()); the gallery renders \(rendered.map(\.name).sorted())")
        if ProcessInfo.processInfo.environment["BATCHGATE_UPDATE_GALLERY"] == "1" {
            for block in rendered { blocks.replace(block.name, with: block.text) }
            try blocks.text.write(toFile: Gallery.documentPath, atomically: true, encoding: .utf8)
            return
        }
        for block in rendered {
            guard let documented = blocks.content(of: block.name), let firstLine = blocks.firstLine(of: block.name) else { continue }
            if documented != block.text {
                Issue.record(Comment(rawValue: """
                    docs/alerts.md, block '\(block.name)', differs from what the code renders \
                    (- the document, + the code):
                    \(Gallery.difference(documented, block.text, firstLine: firstLine))
                    If the change is meant, run BATCHGATE_UPDATE_GALLERY=1 swift test --filter Gallery \
                    and review the diff of docs/alerts.md.
                    """))
            }
        }
    }

    @Test func prettyPrintingKeepsEveryByteThatIsSent() throws {
        for block in try Gallery.rendered() where block.sent != nil {
            #expect(Gallery.compact(block.text) == block.sent, "\(block.name)")
        }
    }

    @Test func aChangedByteIsShownLineByLine() {
        let difference = Gallery.difference("a\nb\nc\n", "a\nB\nc\n", firstLine: 10)
        #expect(difference == "line 11:\n- b\n+ B", "\(difference)")
    }
}

/// The fixed inputs of the gallery and the payloads rendered from them.
enum Gallery {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let documentPath = repository.appendingPathComponent("docs/alerts.md").path

    static let host = "plant-1"
    static let facility = "North Plant"
    static let license = "402-00123"
    static let stateRoot = "/var/lib/batchgate"
    /// 2026-03-12T09:41:27.512Z, when the sample manifest is routed.
    static let routedAt = 1_773_308_487.512
    /// 36 seconds later, when the digest goes out.
    static let digestAt = routedAt + 35.688
    static let signingSecret = "s3cret-key"

    /// One block of the gallery: its name, its text as the document shows it, and for JSON the
    /// exact bytes sent (the text is those bytes pretty-printed).
    struct Block {
        var name: String
        var text: String
        var sent: [UInt8]?
    }

    static func rendered() throws -> [Block] {
        let preroll = try message(file: "preroll-run.csv", id: "3f9c2a71d04be815", at: routedAt,
                                  bytes: Array(Data(contentsOf: repository.appendingPathComponent("config/examples/preroll-run.csv"))))
        var blocks: [Block] = []

        // Webhook: the request's headers and its body.
        let desk = sink("support-desk", .webhook)
        let deskRequest = Sinks.Webhook.httpRequest(for: try delivery(of: [entry(preroll, for: desk)], to: desk), to: desk, secrets: desk.inlineSecrets,
                                                    host: host, date: routedAt + 0.734)
        blocks.append(Block(name: "webhook-headers", text: deskRequest.headers.map { "\($0.name): \($0.value)\n" }.joined()))
        blocks.append(json("webhook-body", deskRequest.body))
        blocks.append(Block(name: "webhook-body-sent", text: String(decoding: deskRequest.body, as: UTF8.self) + "\n"))

        // Slack and Teams: one alert, and a digest of three.
        let burst = try digestMembers(first: preroll)
        for (kind, name) in [(DaemonConfig.AlertSink.SinkType.slack, "slack"), (.teams, "teams")] {
            let chat = sink("compliance-\(name)", kind)
            blocks.append(json("\(name)-alert", try delivery(of: [entry(preroll, for: chat)], to: chat).body))
            blocks.append(json("\(name)-digest", try delivery(of: burst.map { entry($0, for: chat) }, to: chat).body))
        }

        // E-mail: one alert and a digest, as the whole message goes to the server.
        let mail = sink("compliance-mail", .email)
        blocks.append(Block(name: "email-alert", text: try email(delivery(of: [entry(preroll, for: mail)], to: mail), to: mail, at: routedAt)))
        blocks.append(Block(name: "email-digest", text: try email(delivery(of: burst.map { entry($0, for: mail) }, to: mail), to: mail, at: digestAt)))

        // A manifest accepted with check warnings, alerted to the sinks that do not hear of
        // accepted manifests because they have `warnings: true`.
        let warned = try warnedMessage()
        let slack = sink("compliance-slack", .slack)
        blocks.append(json("slack-alert-warnings", try delivery(of: [entry(warned, for: slack)], to: slack).body))
        blocks.append(Block(name: "email-alert-warnings", text: try email(delivery(of: [entry(warned, for: mail)], to: mail), to: mail,
                                                                          at: warnedAt)))

        // The minimal versions, as each goes after a refusal of the full alert.
        for (kind, name) in [(DaemonConfig.AlertSink.SinkType.webhook, "webhook"), (.slack, "slack"), (.teams, "teams")] {
            let target = kind == .webhook ? desk : sink("compliance-\(name)", kind)
            blocks.append(json("\(name)-minimal", try delivery(of: [refused(entry(preroll, for: target))], to: target).body))
        }
        blocks.append(Block(name: "email-minimal", text: try email(delivery(of: [refused(entry(preroll, for: mail))], to: mail), to: mail,
                                                                   at: routedAt + 1.021)))

        // The notices about the service, as the planner writes them for every sink.
        let planner = AlertPlanner(config: DaemonConfig(facility: .init(licenseNumber: license, name: facility),
                                                        alerts: .init(sinks: [desk, sink("compliance-slack", .slack),
                                                                              sink("compliance-teams", .teams), mail])),
                                   layout: StateLayout(root: stateRoot), host: host)
        let lost = planner.entries(for: metrcUnreachable, createdAt: metrcLostAt)
        let back = planner.entries(for: metrcReachable, createdAt: metrcBackAt)
        func of(_ entries: [OutboxEntry], _ sink: String) throws -> OutboxEntry { try #require(entries.first { $0.sink == sink }) }
        let lostRequest = Sinks.Webhook.httpRequest(for: try delivery(of: [of(lost, desk.name)], to: desk), to: desk,
                                                    secrets: desk.inlineSecrets, host: host, date: metrcLostAt + 0.375)
        blocks.append(Block(name: "notice-webhook-headers", text: lostRequest.headers.map { "\($0.name): \($0.value)\n" }.joined()))
        blocks.append(json("notice-webhook-unreachable", lostRequest.body))
        for name in ["slack", "teams"] {
            let chat = sink("compliance-\(name)", name == "slack" ? .slack : .teams)
            blocks.append(json("notice-\(name)-unreachable", try delivery(of: [of(lost, chat.name)], to: chat).body))
        }
        blocks.append(Block(name: "notice-email-unreachable", text: try email(delivery(of: [of(lost, mail.name)], to: mail), to: mail,
                                                                              at: metrcLostAt)))
        blocks.append(json("notice-webhook-reachable", try delivery(of: [of(back, desk.name)], to: desk).body))
        blocks.append(Block(name: "notice-email-reachable", text: try email(delivery(of: [of(back, mail.name)], to: mail), to: mail,
                                                                            at: metrcBackAt)))
        return blocks
    }

    /// 2026-03-12T14:05:11.250Z: Metrc has not answered three tries since 14:02:11, and three
    /// manifests wait for it. (Fractions a binary double holds exactly: the milliseconds print as
    /// written.)
    static let metrcLostAt = 1_773_324_311.25
    static let metrcLostSince = 1_773_324_131.0
    /// 2026-03-12T14:47:36.750Z: Metrc answers again.
    static let metrcBackAt = 1_773_326_856.75

    static let metrcUnreachable = ServiceNotice.catalogUnreachable(
        id: "c7a9e2f40b1d5836", at: metrcLostAt, server: "https://api-wv.metrc.com", since: metrcLostSince, waiting: 3,
        lastError: "Metrc did not answer /packages/v2/active after 3 attempts (last: Timeout was reached (curl error 28))")
    static let metrcReachable = ServiceNotice.catalogReachable(
        id: "c7a9e2f40b1d5837", at: metrcBackAt, server: "https://api-wv.metrc.com", unreachableSince: metrcLostSince, waiting: 3)

    /// The alert about a manifest routed as the daemon routes it: evaluated, in its outcome folder.
    static func message(file: String, id: String, at seconds: Double, bytes: [UInt8]) -> AlertMessage {
        let report = ManifestChecker().check(fileName: file, bytes: bytes)
        let folder = StateLayout(root: stateRoot).folder(for: report.decision)
        return AlertMessage(id: id, time: Timestamp.iso8601(seconds), licenseNumber: license, facility: facility, host: host,
                            file: file, reportPath: folder + "/" + file + ".report.txt", report: report)
    }

    /// 2026-03-12T10:02:05.125Z, when the repackaging run is routed.
    static let warnedAt = 1_773_309_725.125

    /// `config/examples/repackage.csv`, accepted, with the warning the lab-testing check gives
    /// when the source it takes from failed its tests: checked as the daemon checks it with
    /// Metrc's catalog, here the sample catalog (config/catalog) whose record of that source says
    /// `TestFailed`, on the day it is routed.
    static func warnedMessage() throws -> AlertMessage {
        let bytes = try Array(Data(contentsOf: repository.appendingPathComponent("config/examples/repackage.csv")))
        let catalogFolder = repository.appendingPathComponent("config/catalog")
        let items = try CatalogReader.readItems(Array(Data(contentsOf: catalogFolder.appendingPathComponent("items.json"))),
                                                fileName: "items.json")
        var packages = try CatalogReader.readPackages(Array(Data(contentsOf: catalogFolder.appendingPathComponent("packages.csv"))),
                                                      fileName: "packages.csv")
        let source = try #require(packages.firstIndex { $0.tag == "1A4FF0100000022000000801" })
        packages[source].labTestingState = "TestFailed"
        var checker = ManifestChecker(catalog: Catalog(items: items, packages: packages))
        checker.sourcesMustBeKnown = true
        checker.today = "2026-03-12"
        let report = checker.check(fileName: "repackage.csv", bytes: bytes)
        // The gallery shows this warning and nothing else: another finding would be a change of
        // the checks or of the sample catalog to look at, not to copy into the docs.
        #expect(report.decision == .accepted && report.skipped.isEmpty
                    && report.checkFindings(.warning).map(\.check) == [.sourceLabFailed, .sourceLabFailed], "\(report.text)")
        let folder = StateLayout(root: stateRoot).folder(for: report.decision)
        return AlertMessage(id: "3f9c2a71d04be818", time: Timestamp.iso8601(warnedAt), licenseNumber: license, facility: facility,
                            host: host, file: "repackage.csv", reportPath: folder + "/repackage.csv.report.txt", report: report)
    }

    /// Three manifests routed within a minute: the sample, a concentrate run, a torn scan.
    static func digestMembers(first: AlertMessage) throws -> [AlertMessage] {
        let concentrate = try Array(Data(contentsOf: repository.appendingPathComponent("config/examples/concentrate-run.json")))
        let scan = """
            New Package Tag,Source Package Tag,Source Package Quantity Used,Source Package Quantity Unit of Measure,Item Name,New Package Quantity,New Package Unit,Item Category,Source Item Category
            1A4FF0300000022000008009,1A4FF0100000022000000901,100,Grams,Blue Dream Buds 3.5g,28,Each,Buds
            """
        return [
            first,
            message(file: "concentrate-run.json", id: "3f9c2a71d04be816", at: routedAt + 12.030, bytes: concentrate),
            message(file: "scan-0312.csv", id: "3f9c2a71d04be817", at: routedAt + 30.441, bytes: Array(scan.utf8)),
        ]
    }

    // Every settings value the gallery needs is made here, in one place.

    static func sink(_ name: String, _ kind: DaemonConfig.AlertSink.SinkType) -> DaemonConfig.AlertSink {
        switch kind {
        case .webhook:
            DaemonConfig.AlertSink(name: name, type: kind, url: .inline("https://desk.plant.example.com/api/batchgate"),
                                   headers: [.init(name: "Authorization", value: .inline("Bearer 6b1f0c9e27d4"))],
                                   signing: .init(secret: .inline(signingSecret)))
        case .email:
            DaemonConfig.AlertSink(name: name, type: kind, url: .inline("smtp://mail.plant.example.com:587"),
                                   email: .init(from: "batchgate@plant.example.com", to: ["compliance@plant.example.com"]))
        case .slack, .teams:
            DaemonConfig.AlertSink(name: name, type: kind, url: .inline("https://hooks.example.com/\(name)"))
        }
    }

    /// The outbox entry the router writes for a sink (see ``AlertPlanner/entries(for:report:createdAt:)``).
    static func entry(_ message: AlertMessage, for sink: DaemonConfig.AlertSink) -> OutboxEntry {
        let (alert, subject) = AlertPlanner.render(message, for: sink.type)
        return OutboxEntry(routeID: message.id, sink: sink.name, kind: sink.type, createdAt: routedAt, alert: alert, subject: subject,
                           digestLine: message.digestLine, event: message.event, fallback: sink.type.kind.fallback(message).text)
    }

    /// `entry` once its receiver refused the full alert: what goes next is its minimal version.
    static func refused(_ entry: OutboxEntry) -> OutboxEntry {
        var entry = entry
        entry.refusal = "HTTP 400: invalid_blocks"
        return entry
    }

    /// What the sink's sender sends for these entries: the one alert, or a digest of them all.
    static func delivery(of entries: [OutboxEntry], to sink: DaemonConfig.AlertSink) throws -> AlertDelivery {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-gallery-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let layout = StateLayout(root: folder.path)
        try layout.prepare()
        let sender = AlertSender(sink: sink, secrets: sink.inlineSecrets, context: AlertSender.Context(transfer: DaemonConfig.Alerts(), policy: RetryPolicy(), host: host,
                                                                          facility: facility),
                                 outbox: try Outbox(layout: layout), transport: NoTransport(), log: Logger(fd: -1),
                                 clock: { digestAt }, random: { 0.5 })
        return sender.delivery(for: entries, at: digestAt)
    }

    /// The message as ``LibcurlAlertTransport`` hands it to the SMTP server, with LF for CRLF.
    static func email(_ delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, at seconds: Double) throws -> String {
        let settings = try #require(sink.email)
        let message = Sinks.Email.message(for: delivery, settings: settings, host: host, date: seconds)
        return String(decoding: message.rendered(), as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    }

    struct NoTransport: AlertTransport {
        func send(_ delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
                  options: DaemonConfig.Alerts) -> AlertAttemptResult {
            AlertAttemptResult(attempt: .failed("the gallery sends nothing"), answer: "")
        }
    }

    static func json(_ name: String, _ bytes: [UInt8]) -> Block {
        Block(name: name, text: pretty(bytes), sent: bytes)
    }

    /// Compact JSON (as ``JSONWriter`` writes it) laid out two spaces an indent, one member or
    /// element a line; strings are copied byte for byte, escapes and all.
    static func pretty(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var depth = 0
        var index = 0
        func newLine() { output.append(0x0A); output += Array(repeating: 0x20, count: depth * 2) }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                output.append(byte)
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") { output.append(bytes[index]); index += 1 }
                    output.append(bytes[index])
                    index += 1
                }
                output.append(UInt8(ascii: "\""))
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                output.append(byte)
                if index + 1 < bytes.count, bytes[index + 1] == byte + 2 {  // `{}` and `[]` stay as they are
                    output.append(byte + 2)
                    index += 1
                } else {
                    depth += 1
                    newLine()
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                newLine()
                output.append(byte)
            case UInt8(ascii: ","):
                output.append(byte)
                newLine()
            case UInt8(ascii: ":"):
                output += [byte, 0x20]
            default:
                output.append(byte)
            }
            index += 1
        }
        return String(decoding: output, as: UTF8.self) + "\n"
    }

    /// The bytes of pretty-printed JSON without the layout: what ``pretty(_:)`` was given.
    static func compact(_ text: String) -> [UInt8] {
        var output: [UInt8] = []
        var inString = false
        var escaped = false
        for byte in text.utf8 {
            if inString {
                output.append(byte)
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                output.append(byte)
                inString = true
            } else if ![0x20, 0x0A, 0x0D, 0x09].contains(byte) {
                output.append(byte)
            }
        }
        return output
    }

    /// The lines that differ, numbered as in the document, whose block begins at `firstLine`.
    static func difference(_ documented: String, _ rendered: String, firstLine: Int) -> String {
        let old = documented.split(separator: "\n", omittingEmptySubsequences: false)
        let new = rendered.split(separator: "\n", omittingEmptySubsequences: false)
        var lines: [String] = []
        for index in 0..<max(old.count, new.count) {
            let before = index < old.count ? old[index] : nil
            let after = index < new.count ? new[index] : nil
            guard before != after else { continue }
            lines.append("line \(firstLine + index):")
            if let before { lines.append("- " + before) }
            if let after { lines.append("+ " + after) }
            if lines.count > 30 { lines.append("…"); break }
        }
        return lines.joined(separator: "\n")
    }
}

/// docs/alerts.md cut at its gallery blocks: a fenced block right after each
/// `<!-- gallery: NAME -->` line.
struct GalleryDocument {
    /// The document's lines, and for each block the range of lines inside its fence.
    private var lines: [String]
    private var blocks: [(name: String, inside: Range<Int>)] = []

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    init(_ text: String) throws {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            guard line.hasPrefix("<!-- gallery: "), line.hasSuffix(" -->") else { continue }
            let name = String(line.dropFirst("<!-- gallery: ".count).dropLast(" -->".count))
            guard index < lines.count, lines[index].hasPrefix("```") else {
                throw Problem(description: "docs/alerts.md line \(index): the marker of '\(name)' is not followed by a fenced block")
            }
            let start = index + 1
            guard let end = lines[start...].firstIndex(of: "```") else {
                throw Problem(description: "docs/alerts.md line \(index + 1): the block of '\(name)' is never closed")
            }
            blocks.append((name, start..<end))
            index = end + 1
        }
    }

    var names: [String] { blocks.map(\.name) }

    /// The number of the block's first line in the document, counted from 1.
    func firstLine(of name: String) -> Int? {
        blocks.first { $0.name == name }.map { $0.inside.lowerBound + 1 }
    }

    /// The block's text, each line ended by a line feed.
    func content(of name: String) -> String? {
        guard let block = blocks.first(where: { $0.name == name }) else { return nil }
        return lines[block.inside].map { $0 + "\n" }.joined()
    }

    mutating func replace(_ name: String, with text: String) {
        guard let position = blocks.firstIndex(where: { $0.name == name }) else { return }
        let inside = blocks[position].inside
        var new = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if new.last == "" { new.removeLast() }
        lines.replaceSubrange(inside, with: new)
        let shift = new.count - inside.count
        blocks[position].inside = inside.lowerBound..<(inside.lowerBound + new.count)
        for later in blocks.indices where blocks[later].inside.lowerBound > inside.lowerBound {
            blocks[later].inside = (blocks[later].inside.lowerBound + shift)..<(blocks[later].inside.upperBound + shift)
        }
    }

    var text: String { lines.joined(separator: "\n") }
}
