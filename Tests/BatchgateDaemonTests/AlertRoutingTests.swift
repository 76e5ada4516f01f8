import Foundation
import Testing
import BatchgateCore
@testable import BatchgateDaemon
@testable import BatchgateSystem
@testable import BatchgateConfig
@testable import BatchgateAlerts

/// The router writing alerts into the outbox: drafts before the move, published after, and every
/// crash state between the steps leaving exactly one alert per sink (never one the senders already
/// took, never none).
@Suite("Alerts in the router")
struct AlertRoutingTests {
    final class Fixture {
        let root: URL
        let layout: StateLayout
        let audit: AuditLog
        let outbox: Outbox
        let router: Router

        init(sinks: [DaemonConfig.AlertSink] = [
            DaemonConfig.AlertSink(name: "chat", type: .slack, url: .inline("http://127.0.0.1:9/")),
            DaemonConfig.AlertSink(name: "desk", type: .webhook, url: .inline("http://127.0.0.1:9/"),
                                   decisions: [.needsBatch, .rejected, .accepted]),
        ]) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-alert-routing-\(UUID().uuidString)")
            layout = StateLayout(root: root.path)
            try layout.prepare()
            audit = try AuditLog(path: layout.auditLog)
            outbox = try Outbox(layout: layout)
            let quiet = Logger(level: .error, fd: open("/dev/null", O_WRONLY))
            let config = DaemonConfig(facility: DaemonConfig.Facility(name: "North"), alerts: DaemonConfig.Alerts(sinks: sinks))
            let planner = AlertPlanner(config: config, layout: layout, host: "plant-1")
            router = try Router(layout: layout, checker: ManifestChecker(), syncToDisk: true, log: quiet, audit: audit,
                                outbox: outbox, alerts: planner)
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        func drop(_ name: String, _ contents: String, into folder: String) throws {
            try Data(contents.utf8).write(to: root.appendingPathComponent(folder).appendingPathComponent(name))
        }

        func names(_ folder: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []).sorted()
        }

        func journal(_ entry: JournalEntry) throws {
            try Data((entry.journalLine() + [0x0A])).write(to: root.appendingPathComponent("processing/.journal-1-1.jsonl"))
        }

        /// The alerts the router would write for this route.
        func planned(_ entry: JournalEntry) -> [OutboxEntry] {
            let report = ManifestChecker().check(fileName: entry.name, bytes: Array(AlertRoutingTests.needsBatch.utf8))
            return router.alerts!.entries(for: entry.routed, report: report, createdAt: 1)
        }
    }

    static let needsBatch = """
        [{"Tag": "1A4FF0300000022000000001", "Item": "Resin", "ItemCategory": "Concentrate", "Quantity": 1, "UnitOfMeasure": "Grams",
          "Ingredients": [{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}]
        """
    static let accepted = """
        [{"Tag": "1A4FF0300000022000000002", "Item": "Buds", "ItemCategory": "Buds", "Quantity": 1, "UnitOfMeasure": "Grams",
          "Ingredients": [{"Package": "1A4FF0100000022000000002", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}]
        """

    /// Eleven packages of buds repackaged: accepted by the rules, one more than Metrc is reported
    /// to take in one request (the `too-many-packages` check warns by default).
    static let eleven = "[" + (11...21).map { number in
        """
        {"Tag": "1A4FF03000000220000000\(number)", "Item": "Buds", "ItemCategory": "Buds", "Quantity": 1, "UnitOfMeasure": "Grams",
         "Ingredients": [{"Package": "1A4FF01000000220000000\(number)", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}
        """
    }.joined(separator: ",") + "]"

    let route = JournalEntry(id: "00000000000000aa", name: "m.json", decision: .needsBatch, finalName: "m.json",
                           receivedAt: "2026-11-27T00:00:00.000Z", routedAt: "2026-11-27T00:00:01.000Z")

    /// A warning keeps the manifest accepted, and reaches the sinks that hear of warnings even
    /// though they do not hear of accepted manifests.
    @Test func anAcceptedManifestWithAWarningIsAlertedToTheSinksThatHearOfWarnings() throws {
        let fixture = try Fixture(sinks: [
            DaemonConfig.AlertSink(name: "chat", type: .slack, url: .inline("http://127.0.0.1:9/")),
            DaemonConfig.AlertSink(name: "quiet", type: .teams, url: .inline("http://127.0.0.1:9/"), warnings: false),
        ])
        try fixture.drop("eleven.json", Self.eleven, into: "inbox")
        let outcome = try #require(fixture.router.route(["eleven.json"]).outcomes.first)
        #expect(outcome.entry.decision == .accepted)
        #expect(fixture.names("accepted").contains("eleven.json"))
        #expect(outcome.alerts.map(\.sink) == ["chat"])
        #expect(outcome.alerts.first?.alert.contains("Accepted with warnings: eleven.json") == true)
        #expect(outcome.alerts.first?.alert.contains("warning [too-many-packages]") == true)
    }

    @Test func eachSinkThatWantsTheDecisionGetsOneAlertRenderedForItsKind() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", Self.needsBatch, into: "inbox")
        try fixture.drop("ok.json", Self.accepted, into: "inbox")
        let outcomes = fixture.router.route(["m.json", "ok.json"]).outcomes
        let needing = try #require(outcomes.first { $0.entry.name == "m.json" })
        let fine = try #require(outcomes.first { $0.entry.name == "ok.json" })
        #expect(needing.alerts.map(\.sink) == ["chat", "desk"])
        #expect(fine.alerts.map(\.sink) == ["desk"], "the chat sink does not want accepted manifests")
        let waiting = try fixture.outbox.waiting().entries
        #expect(Set(waiting.map(\.id)) == Set((needing.alerts + fine.alerts).map(\.id)))
        #expect(fixture.names("outbox").allSatisfy { !$0.hasPrefix(".") }, "no draft left")
        let slack = try #require(waiting.first { $0.sink == "chat" })
        #expect(slack.kind == .slack)
        #expect(slack.id == "\(needing.entry.id)-chat")
        #expect(slack.alert.contains("\"blocks\""))
        #expect(slack.alert.contains("Needs a production batch: m.json (North)"))
        #expect(slack.digestLine.hasPrefix("m.json — "))
        let desk = try #require(waiting.first { $0.sink == "desk" && $0.id.hasPrefix(needing.entry.id) })
        #expect(desk.alert.contains("\"reportPath\":\"\(fixture.layout.needsBatch)/m.json.report.txt\""))
        #expect(desk.alert.contains("\"host\":\"plant-1\""))
    }

    @Test func withoutSinksNothingIsWritten() throws {
        let fixture = try Fixture(sinks: [])
        try fixture.drop("m.json", Self.needsBatch, into: "inbox")
        #expect(fixture.router.route(["m.json"]).outcomes.first?.alerts.isEmpty == true)
        #expect(fixture.names("outbox") == ["dead"])
    }

    @Test func crashBeforeTheDraftsReachedTheDiskWritesThemOnce() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", Self.needsBatch, into: "processing")
        try fixture.journal(route)
        let outcomes = fixture.router.recover()
        #expect(outcomes.first?.alerts.map(\.sink) == ["chat", "desk"])
        #expect(fixture.names("outbox") == ["00000000000000aa-chat.json", "00000000000000aa-desk.json", "dead"])
    }

    @Test func crashWithDraftsWrittenBeforeTheMoveRewritesAndPublishesThem() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", Self.needsBatch, into: "processing")
        try fixture.journal(route)
        for entry in fixture.planned(route) { try fixture.outbox.writeDraft(entry) }
        _ = fixture.router.recover()
        #expect(fixture.names("outbox") == ["00000000000000aa-chat.json", "00000000000000aa-desk.json", "dead"])
    }

    @Test func crashAfterTheMoveBeforePublishingPublishesTheDrafts() throws {
        let fixture = try Fixture()
        try fixture.journal(route)
        try fixture.drop("m.json", Self.needsBatch, into: "needs-batch")
        for entry in fixture.planned(route) { try fixture.outbox.writeDraft(entry) }
        let outcomes = fixture.router.recover()
        #expect(outcomes.first?.alerts.count == 2, "handed to the senders")
        #expect(fixture.names("outbox") == ["00000000000000aa-chat.json", "00000000000000aa-desk.json", "dead"])
        #expect(try fixture.outbox.waiting().entries.allSatisfy { $0.createdAt == 1 }, "the drafts themselves")
    }

    @Test func crashAfterPublishingNeverWritesASecondAlert() throws {
        let fixture = try Fixture()
        try fixture.journal(route)
        try fixture.drop("m.json", Self.needsBatch, into: "needs-batch")
        let planned = fixture.planned(route)
        for entry in planned { try fixture.outbox.writeDraft(entry); try fixture.outbox.publish(entry) }
        // One was delivered and removed by its sender before the crash.
        try fixture.outbox.remove(planned[0])
        let outcomes = fixture.router.recover()
        #expect(outcomes.first?.alerts.isEmpty == true)
        #expect(fixture.names("outbox") == ["00000000000000aa-desk.json", "dead"], "the delivered alert is not written again")
        #expect(fixture.names("processing").isEmpty, "the journal is done")
    }

    @Test func publishingKeepsAnEntryAlreadyThere() throws {
        let fixture = try Fixture()
        var entry = fixture.planned(route)[0]
        try fixture.outbox.writeDraft(entry)
        #expect(try fixture.outbox.publish(entry))
        entry.attempts = 4
        try fixture.outbox.writeDraft(entry)
        #expect(try fixture.outbox.publish(entry) == false)
        #expect(try fixture.outbox.waiting().entries.first?.attempts == 0)
        #expect(fixture.names("outbox") == ["00000000000000aa-chat.json", "dead"])
    }
}

/// Review: a crash after the move and before publishing, then a restart whose config no longer
/// routes that decision to the sink (a sink renamed, removed, or `run --root` without sinks).
@Suite("Alerts in the router: replay under another config")
struct AlertReplayConfigChangeTests {
    @Test func draftsOfAMovedManifestArePublishedWhateverTheConfigNowSays() throws {
        let fixture = try AlertRoutingTests.Fixture()
        let route = JournalEntry(id: "00000000000000bb", name: "m.json", decision: .needsBatch, finalName: "m.json",
                               receivedAt: "2026-11-27T00:00:00.000Z", routedAt: "2026-11-27T00:00:01.000Z")
        try fixture.journal(route)
        try fixture.drop("m.json", AlertRoutingTests.needsBatch, into: "needs-batch")
        for entry in fixture.planned(route) { try fixture.outbox.writeDraft(entry) }
        // The restart runs with the chat sink renamed.
        let renamed = DaemonConfig.AlertSink(name: "chat-2", type: .slack, url: .inline("http://127.0.0.1:9/"))
        fixture.router.alerts = AlertPlanner(
            config: DaemonConfig(alerts: DaemonConfig.Alerts(sinks: [renamed])), layout: fixture.layout, host: "plant-1")
        _ = fixture.router.recover()
        #expect(fixture.names("processing").isEmpty, "the journal is gone")
        // The durable drafts were the only record of these alerts: they must be published (and the
        // dispatcher then delivers or dead-letters them), never left as hidden files.
        #expect(fixture.names("outbox").filter { $0.hasPrefix(".") }.isEmpty,
                "orphaned drafts, alert lost: \(fixture.names("outbox"))")
    }
}
