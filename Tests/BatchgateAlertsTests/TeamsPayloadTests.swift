import Foundation
import Testing
import BatchgateCore
import TestSupport
@testable import BatchgateAlerts

/// Teams cards as Teams' own rules see them: Microsoft's Adaptive Card schemas 1.4, 1.5 and 1.6
/// (Tests/TestSupport/adaptive_card_check.py), the 28 KB message limit with batchgate's headroom,
/// and markdown read only where batchgate wrote it, for every hostile manifest.
@Suite("Teams payloads")
struct TeamsPayloadTests {
    /// Every Teams body of the hostile alerts and digests, and of the gallery's ordinary ones.
    static func payloads() throws -> [(name: String, body: [UInt8])] {
        var payloads: [(String, [UInt8])] = []
        for (name, message) in HostileAlerts.messages() + [("100 packages", hundredPackages()), ("300 findings", threeHundredFindings())] {
            payloads.append(("alert, \(name)", Sinks.Teams.alert(message).body))
            payloads.append(("fallback, \(name)", Sinks.Teams.fallback(message).body))
        }
        for (name, digest) in HostileAlerts.digests() {
            payloads.append(("digest, \(name)", Sinks.Teams.digest(digest).body))
        }
        for block in try Gallery.rendered() where block.name.hasPrefix("teams-") {
            payloads.append(("gallery \(block.name)", try #require(block.sent)))
        }
        return payloads
    }

    /// A run of 100 cartridges, each needing a batch: a card of about 90 KB if nothing were left out.
    static func hundredPackages() -> AlertMessage {
        HostileAlerts.message(file: "run-100.json", packages: (0..<100).map {
            HostileAlerts.package($0, item: "Blue Dream Live Resin Cartridge 1g \($0)", category: "Vape Cartridge", sources: 2)
        })
    }

    /// One package with a 20,000-character item and 300 findings.
    static func threeHundredFindings() -> AlertMessage {
        var message = HostileAlerts.message(file: "enormous.json", packages: [
            HostileAlerts.package(0, item: String(repeating: "Wax \(HostileAlerts.decomposedE)\(HostileAlerts.family) ", count: 4_000), category: "Concentrate", sources: 2),
        ])
        let finding = message.packages[0].findings[0]
        message.packages[0].findings = (0..<300).map { number in
            var copy = finding
            copy.message = "Finding \(number): \(HostileAlerts.markup) " + finding.message
            return copy
        }
        return message
    }

    // MARK: The schemas

    @Test func everyCardIsValidAgainstAdaptiveCardSchemas14To16() throws {
        let payloads = try Self.payloads()
        let result = try AdaptiveCardCheck.run(payloads.map { ($0.name, $0.body) })
        #expect(result.status == 0, "adaptive_card_check.py found problems:\n\(result.output)")
        #expect(payloads.map(\.name).filter { $0.hasPrefix("gallery teams-") }.count == 3, "the gallery's alert, digest and minimal version are checked too")
    }

    @Test func theCheckerReportsEachProblemOfABrokenCard() throws {
        var message = try #require(try JSONSerialization.jsonObject(with: Data(Sinks.Teams.alert(HostileAlerts.messages()[0].message).body)) as? [String: Any])
        var attachments = try #require(message["attachments"] as? [[String: Any]])
        var card = try #require(attachments[0]["content"] as? [String: Any])
        var body = try #require(card["body"] as? [[String: Any]])
        var title = body[0]
        var runs = try #require(title["inlines"] as? [[String: Any]])
        runs[0]["weight"] = "Heavy"
        title["inlines"] = runs
        body[0] = title
        body.append(["type": "Markdown", "text": "**x**"])
        body.append(["type": "TextBlock", "wrap": true])
        card["body"] = body
        card["rtl"] = true
        attachments[0]["content"] = card
        message["attachments"] = attachments
        let broken = try JSONSerialization.data(withJSONObject: message)

        let result = try AdaptiveCardCheck.run([("broken", Array(broken)), ("not a card", Array(#"{"text": "hello"}"#.utf8))])
        #expect(result.status == 1, "\(result.output)")
        let lines = result.output.split(separator: "\n").map(String.init)
        for problem in [#"schema 1.4.0: $.body[0].inlines[0].weight: "Heavy" is not one of"#,
                        #"schema 1.5.0: $.body[0].inlines[0].weight: "Heavy" is not one of"#,
                        #"schema 1.6.0: $.body[0].inlines[0].weight: "Heavy" is not one of"#,
                        #"$.body[\#(body.count - 2)].type: unknown type "Markdown""#,
                        "$.body[\(body.count - 1)]: 'text' is a required property",
                        "schema 1.4.0: $: Additional properties are not allowed ('rtl' was unexpected)",
                        "$.rtl: AdaptiveCard.rtl came in Adaptive Cards 1.5, the card declares 1.4",
                        #"not a card: $: neither a Teams message ("type": "message") nor an AdaptiveCard"#] {
            #expect(lines.contains { $0.contains(problem) }, "no line says \(problem):\n\(result.output)")
        }
        #expect(lines.filter { !$0.hasPrefix("adaptive_card_check: ") }.allSatisfy { $0.hasPrefix("broken: ") || $0.hasPrefix("not a card: ") },
                "one line per problem, named by its payload")
    }

    // MARK: The size limit

    @Test func everyBodyIsWithinTheLimitCountedInBytesAsSent() throws {
        for (name, body) in try Self.payloads() {
            #expect(body.count <= Sinks.Teams.bodyLimit, "\(name): \(body.count) bytes")
            #expect(try JSONSerialization.jsonObject(with: Data(body)) is [String: Any], "\(name) is JSON")
        }
        #expect(Sinks.Teams.bodyLimit == 24_000)
    }

    @Test func aLongAlertListsFewerPackagesAndSaysHowManyMoreAndWhere() throws {
        for message in [Self.hundredPackages(), try #require(HostileAlerts.messages().first { $0.name == "500 packages" }?.message)] {
            let body = Sinks.Teams.alert(message).body
            let elements = try Self.elements(body)
            let shown = message.packagesToFix.filter { package in Self.runs(elements).contains(package.tag ?? "") }.count
            #expect(shown > 10 && shown < message.packagesToFix.count, "\(shown) packages shown in \(body.count) bytes")
            #expect(Self.texts(of: elements.last) == ["… and \(message.packagesToFix.count - shown) more packages: see the report \(message.reportPath)"])
            #expect(Self.texts(of: elements.first) == [message.title], "the title stays")
            #expect(elements.contains { $0["type"] as? String == "FactSet" }, "the facts stay")
            #expect(body.count > Sinks.Teams.bodyLimit - 2_000, "the card is filled: \(body.count) bytes")
        }
    }

    @Test func aCardThatFitsIsWhole() throws {
        let message = try #require(HostileAlerts.messages().first { $0.name == "decomposed names" }?.message)
        let runs = Self.runs(try Self.elements(Sinks.Teams.alert(message).body))
        #expect(message.packagesToFix.allSatisfy { package in runs.contains(package.tag ?? "-") })
        #expect(!runs.contains { $0.hasPrefix("… and") }, "nothing left out, nothing said about it")
    }

    @Test func oneEnormousPackageIsCutShortAtACharacterBoundary() throws {
        for message in [Self.threeHundredFindings(), try #require(HostileAlerts.messages().first { $0.name == "one enormous item" }?.message)] {
            let body = Sinks.Teams.alert(message).body
            #expect(body.count <= Sinks.Teams.bodyLimit)
            let elements = try Self.elements(body)
            let runs = Self.runs(elements)
            #expect(Self.texts(of: elements.first) == [message.title])
            #expect(elements.contains { $0["type"] as? String == "FactSet" })
            let package = message.packagesToFix[0]
            let item = try #require(package.item)
            let heading = try #require(runs.first { $0.hasPrefix(" Wax") }, "the item is shown")
            let end = "… (\(package.category ?? ""))"
            #expect(heading.hasSuffix(end), "the item is cut, its category stays")
            let kept = String(heading.dropFirst().dropLast(end.count))
            #expect(item.hasPrefix(kept) && Array(item).starts(with: Array(kept)), "cut between two characters, not inside one")
            #expect(kept.utf8.count <= Sinks.Teams.textLimit)
            if package.findings.count == 300 {
                let findings = runs.filter { $0.hasPrefix("• Finding ") }
                #expect(findings.count > 10 && findings.count < 300, "\(findings.count) findings shown")
                #expect(runs.last == "… and the rest of this package: see the report \(message.reportPath)")
            }
        }
    }

    @Test func textIsCutByItsEscapedBytesWithoutSplittingACharacter() {
        let family = HostileAlerts.family
        #expect(TeamsCard.clipped(String(repeating: family, count: 10), toBytes: 60) == family + family + "…")
        #expect(TeamsCard.clipped("short", toBytes: 5) == "short")
        let quotes = String(repeating: "\"", count: 5)
        #expect(TeamsCard.clipped(quotes, toBytes: 9) == String(quotes.prefix(3)) + "…", "a quote takes two bytes escaped")
        #expect(TeamsCard.shown("a\u{0}b\r\nc\u{2028}d") == "a b  c d", "on one line, as every sink shows a manifest's text")
    }

    // MARK: Markdown

    @Test func noTextFromAManifestLandsInAFieldReadAsMarkdown() throws {
        for (name, message) in HostileAlerts.messages() + [("300 findings", Self.threeHundredFindings())] {
            for (kind, body) in [("alert", Sinks.Teams.alert(message).body), ("fallback", Sinks.Teams.fallback(message).body)] {
                let card = try Self.card(body)
                let markdown = Self.markdownFields(card)
                let ours: Set<String> = ["Decision", "Host", "Time", "Alert", message.decision.rawValue, message.host, message.time, message.id]
                #expect(markdown.allSatisfy(ours.contains), "\(kind), \(name): \(markdown.filter { !ours.contains($0) })")
            }
        }
        for (name, digest) in HostileAlerts.digests() {
            #expect(Self.markdownFields(try Self.card(Sinks.Teams.digest(digest).body)).isEmpty, "digest, \(name)")
        }
        // The markup is still there for a person to read, as the characters it is.
        let markup = try #require(HostileAlerts.messages().first { $0.name == "mentions and markup" }?.message)
        let runs = Self.runs(try Self.elements(Sinks.Teams.alert(markup).body))
        #expect(runs.contains { $0.contains(HostileAlerts.markup) })
        #expect(runs.contains("<!here> [x](https:evil) *b* `c`.json"), "the file name, as a run: \(runs.prefix(6))")
    }

    // MARK: Digests

    @Test func aDigestThatLeavesLinesOutIsLargerThanTheSendersTarget() throws {
        // The sender lists fewer alerts while a digest is over digestBodyLimit; a digest that had
        // to leave lines out must be over it, or those alerts would be sent without being shown.
        let lines = try #require(HostileAlerts.digests().first { $0.name == "200 long lines" }?.digest.lines)
        var leftOut = 0
        for count in 1...lines.count {
            let digest = AlertDigest(lines: Array(lines.prefix(count)), host: "plant-1", time: "2026-11-27T01:00:00.000Z", facility: HostileAlerts.markup)
            let body = Sinks.Teams.digest(digest).body
            let runs = Self.runs(try Self.elements(body))
            let listed = runs.filter { $0.hasPrefix("• ") }.count
            #expect(body.count <= Sinks.Teams.bodyLimit)
            if listed < count {
                leftOut += 1
                #expect(body.count > Sinks.Teams.digestBodyLimit, "\(count) lines: \(body.count) bytes")
                #expect(runs.contains("… and \(count - listed) more \(count - listed == 1 ? "manifest" : "manifests"): see the reports beside them"))
            }
        }
        #expect(leftOut > 100, "the digest was cut \(leftOut) times")
    }

    @Test func aLongDigestLineKeepsItsStartAndItsReportPath() throws {
        let end = " — needs-batch: 1 of 1 package needs a production batch (report /var/lib/batchgate/needs-batch/x.json.report.txt)"
        let line = String(repeating: "Re\(HostileAlerts.decomposedE)colte \(HostileAlerts.family) ", count: 100) + end
        let runs = Self.runs(try Self.elements(Sinks.Teams.digest(AlertDigest(lines: [line], host: "h", time: "t", facility: nil)).body))
        let shown = try #require(runs.first { $0.hasPrefix("• ") })
        #expect(shown.hasPrefix("• Re\(HostileAlerts.decomposedE)colte") && shown.hasSuffix(end) && shown.contains("…"))
        #expect(shown.utf8.count <= Sinks.Teams.digestLineLimit + 4)
    }

    // MARK: Reading cards

    /// The Adaptive Card a Teams message carries.
    static func card(_ body: [UInt8]) throws -> [String: Any] {
        let message = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        return try #require((message["attachments"] as? [[String: Any]])?.first?["content"] as? [String: Any])
    }

    /// The card's body elements, in order.
    static func elements(_ body: [UInt8]) throws -> [[String: Any]] {
        try #require(try card(body)["body"] as? [[String: Any]])
    }

    /// The texts of an element's runs.
    static func texts(of element: [String: Any]?) -> [String] {
        (element?["inlines"] as? [[String: Any]])?.compactMap { $0["text"] as? String } ?? []
    }

    /// Every run's text, in order.
    static func runs(_ elements: [[String: Any]]) -> [String] {
        elements.flatMap { texts(of: $0) }
    }

    /// Every string that an Adaptive Card renderer reads as markdown, anywhere in the card: a
    /// TextBlock's text, a Fact's title and value, the card's fallbackText.
    static func markdownFields(_ value: Any) -> [String] {
        if let array = value as? [Any] { return array.flatMap(markdownFields) }
        guard let object = value as? [String: Any] else { return [] }
        var fields: [String] = []
        if object["type"] as? String == "TextBlock", let text = object["text"] as? String { fields.append(text) }
        if let text = object["fallbackText"] as? String { fields.append(text) }
        for fact in object["facts"] as? [[String: Any]] ?? [] {
            fields += [fact["title"], fact["value"]].compactMap { $0 as? String }
        }
        return fields + object.values.flatMap(markdownFields)
    }
}

/// Tests/TestSupport/adaptive_card_check.py: Microsoft's Adaptive Card schemas 1.4, 1.5 and 1.6
/// (Debian's python3-jsonschema) over the payloads.
enum AdaptiveCardCheck {
    static func run(_ payloads: [(label: String, body: [UInt8])]) throws -> PythonTool.Result {
        try PythonTool.check("adaptive_card_check.py", needing: ["jsonschema"], payloads)
    }
}
