import Foundation
import Testing
import BatchgateCore
@testable import BatchgateDaemon
@testable import BatchgateSystem
@testable import BatchgateConfig

/// The router on real folders, including every state a crash can leave between its steps.
@Suite("Router")
struct RouterTests {
    let fileManager = FileManager.default

    final class Fixture {
        let root: URL
        let layout: StateLayout
        let audit: AuditLog
        let router: Router

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-router-\(UUID().uuidString)")
            layout = StateLayout(root: root.path)
            try layout.prepare()
            audit = try AuditLog(path: layout.auditLog)
            let quiet = Logger(level: .error, fd: open("/dev/null", O_WRONLY))
            router = try Router(layout: layout, checker: ManifestChecker(), syncToDisk: true, log: quiet, audit: audit)
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        func drop(_ name: String, _ contents: String, into folder: String = "inbox") throws {
            try Data(contents.utf8).write(to: root.appendingPathComponent(folder).appendingPathComponent(name))
        }

        func names(_ folder: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []).sorted()
        }

        func auditCount() -> Int {
            ((try? String(contentsOf: URL(fileURLWithPath: layout.auditLog), encoding: .utf8)) ?? "")
                .split(separator: "\n").count
        }

        /// After recovery: `m.json` and its two reports in `needs-batch/`, nothing left in
        /// `processing/`, one audit line.
        func expectRoutedOnceAsIs(sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(names("processing").isEmpty, sourceLocation: sourceLocation)
            #expect(names("needs-batch") == ["m.json", "m.json.report.json", "m.json.report.txt"], sourceLocation: sourceLocation)
            #expect(auditCount() == 1, sourceLocation: sourceLocation)
        }

        /// Writes a journal naming one route, as step 3 does.
        func journal(_ entry: JournalEntry) throws {
            try Data((entry.journalLine() + [0x0A])).write(to: root.appendingPathComponent("processing/.journal-1-1.jsonl"))
        }
    }

    let good = """
        [{"Tag": "1A4FF0300000022000000001", "Item": "Resin", "ItemCategory": "Concentrate", "Quantity": 1, "UnitOfMeasure": "Grams",
          "Ingredients": [{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}]
        """

    func entry(_ name: String = "m.json", final: String = "m.json") -> JournalEntry {
        JournalEntry(id: "00000000000000aa", name: name, decision: .needsBatch, finalName: final,
                   receivedAt: "2026-11-27T00:00:00.000Z", routedAt: "2026-11-27T00:00:01.000Z")
    }

    /// Each batch, and each recovery, evaluates with today read from the router's clock: the
    /// latest date on Earth, which turns at 10:00 UTC.
    @Test func eachBatchTakesTodayFromTheClock() throws {
        let fixture = try Fixture()
        var now = try #require(Timestamp.seconds(iso8601: "2026-12-05T09:59:59Z"))
        fixture.router.wallClock = { now }
        #expect(fixture.router.checker.today == nil, "no batch yet")
        try fixture.drop("m.json", good)
        #expect(fixture.router.route(["m.json"]).outcomes.count == 1)
        #expect(fixture.router.checker.today == "2026-12-05")

        now = try #require(Timestamp.seconds(iso8601: "2026-12-05T10:00:00Z"))
        _ = fixture.router.recover()
        #expect(fixture.router.checker.today == "2026-12-06")
        // A reload's new checker has no date until the next batch gives it one.
        fixture.router.checker = ManifestChecker()
        now = try #require(Timestamp.seconds(iso8601: "2026-12-31T23:00:00Z"))
        try fixture.drop("n.json", good)
        #expect(fixture.router.route(["n.json"]).outcomes.count == 1)
        #expect(fixture.router.checker.today == "2027-01-01")
    }

    /// What date-future says is decided by the router's clock, batch by batch, as the routed
    /// report shows: an ActualDate of tomorrow in UTC is future until 10:00 UTC (today is then
    /// still today anywhere on Earth), and no longer from 10:00 UTC (it is tomorrow somewhere).
    @Test func dateFutureInTheRoutedReportFollowsTheClock() throws {
        let fixture = try Fixture()
        let dated = good.replacingOccurrences(of: "\"Item\": \"Resin\",", with: "\"Item\": \"Resin\", \"ActualDate\": \"2026-12-06\",")
        #expect(dated != good)
        var now = try #require(Timestamp.seconds(iso8601: "2026-12-05T09:59:59Z"))
        fixture.router.wallClock = { now }
        try fixture.drop("before.json", dated)
        let before = fixture.router.route(["before.json"]).outcomes
        #expect(before.map(\.report.summary) == ["needs-batch: 1 of 1 package needs a production batch; 1 warning (date-future)"])
        let early = try String(contentsOf: fixture.root.appendingPathComponent("needs-batch/before.json.report.txt"), encoding: .utf8)
        #expect(early.contains("warning [date-future]: ActualDate 2026-12-06 of package 1A4FF0300000022000000001 is later than today's date anywhere on Earth (2026-12-05)."), "\(early)")

        now = try #require(Timestamp.seconds(iso8601: "2026-12-05T10:00:00Z"))
        try fixture.drop("after.json", dated)
        let after = fixture.router.route(["after.json"]).outcomes
        #expect(after.map(\.report.summary) == ["needs-batch: 1 of 1 package needs a production batch"])
        let late = try String(contentsOf: fixture.root.appendingPathComponent("needs-batch/after.json.report.txt"), encoding: .utf8)
        #expect(!late.contains("date-future"), "\(late)")
    }

    @Test func routesABatchAndNamesClashesWithASuffix() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", good)
        try fixture.drop("m.json", good, into: "needs-batch")
        try fixture.drop("x.csv", "Tag\n")
        let result = fixture.router.route(["m.json", "x.csv", "gone.json"])
        #expect(result.outcomes.map(\.entry.finalName) == ["m.2.json", "x.csv"])
        #expect(fixture.names("needs-batch") == ["m.2.json", "m.2.json.report.json", "m.2.json.report.txt", "m.json"])
        #expect(fixture.names("rejected") == ["x.csv", "x.csv.report.json", "x.csv.report.txt"])
        #expect(fixture.names("processing").isEmpty)
        #expect(fixture.auditCount() == 2)
    }

    /// A scanner that always writes `m.json`: each new one goes in after the number the last one
    /// took, without looking up every earlier copy; a number someone took meanwhile is skipped,
    /// and once the folder is emptied (archived) the names start again from `m.json`.
    @Test func aNameRoutedOverAndOverGoesOnFromTheNumberItTookLast() throws {
        let fixture = try Fixture()
        for number in 1...30 {
            try fixture.drop(number == 1 ? "m.json" : "m.\(number).json", "an earlier copy", into: "needs-batch")
        }
        func routeOne() throws -> String? {
            try fixture.drop("m.json", good)
            return fixture.router.route(["m.json"]).outcomes.first?.entry.finalName
        }
        #expect(try routeOne() == "m.31.json")
        // A copy taken below the last number is not looked for again; one above it is skipped.
        try FileManager.default.removeItem(at: fixture.root.appendingPathComponent("needs-batch/m.7.json"))
        try fixture.drop("m.32.json.report.txt", "someone's notes", into: "needs-batch")
        #expect(try routeOne() == "m.33.json")
        #expect(try routeOne() == "m.34.json")
        // Archived: the folder emptied, the next copies are named from the start again.
        let needsBatch = fixture.root.appendingPathComponent("needs-batch")
        for name in fixture.names("needs-batch") { try FileManager.default.removeItem(at: needsBatch.appendingPathComponent(name)) }
        #expect(try routeOne() == "m.json")
        #expect(try routeOne() == "m.2.json")
        #expect(fixture.names("processing").isEmpty)
        #expect(fixture.auditCount() == 5)
    }

    @Test func aNameTakenOnlyByAReportIsTakenToo() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json.report.txt", "someone's notes", into: "needs-batch")
        try fixture.drop("m.json", good)
        #expect(fixture.router.route(["m.json"]).outcomes.first?.entry.finalName == "m.2.json")
    }

    @Test func defersANameThatProcessingHolds() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", good)
        try fixture.drop("m.json", good, into: "processing")
        let result = fixture.router.route(["m.json"])
        #expect(result.deferred == ["m.json"])
        #expect(fixture.names("inbox") == ["m.json"])
    }

    // MARK: Crash states

    @Test func crashAfterTheClaim() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", good, into: "processing")
        #expect(fixture.router.recover().map(\.entry.finalName) == ["m.json"])
        #expect(fixture.names("needs-batch") == ["m.json", "m.json.report.json", "m.json.report.txt"])
        #expect(fixture.names("processing").isEmpty)
        #expect(fixture.auditCount() == 1)
    }

    @Test func crashAfterTheJournal() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", good, into: "processing")
        try fixture.journal(entry(final: "m.3.json"))
        #expect(fixture.router.recover().map(\.entry.finalName) == ["m.3.json"], "the journal's name is kept")
        #expect(fixture.names("needs-batch") == ["m.3.json", "m.3.json.report.json", "m.3.json.report.txt"])
        #expect(fixture.names("processing").isEmpty)
        #expect(fixture.auditCount() == 1)
    }

    @Test func crashWithReportDraftsWritten() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", good, into: "processing")
        try fixture.journal(entry())
        try fixture.drop(".m.json.report.json.tmp", "{\"half", into: "needs-batch")
        _ = fixture.router.recover()
        #expect(fixture.names("needs-batch") == ["m.json", "m.json.report.json", "m.json.report.txt"])
        let report = try Data(contentsOf: fixture.root.appendingPathComponent("needs-batch/m.json.report.json"))
        #expect((try? JSONSerialization.jsonObject(with: report)) != nil, "the half-written draft was replaced")
    }

    /// The reports this route would write, as a crash may have left them: whole, torn or empty.
    func reports(of entry: JournalEntry, cutTo length: Int? = nil) -> [(name: String, bytes: [UInt8])] {
        let report = ManifestChecker().check(fileName: entry.name, bytes: Array(good.utf8))
        return ReportFiles.files(entry, report).map { file in (file.name, Array(file.bytes.prefix(length ?? file.bytes.count))) }
    }

    @Test(arguments: [nil, 0, 20, 200])
    func crashWithReportsCreatedBeforeTheMove(cutTo length: Int?) throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", good, into: "processing")
        try fixture.journal(entry())
        for file in reports(of: entry(), cutTo: length) {
            try Data(file.bytes).write(to: fixture.root.appendingPathComponent("needs-batch/\(file.name)"))
        }
        _ = fixture.router.recover()
        #expect(fixture.names("needs-batch") == ["m.json", "m.json.report.json", "m.json.report.txt"], "no second report")
        for file in reports(of: entry()) {
            let written = try Data(contentsOf: fixture.root.appendingPathComponent("needs-batch/\(file.name)"))
            #expect(Array(written) == file.bytes, "\(file.name), cut to \(length.map(String.init) ?? "whole"), is written whole")
        }
        #expect(fixture.auditCount() == 1)
    }

    @Test func anotherFileAtAReportNameMakesTheRouteTakeTheNextName() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", good, into: "processing")
        try fixture.journal(entry())
        // Our JSON report was created, then someone else's file took the text report's name.
        try Data(reports(of: entry())[0].bytes).write(to: fixture.root.appendingPathComponent("needs-batch/m.json.report.json"))
        try fixture.drop("m.json.report.txt", "someone's notes", into: "needs-batch")
        _ = fixture.router.recover()
        #expect(fixture.names("needs-batch") == ["m.2.json", "m.2.json.report.json", "m.2.json.report.txt", "m.json.report.txt"],
                "ours went with the route; theirs stays")
        let notes = try String(contentsOf: fixture.root.appendingPathComponent("needs-batch/m.json.report.txt"), encoding: .utf8)
        #expect(notes == "someone's notes")
        #expect(fixture.names("processing").isEmpty)
        #expect(fixture.auditCount() == 1)
    }

    @Test func aRenamedRouteIsJournaledBeforeItsFilesAreWritten() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", good, into: "processing")
        try fixture.journal(entry())
        try fixture.drop("m.json.report.json", "{\"someone\": \"else\"}", into: "needs-batch")
        // A folder where the new name's JSON report must go: the replay stops after journaling.
        try FileManager.default.createDirectory(at: fixture.root.appendingPathComponent("needs-batch/.m.2.json.report.json.tmp/x"),
                                                withIntermediateDirectories: true)
        _ = fixture.router.recover()
        let journals = fixture.names("processing").filter { $0.hasPrefix(".journal") }
        #expect(journals.count == 1)
        let journal = try String(contentsOf: fixture.root.appendingPathComponent("processing/\(journals[0])"), encoding: .utf8)
        #expect(journal.contains("\"finalName\":\"m.2.json\""), "the new name is in the journal: \(journal)")
        try FileManager.default.removeItem(at: fixture.root.appendingPathComponent("needs-batch/.m.2.json.report.json.tmp"))
        _ = fixture.router.recover()
        #expect(fixture.names("needs-batch") == ["m.2.json", "m.2.json.report.json", "m.2.json.report.txt", "m.json.report.json"],
                "the same new name, not a third")
        #expect(fixture.names("processing").isEmpty)
        #expect(fixture.auditCount() == 1)
    }

    @Test func aManifestNamedLikeAnotherOnesReportGetsAnotherName() throws {
        // A user drags the contents of rejected/ back into the inbox: one batch holds x.json and
        // x.json.report.json, and a batch reserves its reports' names too.
        let fixture = try Fixture()
        try fixture.drop("x.json", "not json")
        try fixture.drop("x.json.report.json", "{}")
        let result = fixture.router.route(["x.json", "x.json.report.json"])
        #expect(result.outcomes.map(\.entry.finalName) == ["x.json", "x.json.report.2.json"])
        #expect(fixture.names("processing").isEmpty)
        #expect(fixture.names("rejected") == ["x.json", "x.json.report.2.json", "x.json.report.2.json.report.json",
                                              "x.json.report.2.json.report.txt", "x.json.report.json", "x.json.report.txt"])
    }

    @Test func twoJournalsOfOneRouteAuditItOnce() throws {
        // Left by a crash in the middle of a journal's replacement (when it was two steps).
        let fixture = try Fixture()
        try fixture.drop("m.json", good, into: "processing")
        try fixture.drop("m.json.report.json", "{\"someone\": \"else\"}", into: "needs-batch")
        try Data(entry().journalLine() + [0x0A]).write(to: fixture.root.appendingPathComponent("processing/.journal-0-1.jsonl"))
        try Data(entry(final: "m.2.json").journalLine() + [0x0A]).write(to: fixture.root.appendingPathComponent("processing/.journal-1-1.jsonl"))
        let outcomes = fixture.router.recover()
        #expect(fixture.auditCount() == 1, "one audit line per manifest")
        #expect(outcomes.count == 1, "routed once: \(outcomes.map(\.entry.finalName))")
    }

    @Test func aJournalReplacementACrashCutShortIsDropped() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", good, into: "processing")
        try fixture.journal(entry())
        try Data("{\"id\":\"00".utf8).write(to: fixture.root.appendingPathComponent("processing/\(Journal.replacementPrefix).journal-1-1.jsonl"))
        _ = fixture.router.recover()
        fixture.expectRoutedOnceAsIs()
    }

    @Test func aKeptJournalDoesNotTakeALaterFileOfTheSameName() throws {
        // Route A was moved and audited, but its journal was kept (another route of the batch
        // failed); a later file of the same name waits in processing/ without a journal.
        let fixture = try Fixture()
        try fixture.drop("m.json", good, into: "needs-batch")
        for name in ["m.json.report.json", "m.json.report.txt"] { try fixture.drop(name, "r", into: "needs-batch") }
        try fixture.audit.append([AuditLog.line(for: entry(), report: ManifestChecker().check(fileName: "m.json", bytes: Array(good.utf8)))],
                                 sync: false)
        try fixture.journal(entry())
        try fixture.drop("m.json", good.replacingOccurrences(of: "Resin", with: "Rosin"), into: "processing")
        let outcomes = fixture.router.recover()
        #expect(fixture.names("processing").isEmpty)
        #expect(fixture.auditCount() == 2, "the later file gets its own audit line")
        #expect(outcomes.map(\.entry.finalName) == ["m.2.json"])
        #expect(outcomes.first?.entry.id != entry().id, "under its own route, not the journal's")
    }

    @Test func aRouteThatMustTakeAnotherNameLeavesNoReportsUnderTheOld() throws {
        // Its reports were created, then another file took the manifest's name.
        let fixture = try Fixture()
        try fixture.drop("m.json", good, into: "processing")
        try fixture.journal(entry())
        for file in reports(of: entry()) {
            try Data(file.bytes).write(to: fixture.root.appendingPathComponent("needs-batch/\(file.name)"))
        }
        try fixture.drop("m.json", "someone else's", into: "needs-batch")
        _ = fixture.router.recover()
        #expect(fixture.names("needs-batch") == ["m.2.json", "m.2.json.report.json", "m.2.json.report.txt", "m.json"])
        #expect(fixture.auditCount() == 1)
    }

    @Test func reportsBeginWithTheirRoutesHeader() {
        let names = ["m.json", "a \"quoted\" name.csv", "café 🌿.json", "line\nbreak.json"]
        for name in names {
            let entry = JournalEntry(id: "1", name: name, decision: .rejected, finalName: suffixedName(name, 2),
                                   receivedAt: "2026-11-27T00:00:00.000Z", routedAt: "2026-11-27T00:00:01.000Z")
            let report = ManifestChecker().check(fileName: name, bytes: Array("not json".utf8))
            for (file, head) in zip(ReportFiles.files(entry, report), ReportFiles.heads(entry)) {
                #expect(file.name == head.name)
                #expect(file.bytes.starts(with: head.header) && head.header.count > 40, "\(file.name)")
            }
        }
    }

    @Test func crashAfterTheMoveBeforeTheAudit() throws {
        let fixture = try Fixture()
        try fixture.journal(entry())
        for name in ["m.json", "m.json.report.json", "m.json.report.txt"] {
            try fixture.drop(name, name == "m.json" ? good : "r", into: "needs-batch")
        }
        _ = fixture.router.recover()
        #expect(fixture.auditCount() == 1)
        #expect(fixture.names("processing").isEmpty)
        #expect(fixture.names("needs-batch").count == 3)
    }

    @Test func reportsRecreatedForAMovedManifestKeepItsFolderAndSayWhenItReadsOtherwise() throws {
        // Both moved before the crash, their reports lost (a power cut without fsync). m.json
        // still reads as journaled; n.json was routed to accepted/ with what the catalog held then
        // and reads as needs-batch now: it stays in accepted/, and its new reports say both.
        let fixture = try Fixture()
        let moved = entry()
        let otherwise = JournalEntry(id: "00000000000000ad", name: "n.json", decision: .accepted, finalName: "n.json",
                                     receivedAt: "2026-11-27T00:00:00.000Z", routedAt: "2026-11-27T00:00:02.000Z")
        try Data((moved.journalLine() + [0x0A] + otherwise.journalLine() + [0x0A]))
            .write(to: fixture.root.appendingPathComponent("processing/.journal-1-1.jsonl"))
        try fixture.drop("m.json", good, into: "needs-batch")
        try fixture.drop("n.json", good, into: "accepted")
        let outcomes = fixture.router.recover()
        #expect(outcomes.map(\.entry.decision) == [.needsBatch, .accepted], "the moves stand")
        #expect(fixture.names("accepted") == ["n.json", "n.json.report.json", "n.json.report.txt"])
        #expect(fixture.names("needs-batch") == ["m.json", "m.json.report.json", "m.json.report.txt"])
        #expect(fixture.names("processing").isEmpty)

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture.root.appendingPathComponent("accepted/n.json.report.json"))) as? [String: Any]
        #expect(json?["decision"] as? String == "needs-batch")
        let note = try #require(json?["recovery"] as? String)
        #expect(note == "written at recovery: the manifest was routed to accepted/ at 2026-11-27T00:00:02.000Z and stays there; read again with the catalog and rules in force now, it reads as needs-batch, as this report says")
        let text = try String(contentsOf: fixture.root.appendingPathComponent("accepted/n.json.report.txt"), encoding: .utf8)
        #expect(text.hasPrefix("received: 2026-11-27T00:00:00.000Z as n.json\nrouted:   2026-11-27T00:00:02.000Z to accepted/\nrecovery: \(note)\n\n"), "\(text)")
        // Still recognised as the route's own, should recovery meet it again.
        #expect(ReportFiles.states(of: otherwise, in: try HeldFolder(fixture.layout.accepted)) == [.ours, .ours])

        let same = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture.root.appendingPathComponent("needs-batch/m.json.report.json"))) as? [String: Any]
        #expect(same?["decision"] as? String == "needs-batch" && same?["recovery"] == nil)
        let sameText = try String(contentsOf: fixture.root.appendingPathComponent("needs-batch/m.json.report.txt"), encoding: .utf8)
        #expect(!sameText.contains("recovery:"))
    }

    @Test func crashAfterTheAuditBeforeTheJournalWasRemoved() throws {
        let fixture = try Fixture()
        try fixture.journal(entry())
        for name in ["m.json", "m.json.report.json", "m.json.report.txt"] {
            try fixture.drop(name, name == "m.json" ? good : "r", into: "needs-batch")
        }
        try fixture.audit.append([AuditLog.line(for: entry(), report: ManifestChecker().check(fileName: "m.json", bytes: Array(good.utf8)))],
                                 sync: false)
        _ = fixture.router.recover()
        #expect(fixture.auditCount() == 1, "not audited twice")
        #expect(fixture.names("processing").isEmpty)
    }

    @Test func aLargePileInProcessingIsFinishedInBatches() throws {
        let fixture = try Fixture()
        for number in 0..<600 { try fixture.drop("pile-\(number).json", good, into: "processing") }
        #expect(fixture.router.recover().count == 600)
        #expect(fixture.names("needs-batch").count == 1_800)
        #expect(fixture.names("processing").isEmpty)
        #expect(fixture.auditCount() == 600)
    }

    @Test func aCrashBetweenLinkAndUnlinkLeavesOneFile() throws {
        let fixture = try Fixture()
        try fixture.journal(entry())
        try fixture.drop("m.json", good, into: "processing")
        #expect(link(fixture.root.appendingPathComponent("processing/m.json").path,
                     fixture.root.appendingPathComponent("needs-batch/m.json").path) == 0)
        _ = fixture.router.recover()
        fixture.expectRoutedOnceAsIs()
    }

    @Test func anotherFileAtTheJournalsNameMakesOursTakeTheNextName() throws {
        let fixture = try Fixture()
        try fixture.journal(entry())
        try fixture.drop("m.json", good, into: "processing")
        try fixture.drop("m.json", "someone else's", into: "needs-batch")
        _ = fixture.router.recover()
        #expect(fixture.names("processing").isEmpty)
        #expect(fixture.names("needs-batch") == ["m.2.json", "m.2.json.report.json", "m.2.json.report.txt", "m.json"])
        #expect(fixture.auditCount() == 1)
        _ = fixture.router.recover()
        #expect(fixture.auditCount() == 1, "nothing twice")
    }

    @Test func aJournalEntryThatCannotFinishIsNeverRoutedAnew() throws {
        let fixture = try Fixture()
        try fixture.journal(entry())
        try fixture.drop("m.json", good, into: "processing")
        // A folder where the report draft must go makes writing it fail.
        try FileManager.default.createDirectory(at: fixture.root.appendingPathComponent("needs-batch/.m.json.report.json.tmp/x"),
                                                withIntermediateDirectories: true)
        for _ in 0..<3 { _ = fixture.router.recover() }
        #expect(fixture.names("processing").filter { $0.hasPrefix(".journal") }.count == 1, "one journal, not one per try")
        #expect(fixture.auditCount() == 0)
        try FileManager.default.removeItem(at: fixture.root.appendingPathComponent("needs-batch/.m.json.report.json.tmp"))
        _ = fixture.router.recover()
        #expect(fixture.names("needs-batch") == ["m.json", "m.json.report.json", "m.json.report.txt"])
        #expect(fixture.auditCount() == 1)
        #expect(fixture.names("processing").isEmpty)
    }

    let repackage = """
        Tag,Item,Category,Quantity,Unit of Measure,Production Batch,Production Batch Number,Date,Process,Source Package,Source Item,Source Category,Source Quantity,Source Unit of Measure
        1A4FF0300000022000008003,Blue Dream Buds,Buds,28,Grams,no,,2025-03-11,Repackage,1A4FF0100000022000000801,Blue Dream Buds,Buds,28,Grams

        """

    @Test func aJournaledRouteWhoseFileNowReadsOtherwiseGoesWhereItsReportSays() throws {
        // Journaled as accepted (a plain repackage), then its writer added a row needing a batch
        // before the move (or the catalog changed): the replay reads it again, and the folder
        // follows the new report; nothing is left in accepted/.
        let fixture = try Fixture()
        try fixture.drop("m.csv", repackage, into: "processing")
        let journaled = JournalEntry(id: "00000000000000ab", name: "m.csv", decision: .accepted, finalName: "m.csv",
                                   receivedAt: "2026-11-27T00:00:00.000Z", routedAt: "2026-11-27T00:00:01.000Z")
        try fixture.journal(journaled)
        try fixture.drop("m.csv.report.json", "", into: "accepted")  // begun by the route, empty
        let lines = repackage.split(separator: "\n")
        let grown = repackage + lines[1].replacingOccurrences(of: "8003", with: "8004").replacingOccurrences(of: "Repackage", with: "Extraction")
            .replacingOccurrences(of: "Blue Dream Buds,Buds,28", with: "Blue Dream Resin,Concentrate,28") + "\n"
        try fixture.drop("m.csv", grown, into: "processing")
        let outcomes = fixture.router.recover()
        #expect(outcomes.map(\.entry.decision) == [.needsBatch])
        #expect(outcomes.map(\.report.decision) == [.needsBatch])
        #expect(fixture.names("accepted").isEmpty, "the route's own begun report goes with it")
        #expect(fixture.names("needs-batch") == ["m.csv", "m.csv.report.json", "m.csv.report.txt"])
        #expect(fixture.names("processing").isEmpty)
        let audit = try String(contentsOf: URL(fileURLWithPath: fixture.layout.auditLog), encoding: .utf8)
        #expect(audit.contains("\"folder\":\"needs-batch\""))
    }

    @Test func aKeptJournalRemembersWhatWasAuditedHoweverLongTheAuditLogGrew() throws {
        // A route audited long ago whose journal was kept (an alert that could not be published):
        // more than 16 MB of audit lines later, the replay must not audit it again.
        let fixture = try Fixture()
        try fixture.drop("m.json", good, into: "needs-batch")
        try fixture.drop("m.json.report.json", "{}", into: "needs-batch")
        try fixture.drop("m.json.report.txt", "x", into: "needs-batch")
        let route = entry()
        try Data(route.journalLine() + [0x0A] + JournalEntry.auditedLine(route.id) + [0x0A])
            .write(to: fixture.root.appendingPathComponent("processing/.journal-1-1.jsonl"))
        let own = "{\"time\":\"t\",\"id\":\"\(route.id)\"}\n"
        let other = String(repeating: "{\"time\":\"t\",\"id\":\"ffffffffffffffff\",\"pad\":\"" + String(repeating: "x", count: 900) + "\"}\n", count: 18_000)
        try Data((own + other).utf8).write(to: URL(fileURLWithPath: fixture.layout.auditLog))
        #expect(fixture.audit.recentIDs().contains(route.id) == false, "the tail alone no longer knows it")
        let before = fixture.auditCount()
        #expect(fixture.router.recover().isEmpty)
        #expect(fixture.auditCount() == before, "audited once, however long ago")
        #expect(fixture.names("processing").isEmpty, "a journal whose routes are all audited is done")
        #expect(JournalEntry.auditedIDs(journalLine: JournalEntry.auditedLine(route.id)[...]) == [route.id])
        #expect(JournalEntry(journalLine: JournalEntry.auditedLine(route.id)[...]) == nil, "a marker is no route")
    }

    @Test func aFileBeingEvaluatedWhenTheDaemonDiedIsEvaluatedAloneThenSetAside() throws {
        let fixture = try Fixture()
        let marker = fixture.root.appendingPathComponent(".batchgate.evaluating")
        // Died once while a batch of two was in hand: each is evaluated again, alone.
        try fixture.drop("m.json", good, into: "processing")
        try fixture.drop("n.json", good, into: "processing")
        try Data("{\"attempt\":1,\"names\":[\"m.json\",\"n.json\"]}\n".utf8).write(to: marker)
        #expect(Set(fixture.router.recover().map(\.entry.name)) == ["m.json", "n.json"])
        #expect(fixture.names("needs-batch").count == 6)
        #expect(try Data(contentsOf: marker).isEmpty, "the marker is cleared once the evaluation is over")
        // Died again while m.json was evaluated alone: it is rejected unread, with a report
        // saying why, and the service goes on.
        try fixture.drop("m.json", good, into: "processing")
        try Data("{\"attempt\":2,\"names\":[\"m.json\"]}\n".utf8).write(to: marker)
        let outcomes = fixture.router.recover()
        #expect(outcomes.map(\.entry.decision) == [.rejected])
        #expect(fixture.names("rejected") == ["m.json", "m.json.report.json", "m.json.report.txt"])
        let report = try String(contentsOf: fixture.root.appendingPathComponent("rejected/m.json.report.txt"), encoding: .utf8)
        #expect(report.contains("stopped twice while evaluating this file"))
    }

    @Test func aFileWithASecondNameIsRejected() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", good)
        try FileManager.default.linkItem(at: fixture.root.appendingPathComponent("inbox/m.json"),
                                         to: fixture.root.appendingPathComponent("elsewhere.json"))
        let result = fixture.router.route(["m.json"])
        #expect(result.outcomes.map(\.entry.decision) == [.rejected])
        #expect(result.outcomes.first?.report.summary.contains("hard link") == true)
    }

    @Test func replacedFoldersAreFollowedAndMissingOnesReported() throws {
        let fixture = try Fixture()
        #expect(try fixture.router.checkFolders().isEmpty)
        let accepted = fixture.root.appendingPathComponent("accepted")
        try FileManager.default.moveItem(at: accepted, to: fixture.root.appendingPathComponent("accepted-2026-11"))
        try FileManager.default.createDirectory(at: accepted, withIntermediateDirectories: false)
        #expect(try fixture.router.checkFolders() == [fixture.layout.accepted])
        try fixture.drop("r.csv", repackage)
        _ = fixture.router.route(["r.csv"])
        #expect(fixture.names("accepted") == ["r.csv", "r.csv.report.json", "r.csv.report.txt"])
        #expect(fixture.names("accepted-2026-11").isEmpty)
        try FileManager.default.removeItem(at: accepted)
        #expect(throws: HeldFolder.Problem.self) { try fixture.router.checkFolders() }
        try FileManager.default.createSymbolicLink(at: accepted, withDestinationURL: fixture.root.appendingPathComponent("accepted-2026-11"))
        #expect(throws: HeldFolder.Problem.self) { try fixture.router.checkFolders() }
    }

    /// The inbox file opened for the lease is read after the claim through that descriptor; a
    /// writer that put another file under the name in between must not have one file read and
    /// the other moved. Read whole, the stamp names the file read, which the move compares with
    /// the file claimed; read without a stamp (hard links), the claimed file is read by name.
    @Test func aFileSwappedBetweenTheLeaseAndTheClaimIsNeverMovedWithTheOthersReport() throws {
        let fixture = try Fixture()
        let processing = try HeldFolder(fixture.layout.processing)
        let inbox = fixture.root.appendingPathComponent("inbox")
        func openInInbox(_ name: String) -> Int32 { open(inbox.appendingPathComponent(name).path, O_RDONLY | O_CLOEXEC) }
        func claimedStamp(_ name: String) throws -> FileStamp {
            FileStamp(try System.lstatAt(processing.fd, name))
        }

        // Read whole: the stamp is that of the file opened, not of the one in processing/.
        try fixture.drop("a.json", good)
        let openedA = openInInbox("a.json")
        try fixture.drop("a.json", "not a manifest", into: "processing")
        guard case .read(let reportA, let stampA?) = Evaluation.of(opened: openedA, "a.json", in: processing, checker: ManifestChecker()) else {
            Issue.record("a regular file of one name read whole has a stamp")
            return
        }
        #expect(reportA.decision == .needsBatch)
        #expect(stampA != (try claimedStamp("a.json")))

        // Read without a stamp (the file opened has a second name): the claimed file is read.
        try fixture.drop("b.json", good)
        try FileManager.default.linkItem(at: inbox.appendingPathComponent("b.json"), to: fixture.root.appendingPathComponent("b-link.json"))
        let openedB = openInInbox("b.json")
        try fixture.drop("b.json", good, into: "processing")
        guard case .read(let reportB, let stampB?) = Evaluation.of(opened: openedB, "b.json", in: processing, checker: ManifestChecker()) else {
            Issue.record("the claimed file, read by name, is a regular file of one name read whole")
            return
        }
        #expect(reportB.decision == .needsBatch)
        #expect(stampB == (try claimedStamp("b.json")))

        // The same file (the usual case): read through the descriptor, the stamp is the claimed file's.
        try fixture.drop("c.json", good)
        let openedC = openInInbox("c.json")
        try FileManager.default.moveItem(at: inbox.appendingPathComponent("c.json"), to: fixture.root.appendingPathComponent("processing/c.json"))
        guard case .read(_, let stampC?) = Evaluation.of(opened: openedC, "c.json", in: processing, checker: ManifestChecker()) else {
            Issue.record("a regular file of one name read whole has a stamp")
            return
        }
        #expect(stampC == (try claimedStamp("c.json")))
    }

    @Test func aTornJournalLineIsSkipped() throws {
        let fixture = try Fixture()
        try fixture.drop("m.json", good, into: "processing")
        try Data("{\"id\":\"00".utf8).write(to: fixture.root.appendingPathComponent("processing/.journal-9-9.jsonl"))
        #expect(fixture.router.recover().count == 1)
        #expect(fixture.names("processing").isEmpty)
    }
}

@Suite("Daemon pieces")
struct DaemonPieceTests {
    @Test func namesTooLongForTheirReportsAreShortenedAndKeptApart() {
        let long = String(repeating: "a", count: 245) + ".json"
        let short = suffixedName(long, 1)
        #expect(short.utf8.count <= 238 && short.hasSuffix(".json") && short.hasPrefix("aaaa") && short.contains("~"))
        #expect(suffixedName(long, 2).hasSuffix(".2.json") && suffixedName(long, 2).utf8.count <= 238)
        #expect(suffixedName(String(repeating: "a", count: 244) + "b.json", 1) != short, "two long names stay apart")
        let accents = String(repeating: "é", count: 130) + ".csv"  // 260 bytes
        let cut = suffixedName(accents, 1)
        #expect(cut.utf8.count <= 238 && cut.hasSuffix(".csv") && String(validating: Array(cut.utf8), as: UTF8.self) != nil)
        #expect(suffixedName("m.json", 3) == "m.3.json", "short names as before")
    }

    @Test func aProbeLeftByAKilledStartIsRemoved() throws {
        // A start killed while its probe file was on its way through the folders left it there.
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-probe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let layout = StateLayout(root: root.path)
        try layout.prepare()
        for folder in [layout.processing, layout.accepted] {
            #expect(FileManager.default.createFile(atPath: folder + "/.batchgate-probe", contents: nil))
        }
        let lock = try layout.lock()
        defer { close(lock) }
        try layout.checkRenames()
        for folder in layout.folders {
            let names = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(!names.contains { $0.hasPrefix(".batchgate-probe") }, "\(folder): \(names)")
        }
    }

    @Test func suffixesGoBeforeTheLastExtension() {
        #expect(suffixedName("x.json", 1) == "x.json")
        #expect(suffixedName("x.json", 2) == "x.2.json")
        #expect(suffixedName("x.tar.gz", 3) == "x.tar.3.gz")
        #expect(suffixedName("README", 2) == "README.2")
        #expect(suffixedName(".hidden", 2) == ".hidden.2")
    }

    @Test func percentEncodesOnlyBytesThatAreNotUTF8() {
        #expect(percentEncodingInvalidUTF8(Array("plain.json".utf8)) == "plain.json")
        #expect(percentEncodingInvalidUTF8(Array("café 🌿.json".utf8)) == "café 🌿.json")
        #expect(percentEncodingInvalidUTF8(Array("caf".utf8) + [0xE9] + Array("%.csv".utf8)) == "caf%E9%25.csv")
        #expect(percentEncodingInvalidUTF8([0xC3, 0x28, 0xFF]) == "%C3(%FF")
        // A `%` right after a character of two or three bytes is still written `%25`: otherwise
        // "é%FF" and "é" followed by the byte FF would come out as the same name.
        #expect(percentEncodingInvalidUTF8([0xC3, 0xA9, 0x25, 0x46, 0x46, 0xFF]) == "é%25FF%FF")
        #expect(percentEncodingInvalidUTF8([0xC3, 0xA9, 0xFF, 0xFF]) == "é%FF%FF")
        #expect(percentEncodingInvalidUTF8([0xE2, 0x82, 0xAC, 0x25, 0xFE]) == "€%25%FE")
        #expect(percentEncodingInvalidUTF8([0xF0, 0x9F, 0x8C, 0xBF, 0x25]) == "🌿%25")
        #expect(percentEncodingInvalidUTF8([0xE2, 0x82]) == "%E2%82", "a character cut short at the end")
    }

    @Test func journalLinesRoundTrip() throws {
        let entry = JournalEntry(id: "0123456789abcdef", name: "a \"quoted\" name.json", decision: .rejected,
                               finalName: "a \"quoted\" name.2.json", receivedAt: "t1", routedAt: "t2")
        #expect(JournalEntry(journalLine: entry.journalLine()[...]) == entry)
        #expect(JournalEntry(journalLine: Array("{\"id\": 1}".utf8)[...]) == nil)
    }

    @Test func parsesInotifyEvents() {
        func event(mask: UInt32, name: String) -> [UInt8] {
            var padded = Array(name.utf8)
            if !padded.isEmpty { padded += [UInt8](repeating: 0, count: 16 - padded.count % 16) }
            func word(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
            return word(1) + word(mask) + word(0) + word(UInt32(padded.count)) + padded
        }
        let bytes = event(mask: 0x8, name: "a.json") + event(mask: 0x80, name: "b.csv")
            + event(mask: 0x80 | 0x4000_0000, name: "folder") + event(mask: 0x4000, name: "")
            + event(mask: 0x100, name: "link.json")
        #expect(InboxWatcher.parse(bytes[...]) == [.file("a.json", .closed(wrote: true)), .file("b.csv", .movedIn), .overflow,
                                                    .created("link.json")])
        let opens = event(mask: 0x20, name: "c.csv") + event(mask: 0x2, name: "c.csv") + event(mask: 0x4, name: "c.csv")
            + event(mask: 0x10, name: "c.csv") + event(mask: 0x40, name: "c.csv") + event(mask: 0x200, name: "d.csv")
        #expect(InboxWatcher.parse(opens[...]) == [.file("c.csv", .opened), .file("c.csv", .changed), .file("c.csv", .changed),
                                                   .file("c.csv", .closed(wrote: false)), .file("c.csv", .gone), .file("d.csv", .gone)])
    }

    @Test func timestampsAreISO8601UTC() {
        #expect(Timestamp.iso8601(0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.iso8601(1_795_000_000.25) == "2026-11-18T11:06:40.250Z")
    }

    @Test func notifierIsSilentOutsideSystemd() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isActive)
        #expect(notifier.watchdogInterval == nil)
        #expect(notifier.notify("READY=1") == false)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000"]).watchdogInterval == 15)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"]).watchdogInterval == nil)
    }
}
