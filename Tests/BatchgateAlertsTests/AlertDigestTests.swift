import Foundation
import Testing
@testable import BatchgateAlerts

@Suite("Alert digests")
struct AlertDigestTests {
    func digest(_ count: Int) -> AlertDigest {
        AlertDigest(lines: (1...count).map { "run-\($0).json — needs-batch: 1 of 1 package needs a production batch (report /r/\($0))" },
                    host: "processor-1", time: "2026-11-27T01:00:00.000Z", facility: "North")
    }

    func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func fiftyAlertsMakeOneSlackMessage() throws {
        let body = try object(Sinks.Slack.digest(digest(50)).body)
        #expect((body["text"] as? String)?.hasPrefix("batchgate: 50 manifests need attention (North): run-1.json") == true)
        let blocks = try #require(body["blocks"] as? [[String: Any]])
        let texts = blocks.compactMap { ($0["text"] as? [String: Any])?["text"] as? String }
        let listed = texts.joined(separator: "\n").components(separatedBy: "• ").count - 1
        #expect(listed == 50, "every alert is listed once")
        #expect(texts.allSatisfy { $0.unicodeScalars.count <= 3_000 })
        #expect(blocks.count <= 50)
    }

    @Test func aHugeDigestStaysWithinSlackLimits() throws {
        let blocks = try #require(try object(Sinks.Slack.digest(digest(5_000)).body)["blocks"] as? [[String: Any]])
        #expect(blocks.count <= 50)
        let texts = blocks.compactMap { ($0["text"] as? [String: Any])?["text"] as? String }
        #expect(texts.contains { $0.hasPrefix("… and ") && $0.hasSuffix(" more manifests, each with its report beside it in its outcome folder.") })
    }

    @Test func teamsAndEmailListEveryAlert() throws {
        let card = try #require(((try object(Sinks.Teams.digest(digest(7)).body)["attachments"] as? [[String: Any]])?.first?["content"]) as? [String: Any])
        let blocks = try #require(card["body"] as? [[String: Any]])
        #expect(blocks.count == 9, "title, seven lines, footer")
        let mail = Sinks.Email.digest(digest(7))
        let (subject, body) = (mail.subject, mail.text)
        #expect(subject == "[batchgate] 7 manifests need attention (North)")
        #expect(body.components(separatedBy: "\n- run-").count - 1 == 7)
    }

    @Test func outboxEntriesKeepTheirDigestLine() throws {
        let entry = OutboxEntry(routeID: "00000000000000aa", sink: "slack", createdAt: 1, alert: "{}", digestLine: "run.json — accepted")
        #expect(OutboxEntry(decoding: entry.encoded()) == entry)
    }

    @Test func slackShowsMarkupInFileNamesAsTextAndStaysWithinLimits() throws {
        let lines = ["<!channel>&co.json — rejected", String(repeating: "&", count: 2_950)]
        let body = try object(Sinks.Slack.digest(AlertDigest(lines: lines, host: "h<1>", time: "t", facility: nil)).body)
        #expect((body["text"] as? String)?.contains("&lt;!channel&gt;&amp;co.json") == true, "escaped where Slack reads mrkdwn")
        let blocks = try #require(body["blocks"] as? [[String: Any]])
        let objects = blocks.compactMap { $0["text"] as? [String: Any] }
        #expect(objects.allSatisfy { $0["type"] as? String == "plain_text" }, "shown as written, never parsed")
        let texts = objects.compactMap { $0["text"] as? String }
        #expect(texts.contains { $0.contains("<!channel>&co.json") })
        #expect(texts.allSatisfy { $0.unicodeScalars.count <= 3_000 })
        let context = try #require(blocks.last?["elements"] as? [[String: Any]])
        #expect((context.first?["text"] as? String)?.contains("h<1>") == true)
    }
}
