import Foundation
import Testing
import BatchgateCore
@testable import BatchgateConfig
@testable import BatchgateAlerts

/// What each kind of sink would show for a routed manifest.
@Suite("Alert messages")
struct AlertMessageTests {
    static let manifest = """
        {"LicenseNumber": "PR-000123", "Facility": "North", "Packages": [
         {"Tag": "1A4FF0300000022000000001", "Item": "Live Resin <1g>", "ItemCategory": "Concentrate", "Quantity": 1, "UnitOfMeasure": "Grams",
          "Ingredients": [{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]},
         {"Tag": "1A4FF0300000022000000002", "Item": "Buds", "ItemCategory": "Buds", "Quantity": 1, "UnitOfMeasure": "Grams",
          "Ingredients": [{"Package": "1A4FF0100000022000000002", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}]}
        """

    func message(_ text: String = manifest) -> AlertMessage {
        let report = ManifestChecker().check(fileName: "run.json", bytes: Array(text.utf8))
        return AlertMessage(id: "00000000000000aa-slack", time: "2026-11-27T01:00:00.000Z", licenseNumber: nil, facility: nil,
                            host: "processor-1", file: "run.json", reportPath: "/var/lib/batchgate/needs-batch/run.json.report.json",
                            report: report)
    }

    func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func webhookCarriesEveryFact() throws {
        let body = try object(Sinks.Webhook.alert(message()).body)
        #expect(body["event"] as? String == "manifest.needs-batch")
        #expect(body["alertId"] as? String == "00000000000000aa-slack")
        #expect(body["licenseNumber"] as? String == "PR-000123", "taken from the manifest's envelope")
        #expect(body["facility"] as? String == "North")
        #expect(body["host"] as? String == "processor-1")
        #expect(body["file"] as? String == "run.json")
        #expect(body["decision"] as? String == "needs-batch")
        #expect(body["summary"] as? String == "needs-batch: 1 of 2 packages needs a production batch")
        #expect(body["reportPath"] as? String == "/var/lib/batchgate/needs-batch/run.json.report.json")
        let packages = try #require(body["packages"] as? [[String: Any]])
        #expect(packages.count == 2)
        #expect(packages[0]["rules"] as? [String] == ["category-change", "form-change"])
        #expect((packages[0]["fix"] as? String)?.contains("tick Production Batch") == true)
        #expect(packages[1]["status"] as? String == "ok")
    }

    @Test func slackHasAFallbackTextAndBlocks() throws {
        let body = try object(Sinks.Slack.alert(message()).body)
        #expect((body["text"] as? String)?.hasPrefix("Needs a production batch: run.json (North, PR-000123)") == true)
        let blocks = try #require(body["blocks"] as? [[String: Any]])
        #expect(blocks.first?["type"] as? String == "header")
        #expect(blocks.last?["type"] as? String == "context")
        let texts = blocks.compactMap { ($0["text"] as? [String: Any])?["text"] as? String }
        #expect(texts.contains { $0.contains("1A4FF0300000022000000001 Live Resin <1g> (Concentrate)") }, "shown as written: \(texts)")
        let fields = blocks.flatMap { ($0["fields"] as? [[String: Any]]) ?? [] }.compactMap { $0["text"] as? String }
        #expect(fields.contains("*Fix*"))
        #expect(fields.contains { $0.hasPrefix("tick Production Batch") }, "\(fields)")
        #expect(!texts.contains { $0.contains("1A4FF0300000022000000002") }, "a correct package is not listed")
    }

    @Test func slackSaysHowManyPackagesItLeavesOut() throws {
        let packages = (1...80).map { number in
            """
            {"Tag": "1A4FF03000000220000\(String(format: "%05d", number))", "Item": "R", "ItemCategory": "Concentrate", "Quantity": 1, "UnitOfMeasure": "Grams",
             "Ingredients": [{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}
            """
        }
        let body = try object(Sinks.Slack.alert(message("[" + packages.joined(separator: ",") + "]")).body)
        let blocks = try #require(body["blocks"] as? [[String: Any]])
        #expect(blocks.count <= 50)
        let texts = blocks.compactMap { ($0["text"] as? [String: Any])?["text"] as? String }
        let shown = texts.filter { $0.hasPrefix("1A4FF03") }.count
        #expect(texts.contains("… and \(80 - shown) more in the report: /var/lib/batchgate/needs-batch/run.json.report.json"), "\(texts)")
    }

    @Test func teamsSendsAnAdaptiveCard() throws {
        let body = try object(Sinks.Teams.alert(message()).body)
        #expect(body["type"] as? String == "message")
        let attachment = try #require((body["attachments"] as? [[String: Any]])?.first)
        #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
        let card = try #require(attachment["content"] as? [String: Any])
        #expect(card["type"] as? String == "AdaptiveCard")
        #expect(card["version"] as? String == "1.4")
        let items = try #require(card["body"] as? [[String: Any]])
        // Text as runs of rich text blocks, which no renderer reads as markdown.
        let lines = items.map { ($0["inlines"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }.joined() }
        #expect(lines.first == "Needs a production batch: run.json (North, PR-000123)")
        #expect(lines.contains("Report: /var/lib/batchgate/needs-batch/run.json.report.json"))
        let facts = try #require(items.first { $0["type"] as? String == "FactSet" }?["facts"] as? [[String: String]])
        #expect(facts.contains { $0["title"] == "Decision" && $0["value"] == "needs-batch" })
        #expect(lines.contains("1A4FF0300000022000000001 Live Resin <1g> (Concentrate)"))
        #expect(lines.contains { $0.hasPrefix("Fix: tick Production Batch") })
        #expect(!lines.contains { $0.contains("1A4FF0300000022000000002") }, "a correct package is not listed")
    }

    @Test func emailHasASubjectAndABodyAPersonCanActOn() {
        let mail = Sinks.Email.alert(message())
        let (subject, body) = (mail.subject, mail.text)
        #expect(subject == "[batchgate] Needs a production batch: run.json (North, PR-000123)")
        #expect(body.contains("Package 1A4FF0300000022000000001  Live Resin <1g> (Concentrate)"))
        #expect(body.contains("  Fix: tick Production Batch"))
        #expect(body.contains("Report: /var/lib/batchgate/needs-batch/run.json.report.json"))
    }

    @Test func aFileThatCouldNotBeReadShowsItsError() throws {
        let alert = message("{ not json")
        #expect(alert.decision == .rejected)
        #expect(Sinks.Email.alert(alert).text.contains("Error: not valid JSON: line 1, column 3"))
        let body = try object(Sinks.Webhook.alert(alert).body)
        #expect((body["errors"] as? [String])?.first?.hasPrefix("not valid JSON") == true)
    }

    // MARK: Pre-flight checks

    static let accepted = """
        {"LicenseNumber": "PR-000123", "Facility": "North", "Packages": [
         {"Tag": "1A4FF0300000022000000003", "Item": "Buds", "ItemCategory": "Buds", "Quantity": 1, "UnitOfMeasure": "Grams",
          "Ingredients": [{"Package": "1A4FF0100000022000000003", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]},
         {"Tag": "1A4FF0300000022000000004", "Item": "Buds", "ItemCategory": "Buds", "Quantity": 1, "UnitOfMeasure": "Grams",
          "Ingredients": [{"Package": "1A4FF0100000022000000004", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}]}
        """
    static let labFailed = CheckFinding(
        check: .sourceLabFailed, severity: .warning, message: "Source 1A4FF0100000022000000003 LabTestingState is TestFailed.",
        fix: "use it only as your state allows (remediation, extraction); else take another package",
        evidence: Evidence(field: "Ingredients[0].Package", value: "1A4FF0100000022000000003"))
    static let tooMany = CheckFinding(
        check: .tooManyPackages, severity: .warning,
        message: "The manifest holds 14 packages; Metrc is reported to refuse a request of more than 10 (HTTP 413).",
        fix: "split it into files of at most 10 packages", evidence: Evidence(field: "Packages", value: "14"))

    /// The accepted manifest with a warning on its first package and one on the whole manifest,
    /// as the checker files them.
    func warnedReport() -> ManifestReport {
        var report = ManifestChecker().check(fileName: "run.json", bytes: Array(Self.accepted.utf8))
        report.packages[0].checks = [Self.labFailed]
        report.checks = [Self.tooMany]
        return report
    }

    func alert(_ report: ManifestReport) -> AlertMessage {
        AlertMessage(id: "00000000000000ab", time: "2026-11-27T01:00:00.000Z", licenseNumber: nil, facility: nil,
                     host: "processor-1", file: "run.json", reportPath: "/var/lib/batchgate/accepted/run.json.report.txt", report: report)
    }

    @Test func warningsAreAlertedToASinkThatDoesNotHearOfTheDecision() throws {
        let report = warnedReport()
        #expect(report.decision == .accepted)
        let sinks = [
            DaemonConfig.AlertSink(name: "chat", type: .slack, url: .inline("https://hooks.example.com/a")),
            DaemonConfig.AlertSink(name: "quiet", type: .teams, url: .inline("https://hooks.example.com/b"), warnings: false),
            DaemonConfig.AlertSink(name: "everything", type: .webhook, url: .inline("https://hooks.example.com/c"),
                                   decisions: [.accepted, .needsBatch, .rejected], warnings: false),
        ]
        let planner = AlertPlanner(config: DaemonConfig(alerts: DaemonConfig.Alerts(sinks: sinks)),
                                   layout: StateLayout(root: "/var/lib/batchgate"), host: "processor-1")
        let routed = RoutedManifest(id: "00000000000000ab", file: "run.json", decision: .accepted, routedAt: "2026-11-27T01:00:00.000Z")
        let entries = planner.entries(for: routed, report: report, createdAt: 1)
        #expect(entries.map(\.sink) == ["chat", "everything"])
        #expect(entries.first?.event == "manifest.accepted", "the event stays the decision's")
        #expect(entries.first?.digestLine.contains("accepted: 2 packages, 2 warnings (too-many-packages, source-lab-failed)") == true,
                "\(entries.first?.digestLine ?? "")")

        // Without a warning, only the sink that hears of accepted manifests is told.
        var clean = report
        clean.checks = []
        clean.packages[0].checks = []
        #expect(planner.entries(for: routed, report: clean, createdAt: 1).map(\.sink) == ["everything"])
    }

    @Test func everySinkListsTheFailedChecksAndTheirFixes() throws {
        let message = alert(warnedReport())
        #expect(message.title == "Accepted with warnings: run.json (North, PR-000123)")
        #expect(message.packagesToFix.map(\.tag) == ["1A4FF0300000022000000003"], "a package warned about is to fix; a clean one is not")
        let warning = "warning [source-lab-failed]: Source 1A4FF0100000022000000003 LabTestingState is TestFailed."
        let manifestWarning = "warning [too-many-packages]: The manifest holds 14 packages"

        let mail = Sinks.Email.alert(message)
        #expect(mail.subject == "[batchgate] Accepted with warnings: run.json (North, PR-000123)")
        #expect(mail.text.contains("Package 1A4FF0300000022000000003  Buds (Buds)\n  - \(warning)\n    fix: use it only as your state allows"),
                "\(mail.text)")
        #expect(mail.text.contains("\n- \(manifestWarning)"), "\(mail.text)")
        #expect(mail.text.contains("\n  fix: split it into files of at most 10 packages"), "\(mail.text)")
        #expect(!mail.text.contains("1A4FF0300000022000000004"))

        let slack = try object(Sinks.Slack.alert(message).body)
        let texts = try #require(slack["blocks"] as? [[String: Any]]).compactMap { ($0["text"] as? [String: Any])?["text"] as? String }
        #expect(texts.contains { $0.hasPrefix("1A4FF0300000022000000003 Buds (Buds) — correct, with a warning\n• \(warning)\n  fix: use it") },
                "\(texts)")
        #expect(texts.contains { $0.hasPrefix("• \(manifestWarning)") && $0.contains("\n  fix: split it") }, "\(texts)")

        let teams = try object(Sinks.Teams.alert(message).body)
        let card = try #require(((teams["attachments"] as? [[String: Any]])?.first?["content"]) as? [String: Any])
        let lines = try #require(card["body"] as? [[String: Any]]).map {
            ($0["inlines"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }.joined()
        }
        #expect(lines.first == "Accepted with warnings: run.json (North, PR-000123)")
        #expect(lines.contains(warning), "\(lines)")
        #expect(lines.contains { $0.hasPrefix(manifestWarning) }, "\(lines)")
        #expect(lines.contains("Fix: split it into files of at most 10 packages"), "\(lines)")

        let webhook = try object(Sinks.Webhook.alert(message).body)
        let packages = try #require(webhook["packages"] as? [[String: Any]])
        let checks = try #require(packages[0]["checks"] as? [[String: String]])
        #expect(checks == [["rule": "source-lab-failed", "severity": "warning", "message": Self.labFailed.message, "fix": Self.labFailed.fix]])
        #expect((packages[1]["checks"] as? [Any])?.isEmpty == true)
        #expect((webhook["checks"] as? [[String: String]])?.map { $0["rule"] } == ["too-many-packages"])
    }

    /// A manifest-level check set to error is one of the report's errors too: it is shown once,
    /// as a check with its fix.
    @Test func aManifestLevelCheckErrorIsShownOnce() throws {
        // The checker's own report, so that the error is worded and tagged as the checker does.
        let packages = (0..<14).map { index in
            #"{"Tag": "1A4FF03000000220000091\#(10 + index)", "Item": "Blue Dream Buds", "ItemCategory": "Buds", "Quantity": 1, "UnitOfMeasure": "Grams", "Ingredients": [{"Package": "1A4FF0100000022000000801", "Item": "Blue Dream Buds", "ItemCategory": "Buds", "Quantity": 1, "UnitOfMeasure": "Grams"}]}"#
        }
        let manifest = #"{"LicenseNumber": "PR-000123", "Facility": "North", "Packages": ["# + packages.joined(separator: ",") + "]}"
        let checker = ManifestChecker(settings: RuleSettings(checks: CheckSettings([.tooManyPackages: .error])))
        let report = checker.check(fileName: "run.json", bytes: Array(manifest.utf8))
        #expect(report.decision == .rejected && report.errors.count == 1, "\(report.text)")
        let message = alert(report)
        #expect(message.errors.isEmpty)
        #expect(message.title == "Rejected: run.json (North, PR-000123)")
        let mail = Sinks.Email.alert(message).text
        #expect(!mail.contains("Error: [too-many-packages]"), "not as an error as well: \(mail)")
        #expect(mail.contains("- error [too-many-packages]: The manifest holds 14 packages"), "\(mail)")
    }
}
