import Foundation
import Testing
import TestSupport
@testable import BatchgateAlerts

/// What goes to a Slack sink, for every hostile alert and digest: inside Slack's limits counted
/// as Slack counts (code points), checked by Slack's own SDK (slack_check.py), and nothing from a
/// manifest or a file name read as a mention, a link or formatting.
@Suite("Slack payloads")
struct SlackPayloadTests {
    /// Cases of our own besides HostileAlerts': what the escaping and the cuts must get right.
    static func extraMessages() -> [(name: String, message: AlertMessage)] {
        let combining = "Z" + String(repeating: "\u{301}", count: 1_000)
        return [
            // Escaping grows each "&" to five code points: cut before escaping, this was too long.
            ("ampersands and backticks", HostileAlerts.message(
                file: String(repeating: "&", count: 200) + " `x` *y* _z_ ~w~ :smile: <!here>.json",
                packages: [HostileAlerts.package(0, item: String(repeating: "&<>", count: 1_500) + "`", category: "Concentrate", sources: 2)])),
            // One character (a grapheme cluster) longer than any limit: nothing of it can be kept.
            ("a character of a thousand code points", HostileAlerts.message(
                file: combining + ".json",
                packages: [HostileAlerts.package(0, item: combining, category: combining, sources: 2)])),
            ("line and paragraph separators", HostileAlerts.message(
                file: "a\u{2028}Fix: none\u{2029}.json",
                packages: [HostileAlerts.package(0, item: "Resin\u{2028}Fix: none", category: "Concentrate\u{85}x", sources: 2)])),
            // Short invalid packages: the 50 blocks run out before the text budget.
            ("80 short invalid packages", HostileAlerts.message(file: "short.json", packages: (0..<80).map { index in
                var package = HostileAlerts.package(index, item: "R", category: "Buds", sources: 1)
                package["Tag"] = "x"
                return package
            })),
        ]
    }

    /// Digests of our own besides HostileAlerts'.
    static func extraDigests() -> [(name: String, digest: AlertDigest)] {
        [
            ("mentions and ampersands", AlertDigest(lines: ["<!channel>&co.json — rejected", String(repeating: "&", count: 2_950)],
                                                    host: "h<1>", time: "t", facility: nil)),
            ("5,000 lines", AlertDigest(lines: (1...5_000).map { "run-\($0).json — needs-batch: 1 of 1 package needs a production batch (report /r/\($0))" },
                                        host: "processor-1", time: "2026-11-27T01:00:00.000Z", facility: "North")),
        ]
    }

    /// Every alert, fallback and digest of the cases, and the gallery's Slack payloads, labelled.
    static func payloads() throws -> [(label: String, body: [UInt8])] {
        var payloads: [(String, [UInt8])] = try Gallery.rendered().compactMap { block in
            block.name.hasPrefix("slack-") ? block.sent.map { ("gallery \(block.name)", $0) } : nil
        }
        for (name, message) in HostileAlerts.messages() + extraMessages() {
            payloads.append(("alert \(name)", Sinks.Slack.alert(message).body))
            payloads.append(("fallback \(name)", Sinks.Slack.fallback(message).body))
        }
        for (name, digest) in HostileAlerts.digests() + extraDigests() {
            payloads.append(("digest \(name)", Sinks.Slack.digest(digest).body))
        }
        return payloads
    }

    @Test func everyPayloadPassesSlacksOwnChecks() throws {
        let outcome = try SlackCheck.run(try Self.payloads())
        #expect(outcome.status == 0, "slack_check.py found problems:\n\(outcome.output)")
    }

    @Test func theCheckerRefusesWhatSlackWouldRefuse() throws {
        // 76 decomposed "é": 76 characters to Swift, 152 code points to Slack.
        let header = String(repeating: "e\u{301}", count: 76)
        let section = #"{"type":"section","text":{"type":"plain_text","text":"x","emoji":false}}"#
        let outcome = try SlackCheck.run([
            ("header", Array(#"{"text":"t","blocks":[{"type":"header","text":{"type":"plain_text","text":"\#(header)","emoji":false}}]}"#.utf8)),
            ("blocks", Array(#"{"text":"t","blocks":[\#(Array(repeating: section, count: 51).joined(separator: ","))]}"#.utf8)),
            ("mention", Array(#"{"text":"t","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"<!here> x"}}]}"#.utf8)),
            ("notification", Array(#"{"text":"a & b <https://x|y>"}"#.utf8)),
            ("emoji", Array(#"{"text":"t","blocks":[{"type":"context","elements":[{"type":"plain_text","text":":smile:"}]}]}"#.utf8)),
        ])
        #expect(outcome.status == 1)
        let lines = outcome.output.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("header: blocks[0] (header): slack_sdk refuses it") && $0.contains("150") }, "\(outcome.output)")
        #expect(lines.contains { $0.hasPrefix("blocks: 51 blocks, over 50") }, "\(outcome.output)")
        #expect(lines.contains { $0.hasPrefix("mention: blocks[0].text (mrkdwn): unescaped '<'") }, "\(outcome.output)")
        #expect(lines.contains { $0.hasPrefix("notification: text: '&' not written as an entity") }, "\(outcome.output)")
        #expect(lines.contains { $0.hasPrefix("notification: text: unescaped '<'") }, "\(outcome.output)")
        #expect(lines.contains { $0.hasPrefix("emoji: blocks[0].elements[0]: plain_text without \"emoji\": false") }, "\(outcome.output)")
    }

    @Test func everyTextIsWithinItsLimitInCodePoints() throws {
        for (label, body) in try Self.payloads() {
            let payload = try SlackJSON(body)
            #expect(payload.text.unicodeScalars.count <= 3_000, "\(label): text")
            #expect(payload.blocks.count <= 50, "\(label): \(payload.blocks.count) blocks")
            var total = 0
            for (index, block) in payload.blocks.enumerated() {
                let texts = SlackJSON.textObjects(in: block)
                for object in texts {
                    let length = try #require(object["text"] as? String).unicodeScalars.count
                    total += length
                    #expect((1...3_000).contains(length), "\(label): blocks[\(index)] has a text of \(length) code points")
                }
                switch block["type"] as? String {
                case "header":
                    let text = try #require((block["text"] as? [String: Any])?["text"] as? String)
                    #expect(text.unicodeScalars.count <= 150, "\(label): a header of \(text.unicodeScalars.count) code points")
                case "section":
                    for field in block["fields"] as? [[String: Any]] ?? [] {
                        #expect(((field["text"] as? String)?.unicodeScalars.count ?? 0) <= 2_000, "\(label): blocks[\(index)] field")
                    }
                case "context":
                    #expect((block["elements"] as? [Any])?.count ?? 0 <= 10, "\(label): blocks[\(index)] elements")
                default:
                    break
                }
            }
            #expect(total <= Sinks.Slack.Limit.blocksText, "\(label): the blocks' texts total \(total) code points")
        }
    }

    @Test func escapingIsByCodePointNotByCharacter() {
        // "<", ">" and "&" followed by a combining mark or a joiner: one Character each to Swift.
        let text = "<\u{301}!here>\u{200D} &\u{20DD}"
        #expect(Sinks.Slack.mrkdwn(text, within: 3_000) == "&lt;\u{301}!here&gt;\u{200D} &amp;\u{20DD}")
        let cut = Sinks.Slack.mrkdwn(String(repeating: ">\u{301}", count: 1_000), within: 100)
        #expect(!cut.unicodeScalars.contains(">") && cut.unicodeScalars.count <= 100, "\(cut)")
    }

    @Test func nothingFromAManifestIsAMentionALinkOrFormatting() throws {
        var plainTexts: [String] = []
        for (label, body) in try Self.payloads() {
            let payload = try SlackJSON(body)
            // Slack reads `text` and every mrkdwn text for mentions and links: no "<" or ">" there,
            // and every "&" begins one of the three entities.
            let markup = [payload.text] + payload.blocks.flatMap(SlackJSON.textObjects(in:))
                .filter { $0["type"] as? String == "mrkdwn" }.compactMap { $0["text"] as? String }
            for text in markup {
                for mention in ["<!here>", "<!channel>", "<!everyone>", "<https://", "<@"] {
                    #expect(!text.contains(mention), "\(label): \(mention) in \(text.prefix(200))")
                }
                // Code points, as Slack reads them: a "<" with a combining mark after it is one
                // Character to Swift, which `contains("<")` would not see.
                #expect(!text.unicodeScalars.contains("<") && !text.unicodeScalars.contains(">"), "\(label): \(text.prefix(200))")
                #expect(text.firstMatch(of: /&(?!amp;|lt;|gt;)/.matchingSemantics(.unicodeScalar)) == nil,
                        "\(label): a bare & in \(text.prefix(200))")
            }
            // What comes from the manifest is in plain_text, which Slack shows as written, emoji
            // codes included.
            for object in payload.blocks.flatMap(SlackJSON.textObjects(in:)) where object["type"] as? String == "plain_text" {
                #expect(object["emoji"] as? Bool == false, "\(label): \(object)")
                plainTexts.append(object["text"] as? String ?? "")
            }
            #expect(payload.mrkdwn == false, "\(label): `text` is rendered as mrkdwn")
        }
        #expect(plainTexts.contains { $0.contains(HostileAlerts.markup) }, "the markup reaches the channel as text, whole")
        #expect(plainTexts.contains { $0.contains("`x` *y* _z_ ~w~ :smile: <!here>.json") }, "a file name shows as it is")
    }

    @Test func ourLabelsAreTheOnlyMrkdwn() throws {
        for (label, body) in try Self.payloads() {
            let mrkdwn = try SlackJSON(body).blocks.flatMap(SlackJSON.textObjects(in:))
                .filter { $0["type"] as? String == "mrkdwn" }.compactMap { $0["text"] as? String }
            #expect(Set(mrkdwn).isSubset(of: ["*Report*", "*Fix*"]), "\(label): \(mrkdwn)")
        }
    }

    @Test func aCutFallsBetweenCharactersAndEndsWithAnEllipsis() {
        let decomposed = String(repeating: "Cre\(HostileAlerts.decomposedE)me ", count: 40)
        for (text, limit) in [(decomposed, 150), (String(repeating: HostileAlerts.family, count: 100), 150), (decomposed, 7)] {
            let cut = Sinks.Slack.fitted(text, within: limit)
            #expect(cut.unicodeScalars.count <= limit)
            #expect(cut.hasSuffix("…"))
            let kept = cut.unicodeScalars.dropLast()
            #expect(text.unicodeScalars.starts(with: kept), "a prefix of the text, scalar for scalar")
            let end = text.unicodeScalars.index(text.unicodeScalars.startIndex, offsetBy: kept.count)
            #expect(String.Index(end, within: text) != nil, "the cut falls between two characters: \(kept.count)")
        }
        #expect(Sinks.Slack.fitted("short", within: 150) == "short", "a text that fits is whole")
        #expect(Sinks.Slack.fitted(HostileAlerts.family, within: 6) == "…", "an emoji is never split")
    }

    @Test func anEscapedCutNeverSplitsAnEntity() {
        let cut = Sinks.Slack.mrkdwn(String(repeating: "&<", count: 100), within: 50)
        #expect(cut == String(repeating: "&amp;&lt;", count: 5) + "…", "\(cut)")
        #expect(cut.unicodeScalars.count <= 50)
        #expect(Sinks.Slack.mrkdwn("a&b", within: 5) == "a…")
        #expect(Sinks.Slack.mrkdwn("a&b", within: 7) == "a&amp;b", "escaped, it just fits")
    }

    @Test func aLongAlertSaysHowManyMoreAndWhereTheReportIs() throws {
        for (name, message) in HostileAlerts.messages() + Self.extraMessages() {
            let payload = try SlackJSON(Sinks.Slack.alert(message).body)
            let details = message.packagesToFix.count + message.checks.count + message.errors.count
            let sections = payload.blocks.filter { $0["type"] as? String == "section" }.dropFirst()  // the summary first
            let texts = sections.compactMap { ($0["text"] as? [String: Any])?["text"] as? String }
            guard let remainder = texts.last, remainder.hasPrefix("… and ") else {
                #expect(texts.count == details, "\(name): every package, check or error is shown when nothing is left out")
                continue
            }
            let more = try #require(Int(remainder.dropFirst("… and ".count).prefix { $0.isNumber }))
            #expect(texts.count - 1 + more == details, "\(name): \(texts.count - 1) shown and \(more) more of \(details)")
            #expect(remainder.contains("in the report: \(Sinks.oneLine(message.reportPath))")
                    || message.reportPath.unicodeScalars.count > 1_000, "\(name): \(remainder)")
        }
    }

    @Test func theBlockLimitAndTheTextBudgetBothLeaveARemainder() throws {
        let short = try SlackJSON(Sinks.Slack.alert(try #require(Self.extraMessages().first { $0.name == "80 short invalid packages" }).message).body)
        #expect(short.blocks.count == 50, "header, summary, 46 packages, the remainder, context")
        let long = try SlackJSON(Sinks.Slack.alert(try #require(HostileAlerts.messages().first { $0.name == "500 packages" }).message).body)
        #expect(long.blocks.count < 50, "the text budget runs out first")
        for payload in [short, long] {
            let remainder = (payload.blocks[payload.blocks.count - 2]["text"] as? [String: Any])?["text"] as? String
            #expect(remainder?.hasPrefix("… and ") == true, "\(remainder ?? "none")")
        }
    }

    @Test func theFallbackIsOnlyTheEscapedText() throws {
        for (name, message) in HostileAlerts.messages() + Self.extraMessages() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(Sinks.Slack.fallback(message).body)) as? [String: Any])
            #expect(Set(object.keys) == ["text", "mrkdwn"], "\(name)")
            let text = try #require(object["text"] as? String)
            #expect(text.unicodeScalars.count <= 3_000, "\(name)")
            let report = Sinks.Slack.mrkdwn(Sinks.oneLine(message.reportPath), within: 1_000)
            #expect(text.hasSuffix(" Report: " + report), "\(name): the report's path is always there")
            #expect(text.contains(" — " + Sinks.Slack.mrkdwn(Sinks.oneLine(message.summary), within: 1_200)), "\(name)")
        }
        let mentions = try #require(HostileAlerts.messages().first { $0.name == "mentions and markup" }).message
        let text = Sinks.Slack.fallback(mentions).text
        #expect(text.contains("&lt;!here&gt; [x](https:evil) *b* `c`.json"), "\(text)")
    }

    @Test func aDigestTheSenderKeepsUnderItsBodyLimitListsEveryLine() throws {
        let lines: [(String, (Int) -> String)] = [
            ("plain", { "run-\($0).json — needs-batch: 1 of 1 package needs a production batch (report /var/lib/batchgate/needs-batch/run-\($0).json.report.txt)" }),
            ("emoji", { "run-\($0)-" + String(repeating: "Re\(HostileAlerts.decomposedE)colte \(HostileAlerts.family) ", count: 12) + ".json — rejected" }),
            ("ampersands", { "run-\($0)-" + String(repeating: "&", count: 300) + ".json — rejected" }),
        ]
        for (kind, line) in lines {
            var count = 2
            while count < 500 {
                let body = Sinks.Slack.digest(AlertDigest(lines: (0..<count).map(line), host: "plant-1", time: "t", facility: nil)).body
                guard body.count <= Sinks.Slack.digestBodyLimit else { break }
                let payload = try SlackJSON(body)
                let texts = payload.blocks.compactMap { ($0["text"] as? [String: Any])?["text"] as? String }
                let listed = texts.joined(separator: "\n").components(separatedBy: "• ").count - 1
                guard listed == count, !texts.contains(where: { $0.hasPrefix("… and ") }) else {
                    Issue.record("\(kind): \(count) lines in \(body.count) bytes, \(listed) listed")
                    break
                }
                count += 1
            }
            #expect(count > 2, "\(kind): two lines fit in a digest")
        }
    }

    @Test func aHugeDigestSaysHowManyMore() throws {
        let digest = try #require(Self.extraDigests().first { $0.name == "5,000 lines" }).digest
        let texts = try SlackJSON(Sinks.Slack.digest(digest).body).blocks.compactMap { ($0["text"] as? [String: Any])?["text"] as? String }
        let listed = texts.joined(separator: "\n").components(separatedBy: "• ").count - 1
        let remainder = try #require(texts.last)
        #expect(remainder == "… and \(5_000 - listed) more manifests, each with its report beside it in its outcome folder.", "\(remainder)")
    }
}

/// A Slack payload as JSON objects.
struct SlackJSON {
    var text: String
    var mrkdwn: Bool?
    var blocks: [[String: Any]]

    init(_ body: [UInt8]) throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        text = try #require(object["text"] as? String)
        mrkdwn = object["mrkdwn"] as? Bool
        blocks = object["blocks"] as? [[String: Any]] ?? []
    }

    /// Every text object (`plain_text` or `mrkdwn`) inside `value`.
    static func textObjects(in value: Any) -> [[String: Any]] {
        if let object = value as? [String: Any] {
            if ["plain_text", "mrkdwn"].contains(object["type"] as? String ?? ""), object["text"] != nil { return [object] }
            return object.values.flatMap(textObjects(in:))
        }
        if let array = value as? [Any] { return array.flatMap(textObjects(in:)) }
        return []
    }
}

/// Tests/TestSupport/slack_check.py: Slack's own block models (slack_sdk) over the payloads.
enum SlackCheck {
    static func run(_ payloads: [(label: String, body: [UInt8])]) throws -> PythonTool.Result {
        try PythonTool.check("slack_check.py", needing: ["slack_sdk.models.blocks"], payloads)
    }
}
