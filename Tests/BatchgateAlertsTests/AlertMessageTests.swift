import Foundation
import Testing
import BatchgateCore
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
}
