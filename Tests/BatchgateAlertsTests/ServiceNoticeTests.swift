import Foundation
import Testing
import TestSupport
import BatchgateCore
@testable import BatchgateSystem
@testable import BatchgateConfig
@testable import BatchgateAlerts

/// Notices about the service itself ("Metrc unreachable", "Metrc reachable again"): one entry per
/// sink whatever it alerts on, each kind of sink's payload checked by that receiver's own
/// validator and sent through the loopback receivers, hostile text kept within the limits and
/// inert, never merged into a digest, and handled by the outbox, recovery and the dead letters
/// like any alert.
@Suite("Service notices", .serialized)
struct ServiceNoticeTests {
    static let facility = DaemonConfig.Facility(licenseNumber: "402-00123", name: "North Plant")

    /// An error a Metrc proxy or libcurl could write, 5,000 characters long: mentions, markup,
    /// entities, control characters, line breaks, emoji and decomposed accents.
    static let longError = String(String(repeating: "curl: (28) <!here> <@U123> & *x* _y_ `z` :smile: \u{1B}[31m\r\nFix: none "
                                         + HostileAlerts.family + " Cre\(HostileAlerts.decomposedE)me ", count: 100).prefix(5_000))

    /// The notices the tests send, by name: the two the daemon sends, and hostile ones.
    static func notices() -> [(name: String, notice: ServiceNotice)] {
        [
            ("unreachable", Gallery.metrcUnreachable),
            ("reachable", Gallery.metrcReachable),
            ("hostile", ServiceNotice(
                kind: .catalogUnreachable, id: "0000000000000a01", time: "2026-03-12T14:05:11.204Z",
                title: "Metrc <!here> *unreachable* `now`\r\nBcc: victim@example.com",
                text: HostileAlerts.markup + " \u{0}\u{7}\t\u{1B}[31m\r\nFix: none\u{2028}Host: forged " + longError,
                details: [("Server", "https://api-wv.metrc.com/<!channel>?a=1&b=2"), ("*bold* <@U123> :smile:", HostileAlerts.markup),
                          ("Last error", longError), ("Since", ""), ("Line\r\nBreak", "a\u{2029}b\u{85}c")])),
            ("30 long details", ServiceNotice(
                kind: .catalogReachable, id: "0000000000000a02", time: "2026-03-12T14:47:36.830Z", title: "Metrc reachable again",
                text: String(repeating: "&<>", count: 3_000),
                details: (0..<30).map { ("Detail \($0)", String(repeating: "x&<", count: 700)) })),
            ("nothing", ServiceNotice(kind: .catalogReachable, id: "0000000000000a03", time: "2026-03-12T14:47:36.830Z", title: "",
                                      text: "", details: [])),
        ]
    }

    static func planner(_ sinks: [DaemonConfig.AlertSink], facility: DaemonConfig.Facility = facility) -> AlertPlanner {
        AlertPlanner(config: DaemonConfig(facility: facility, alerts: DaemonConfig.Alerts(sinks: sinks)),
                     layout: StateLayout(root: "/var/lib/batchgate"), host: "plant-1")
    }

    static func message(_ notice: ServiceNotice, facility: DaemonConfig.Facility = facility) -> NoticeMessage {
        planner([], facility: facility).message(for: notice)
    }

    /// Every notice as the planner makes it, and the hostile ones again for a facility whose
    /// configured name is markup too.
    static func messages() -> [(name: String, message: NoticeMessage)] {
        notices().map { ($0.name, message($0.notice)) }
            + notices().map { ("\($0.name), hostile facility", message($0.notice, facility: .init(licenseNumber: "<!here>", name: HostileAlerts.markup))) }
    }

    // MARK: What a notice says

    @Test func theTwoNoticesSayWhatHappensAndWhatToDo() {
        let lost = Gallery.metrcUnreachable
        #expect(lost.kind == .catalogUnreachable && lost.title == "Metrc unreachable")
        #expect(lost.time == "2026-03-12T14:05:11.250Z")
        #expect(lost.text.hasPrefix("https://api-wv.metrc.com has not answered since 2026-03-12T14:02:11.000Z. 3 manifests that need it wait in processing/"))
        #expect(lost.text.contains("nothing is rejected because of it"))
        #expect(lost.details.map(\.label) == ["Server", "Since", "Waiting manifests", "Last error"])
        let back = Gallery.metrcReachable
        #expect(back.kind == .catalogReachable && back.title == "Metrc reachable again")
        #expect(back.text == "https://api-wv.metrc.com answers again, after 45 min without an answer (since 2026-03-12T14:02:11.000Z). "
                + "3 manifests that waited are being decided.")
        #expect(ServiceNotice.catalogUnreachable(id: "x", at: 10, server: "s", since: 0, waiting: 1, lastError: "e").text.contains("1 manifest that needs it waits"))
        #expect(ServiceNotice.catalogReachable(id: "x", at: 10, server: "s", unreachableSince: 0, waiting: 0).text.hasSuffix("No manifest was waiting for it."))
        #expect(ServiceNotice.spoken(40) == "40 s" && ServiceNotice.spoken(3_900) == "1 h 5 min" && ServiceNotice.spoken(7_200) == "2 h")
        #expect(ServiceNotice.Kind.allCases.map(\.rawValue) == ["catalog.unreachable", "catalog.reachable"])
    }

    @Test func everySinkGetsOneEntryWhateverDecisionsItAlertsOn() throws {
        let sinks = [
            DaemonConfig.AlertSink(name: "desk", type: .webhook, url: .inline("https://desk.example.com/hook"), decisions: [.accepted]),
            DaemonConfig.AlertSink(name: "chat", type: .slack, url: .inline("https://hooks.example.com/chat")),
            DaemonConfig.AlertSink(name: "team", type: .teams, url: .inline("https://hooks.example.com/team"), decisions: [.rejected]),
            DaemonConfig.AlertSink(name: "mail", type: .email, url: .inline("smtp://mail.example.com"),
                                   email: .init(from: "batchgate@plant.example.com", to: ["qa@plant.example.com"])),
        ]
        let entries = Self.planner(sinks).entries(for: Gallery.metrcUnreachable, createdAt: Gallery.metrcLostAt)
        #expect(entries.map(\.id) == ["c7a9e2f40b1d5836-desk", "c7a9e2f40b1d5836-chat", "c7a9e2f40b1d5836-team", "c7a9e2f40b1d5836-mail"])
        #expect(entries.map(\.kind) == [.webhook, .slack, .teams, .email])
        for entry in entries {
            #expect(entry.isServiceNotice, "\(entry.id)")
            #expect(entry.event == "catalog.unreachable")
            #expect(entry.createdAt == Gallery.metrcLostAt)
            #expect(entry.fallback != nil && entry.fallback != entry.alert, "\(entry.id) has a minimal version of its own")
        }
        #expect(entries[3].subject == "[batchgate] Metrc unreachable (North Plant, 402-00123)")
        #expect(entries.prefix(3).allSatisfy { $0.subject == nil })
        #expect(Self.planner([]).entries(for: Gallery.metrcUnreachable, createdAt: 0).isEmpty, "no sink, no entry")

        // The id names files: anything but letters, digits, - and _ becomes _.
        var odd = Gallery.metrcReachable
        odd.id = "../catalog back/1"
        let renamed = try #require(Self.planner([sinks[0]]).entries(for: odd, createdAt: 0).first)
        #expect(renamed.id == "___catalog_back_1-desk")
        #expect(String(decoding: Sinks.Webhook.notice(Self.message(odd)).body, as: UTF8.self).contains(#""alertId":"___catalog_back_1""#))
    }

    // MARK: The outbox

    @Test func aNoticeEntryRoundTripsThroughTheOutboxAndItsDeadLetters() throws {
        let fixture = try AlertSenderTests.Fixture()
        let sinks = [AlertSenderTests.sink("chat", .slack)]
        var entry = try #require(Self.planner(sinks).entries(for: Gallery.metrcUnreachable, createdAt: Gallery.metrcLostAt).first)
        #expect(OutboxEntry(decoding: entry.encoded()) == entry)
        entry.attempts = 2
        entry.refusal = "HTTP 400: invalid_blocks"
        #expect(OutboxEntry(decoding: entry.encoded()) == entry, "every field kept")

        try fixture.outbox.save([entry], sync: true)
        #expect(try fixture.outbox.waiting().entries == [entry])
        try fixture.outbox.bury(entry, reason: "given up", cause: .delivery, sync: true)
        let dead = try #require(OutboxEntry(decoding: Array(try Data(contentsOf: fixture.root.appendingPathComponent("outbox/dead/\(entry.fileName)")))))
        #expect(dead.isServiceNotice, "a dead letter moved back is a notice still")
        #expect(dead.lastAnswer == "given up" && dead.refusal == nil)

        // An entry an older version wrote has no such member: an alert about a manifest.
        let older = #"{"id":"00000000000000aa-chat","sink":"chat","kind":"slack","createdAt":1,"attempts":0,"nextAttemptAt":1,"alert":"{}"}"#
        let decoded = try #require(OutboxEntry(decoding: Array(older.utf8)))
        #expect(!decoded.isServiceNotice)
    }

    @Test func postingPublishesAtOnceAndTwiceKeepsTheEntryThatWaits() throws {
        let fixture = try AlertSenderTests.Fixture()
        let sinks = [AlertSenderTests.sink("desk"), AlertSenderTests.sink("chat", .slack)]
        let entries = Self.planner(sinks).entries(for: Gallery.metrcUnreachable, createdAt: System.wallClock())
        try fixture.outbox.post(entries)
        #expect(fixture.names("outbox") == ["c7a9e2f40b1d5836-chat.json", "c7a9e2f40b1d5836-desk.json", "dead"], "published, no draft left")
        #expect(try fixture.outbox.waiting().entries.sorted { $0.id < $1.id } == entries.sorted { $0.id < $1.id })

        // A sender recorded an attempt; the same notice posted again changes nothing.
        var tried = entries[0]
        tried.attempts = 3
        try fixture.outbox.save([tried], sync: true)
        try fixture.outbox.post(entries)
        #expect(fixture.names("outbox").count == 3)
        #expect(try fixture.outbox.waiting().entries.first { $0.id == tried.id }?.attempts == 3)
        try fixture.outbox.post([])
    }

    @Test func theDispatcherPostsANoticeAndSendsItToEverySink() throws {
        let fixture = try AlertSenderTests.Fixture()
        let sinks = [AlertSenderTests.sink("desk"), AlertSenderTests.sink("chat", .slack),
                     AlertSenderTests.sink("mail", .email)]
        let dispatcher = fixture.dispatcher(sinks)
        let entries = Self.planner(sinks).entries(for: Gallery.metrcUnreachable, createdAt: System.wallClock())
        try dispatcher.post(entries)
        #expect(eventually(30) { fixture.names("outbox") == ["dead"] && fixture.transport.sent.count == 3 })
        let sent = fixture.transport.sent
        #expect(Set(sent.map(\.delivery.id)) == Set(entries.map(\.id)))
        #expect(sent.allSatisfy { $0.delivery.event == "catalog.unreachable" && $0.delivery.alertCount == 1 })
        #expect(sent.first { $0.sink == "mail" }?.delivery.subject == "[batchgate] Metrc unreachable (North Plant, 402-00123)")
    }

    @Test func aNoticeDraftLeftByACrashIsPublishedAtTheNextStartAndAManifestDraftIsNot() throws {
        let fixture = try AlertSenderTests.Fixture()
        let sinks = [AlertSenderTests.sink("desk")]
        let notice = try #require(Self.planner(sinks).entries(for: Gallery.metrcReachable, createdAt: System.wallClock()).first)
        let manifest = OutboxEntry(routeID: "00000000000000aa", sink: "desk", createdAt: System.wallClock(), alert: "{}")
        // What a crash between the draft's flush and its publish leaves, beside a route's draft
        // that only the router's recovery decides on, and a torn draft.
        try fixture.outbox.writeDraft(notice)
        try fixture.outbox.writeDraft(manifest)
        try Data(#"{"id": "0000000000000a09-desk", "serviceNotice": tr"#.utf8)
            .write(to: fixture.root.appendingPathComponent("outbox/.0000000000000a09-desk.json.draft"))
        fixture.dispatcher(sinks).resume()
        #expect(eventually(30) { fixture.transport.sent.count == 1 && fixture.names("outbox").count == 3 })
        #expect(fixture.transport.sent.map(\.delivery.id) == [notice.id])
        #expect(fixture.names("outbox") == [".00000000000000aa-desk.json.draft", ".0000000000000a09-desk.json.draft", "dead"])
        #expect(eventually { fixture.logText.contains("published 1 service notice(s) that a stop left as drafts") }, "\(fixture.logText)")
        #expect(try fixture.outbox.drafts(ofRoute: "00000000000000aa") == [manifest])
    }

    @Test func aRefusedNoticeGoesAsItsMinimalVersionThenToTheDeadLettersAndBackAsANotice() throws {
        let fixture = try AlertSenderTests.Fixture()
        fixture.transport.script([AlertAttemptResult(attempt: .answered(status: 400, retryAfter: nil), answer: "HTTP 400: invalid_blocks"),
                                  AlertAttemptResult(attempt: .answered(status: 400, retryAfter: nil), answer: "HTTP 400: no")])
        let sinks = [AlertSenderTests.sink("chat", .slack)]
        let entry = try #require(Self.planner(sinks).entries(for: Gallery.metrcUnreachable, createdAt: System.wallClock()).first)
        try fixture.dispatcher(sinks).post([entry])
        #expect(eventually(30) { fixture.names("outbox/dead") == [entry.fileName] })
        #expect(fixture.transport.sent.map(\.delivery.id) == [entry.id, entry.minimalID])
        #expect(fixture.transport.sent.map { String(decoding: $0.delivery.body, as: UTF8.self) } == [entry.alert, try #require(entry.fallback)])
        let deadPath = fixture.root.appendingPathComponent("outbox/dead/\(entry.fileName)")
        let dead = try #require(OutboxEntry(decoding: Array(try Data(contentsOf: deadPath))))
        #expect(dead.isServiceNotice && dead.lastAnswer == "HTTP 400: no; its minimal version was refused too, after its full version was: HTTP 400: invalid_blocks")

        // Moved back with a burst of manifests waiting: it goes in full, on its own.
        try FileManager.default.moveItem(at: deadPath, to: fixture.root.appendingPathComponent("outbox/\(entry.fileName)"))
        _ = try fixture.publish(8, sink: "chat", kind: .slack)
        fixture.dispatcher(sinks).resume()
        #expect(eventually(30) { fixture.names("outbox") == ["dead"] })
        let resent = fixture.transport.sent.dropFirst(2)
        #expect(resent.map(\.delivery.alertCount).sorted() == [1, 8], "\(resent.map(\.delivery.id))")
        #expect(resent.contains { $0.delivery.id == entry.id && String(decoding: $0.delivery.body, as: UTF8.self) == entry.alert })
    }

    // MARK: Digests

    @Test func aNoticeIsNeverMergedIntoADigestNorCountedTowardsOne() throws {
        for (manifests, expected) in [(8, [8, 1]), (5, [1, 1, 1, 1, 1, 1])] {
            let fixture = try AlertSenderTests.Fixture()
            let sinks = [AlertSenderTests.sink("chat", .slack, digest: 5)]
            let now = System.wallClock()
            var burst = try fixture.publish(manifests, sink: "chat", kind: .slack, createdAt: now)
            // Written in the middle of the burst, all of it due at once.
            let notice = try #require(Self.planner(sinks).entries(for: Gallery.metrcUnreachable, createdAt: now - 0.002).first)
            try fixture.outbox.post([notice])
            burst.append(notice)
            fixture.dispatcher(sinks).add(burst)
            #expect(eventually(30) { fixture.names("outbox") == ["dead"] }, "\(manifests)")
            let sent = fixture.transport.sent
            #expect(sent.map(\.delivery.alertCount) == expected, "\(manifests): \(sent.map(\.delivery.id))")
            let alone = try #require(sent.first { $0.delivery.id == notice.id }, "\(manifests): the notice went on its own")
            #expect(String(decoding: alone.delivery.body, as: UTF8.self) == notice.alert)
            for digest in sent where digest.delivery.alertCount > 1 {
                #expect(!String(decoding: digest.delivery.body, as: UTF8.self).contains("Metrc"), "no line of the digest is the notice")
            }
        }
    }

    // MARK: Slack

    static func slackPayloads() -> [(label: String, body: [UInt8])] {
        messages().flatMap { name, message in
            [("notice \(name)", Sinks.Slack.notice(message).body), ("minimal \(name)", Sinks.Slack.noticeFallback(message).body)]
        }
    }

    @Test func slackPayloadsPassSlacksOwnChecks() throws {
        let outcome = try SlackCheck.run(Self.slackPayloads())
        #expect(outcome.status == 0, "slack_check.py found problems:\n\(outcome.output)")
    }

    @Test func slackPayloadsStayWithinTheLimitsAndShowTheTextAsWritten() throws {
        var plainTexts: [String] = []
        for (label, body) in Self.slackPayloads() {
            let payload = try SlackJSON(body)
            #expect(payload.mrkdwn == false, "\(label)")
            #expect(payload.text.unicodeScalars.count <= Sinks.Slack.Limit.messageText, "\(label)")
            #expect(payload.blocks.count <= Sinks.Slack.Limit.blocks, "\(label)")
            let objects = payload.blocks.flatMap(SlackJSON.textObjects(in:))
            let total = objects.reduce(0) { $0 + (($1["text"] as? String)?.unicodeScalars.count ?? 0) }
            #expect(total <= Sinks.Slack.Limit.blocksText, "\(label): \(total) code points")
            for block in payload.blocks {
                #expect((block["fields"] as? [Any])?.count ?? 0 <= 10, "\(label): a section holds at most ten fields")
            }
            // Where Slack reads markup (the notification text, mrkdwn), nothing can mention or link.
            let mrkdwn = objects.filter { $0["type"] as? String == "mrkdwn" }.compactMap { $0["text"] as? String }
            for text in [payload.text] + mrkdwn {
                #expect(!text.unicodeScalars.contains("<") && !text.unicodeScalars.contains(">"), "\(label): \(text.prefix(120))")
                #expect(text.firstMatch(of: /&(?!amp;|lt;|gt;)/.matchingSemantics(.unicodeScalar)) == nil, "\(label): \(text.prefix(120))")
            }
            // The labels are the only mrkdwn, and only when they are bold words: a label that
            // came with markup goes as plain_text.
            for text in mrkdwn {
                #expect(text.wholeMatch(of: /\*[\p{L}\p{N}][\p{L}\p{N} -]*\*/) != nil, "\(label): \(text)")
            }
            for object in objects where object["type"] as? String == "plain_text" {
                #expect(object["emoji"] as? Bool == false, "\(label)")
                plainTexts.append(object["text"] as? String ?? "")
            }
        }
        #expect(plainTexts.contains { $0.hasPrefix("Metrc <!here> *unreachable* `now`  Bcc: victim@example.com") }, "the title as written")
        #expect(plainTexts.contains("*bold* <@U123> :smile:"), "an odd label as written, in plain_text")
        #expect(plainTexts.contains { $0.contains(HostileAlerts.markup) })
        #expect(plainTexts.allSatisfy { text in !text.unicodeScalars.contains { $0.properties.generalCategory == .control } },
                "no control character reaches the channel")
    }

    @Test func aSlackNoticeWithMoreDetailsThanFitSaysHowManyMore() throws {
        let message = try #require(Self.messages().first { $0.name == "30 long details" }?.message)
        #expect(message.details.count == 21 && message.details.last == ServiceNotice.Detail("More", "10 more details were left out"))
        let payload = try SlackJSON(Sinks.Slack.notice(message).body)
        let fields = payload.blocks.flatMap { $0["fields"] as? [[String: Any]] ?? [] }
        let remainder = try #require((payload.blocks[payload.blocks.count - 2]["text"] as? [String: Any])?["text"] as? String)
        #expect(fields.count / 2 >= 3, "\(fields.count / 2) details shown")
        #expect(remainder == "… and \(21 - fields.count / 2) more details: see the journal (journalctl -u batchgate)")
        let gallery = try SlackJSON(Sinks.Slack.notice(Self.message(Gallery.metrcUnreachable)).body)
        #expect(gallery.blocks.flatMap { $0["fields"] as? [Any] ?? [] }.count == 8, "an ordinary notice shows every detail")
    }

    // MARK: Teams

    static func teamsPayloads() -> [(label: String, body: [UInt8])] {
        messages().flatMap { name, message in
            [("notice \(name)", Sinks.Teams.notice(message).body), ("minimal \(name)", Sinks.Teams.noticeFallback(message).body)]
        }
    }

    @Test func teamsCardsPassTheAdaptiveCardSchemas14To16() throws {
        let result = try AdaptiveCardCheck.run(Self.teamsPayloads())
        #expect(result.status == 0, "adaptive_card_check.py found problems:\n\(result.output)")
    }

    @Test func teamsCardsStayWithinTheLimitAndNothingIsReadAsMarkdown() throws {
        for (label, body) in Self.teamsPayloads() {
            #expect(body.count <= Sinks.Teams.bodyLimit, "\(label): \(body.count) bytes")
            #expect(TeamsPayloadTests.markdownFields(try TeamsPayloadTests.card(body)).isEmpty, "\(label): text read as markdown")
            let runs = TeamsPayloadTests.runs(try TeamsPayloadTests.elements(body))
            #expect(runs.allSatisfy { run in !run.unicodeScalars.contains { $0.properties.generalCategory == .control } }, "\(label)")
        }
        let hostile = try #require(Self.messages().first { $0.name == "hostile" }?.message)
        let runs = TeamsPayloadTests.runs(try TeamsPayloadTests.elements(Sinks.Teams.notice(hostile).body))
        #expect(runs.first == "Metrc <!here> *unreachable* `now`  Bcc: victim@example.com (North Plant, 402-00123)")
        #expect(runs.contains("*bold* <@U123> :smile:: ") && runs.contains { $0.contains(HostileAlerts.markup) })
        let error = try #require(runs.first { $0.hasPrefix("curl: (28)") })
        #expect(error.utf8.count <= Sinks.Teams.textLimit && error.hasSuffix("…"), "the 5,000-character error is cut")

        let many = try #require(Self.messages().first { $0.name == "30 long details" }?.message)
        let manyRuns = TeamsPayloadTests.runs(try TeamsPayloadTests.elements(Sinks.Teams.notice(many).body))
        let shown = manyRuns.filter { $0.hasPrefix("Detail ") }.count + (manyRuns.contains("More: ") ? 1 : 0)
        #expect(shown > 10 && shown < 21, "as many details as fit in the card: \(shown)")
        #expect(manyRuns.contains("… and \(21 - shown) more details: see the journal (journalctl -u batchgate)"), "\(manyRuns.suffix(3))")
        #expect(manyRuns.last?.hasPrefix("batchgate on plant-1 · 2026-03-12T14:47:36.830Z · alert 0000000000000a02") == true)
    }

    // MARK: Webhook

    @Test func webhookBodiesCarryTheNoticeAndItsPlace() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(Sinks.Webhook.notice(Self.message(Gallery.metrcUnreachable)).body)) as? [String: Any])
        #expect(object["event"] as? String == "catalog.unreachable" && object["kind"] as? String == "catalog.unreachable")
        #expect(object["alertId"] as? String == "c7a9e2f40b1d5836" && object["host"] as? String == "plant-1")
        #expect(object["facility"] as? String == "North Plant" && object["licenseNumber"] as? String == "402-00123")
        #expect(object["title"] as? String == "Metrc unreachable" && object["text"] as? String == Gallery.metrcUnreachable.text)
        let details = try #require(object["details"] as? [[String: String]])
        #expect(details.map { $0["label"] ?? "" } == ["Server", "Since", "Waiting manifests", "Last error"])
        let minimal = try #require(try JSONSerialization.jsonObject(with: Data(Sinks.Webhook.noticeFallback(Self.message(Gallery.metrcUnreachable)).body)) as? [String: Any])
        #expect(minimal["minimal"] as? Bool == true && minimal["details"] == nil && minimal["text"] as? String == Gallery.metrcUnreachable.text)

        // Hostile text is JSON data, bounded before it reaches the outbox.
        let hostile = try #require(Self.messages().first { $0.name == "hostile" }?.message)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(Sinks.Webhook.notice(hostile).body)) as? [String: Any])
        #expect(((NoticeMessage.Bound.text - 10)...NoticeMessage.Bound.text).contains((body["text"] as? String)?.unicodeScalars.count ?? 0))
        let values = try #require(body["details"] as? [[String: String]]).compactMap { $0["value"] }
        #expect(values.allSatisfy { $0.unicodeScalars.count <= NoticeMessage.Bound.value } && values.contains { $0.hasPrefix("curl: (28)") })
    }

    @Test func webhookRequestsAreCloudEventsOfTheirOwnTypeWithAVerifiableSignature() throws {
        try PythonTool.requirePackages(["cloudevents.http", "standardwebhooks.webhooks"])
        let server = try LoopbackHTTPServer()
        let fixture = try AlertSenderTests.Fixture()
        let sink = DaemonConfig.AlertSink(name: "desk", type: .webhook, url: .inline(server.url), signing: .init(secret: .inline("s3cret-key")))
        let dispatcher = AlertDispatcher(outbox: fixture.outbox, config: DaemonConfig(facility: Self.facility, alerts: .init(sinks: [sink])),
                                         secrets: [sink].inlineSecrets, log: fixture.log, host: "plant-1")
        let start = System.wallClock()
        for (index, (_, notice)) in Self.notices().enumerated() {
            try dispatcher.post(Self.planner([sink]).entries(for: notice, createdAt: start + Double(index) / 1000))
        }
        let count = Self.notices().count
        #expect(eventually(60) { server.requests.count == count && fixture.names("outbox") == ["dead"] }, "\(fixture.logText)")
        withExtendedLifetime(dispatcher) {}
        let requests = server.requests
        #expect(requests.compactMap { $0.headers["ce-type"] }
                == ["batchgate.catalog.unreachable", "batchgate.catalog.reachable", "batchgate.catalog.unreachable",
                    "batchgate.catalog.reachable", "batchgate.catalog.reachable"])
        #expect(requests.first?.headers["ce-id"] == "c7a9e2f40b1d5836-desk" && requests.first?.headers["idempotency-key"] == "c7a9e2f40b1d5836-desk")

        let input = try JSONSerialization.data(withJSONObject: requests.map { request -> [String: Any] in
            ["headers": request.headers, "body_base64": request.body.base64EncodedString(), "secret": "s3cret-key"]
        })
        let checked = try PythonTool.run("webhook_check.py", input: input)
        #expect(checked.status == 0 && checked.output.contains("\(count) request(s) checked, 0 problem(s)"), "\(checked.output)")
        // The checker can fail: a body changed on the way.
        let tampered = try JSONSerialization.data(withJSONObject: [["headers": requests[0].headers, "secret": "s3cret-key",
                                                                    "body_base64": Data(#"{"event":"catalog.reachable"}"#.utf8).base64EncodedString()]])
        let refused = try PythonTool.run("webhook_check.py", input: tampered)
        #expect(refused.status == 1 && refused.output.contains("verification failed"), "\(refused.output)")
    }

    // MARK: Through the receivers

    @Test func slackAndTeamsReceiversTakeEveryNotice() throws {
        let receiver = try ValidatingReceiver()
        let fixture = try AlertSenderTests.Fixture()
        let sinks = [DaemonConfig.AlertSink(name: "chat", type: .slack, url: .inline(receiver.url("/slack")), rateLimit: .zero),
                     DaemonConfig.AlertSink(name: "team", type: .teams, url: .inline(receiver.url("/teams")))]
        let dispatcher = AlertDispatcher(outbox: fixture.outbox, config: DaemonConfig(facility: Self.facility, alerts: .init(sinks: sinks)),
                                         secrets: sinks.inlineSecrets, log: fixture.log, host: "plant-1")
        let start = System.wallClock()
        for (index, (_, notice)) in Self.notices().enumerated() {
            try dispatcher.post(Self.planner(sinks).entries(for: notice, createdAt: start + Double(index) / 1000))
        }
        let count = Self.notices().count
        #expect(eventually(60) { receiver.records.count == 2 * count && fixture.names("outbox") == ["dead"] }, "\(fixture.logText)")
        withExtendedLifetime(dispatcher) {}
        let records = receiver.records
        for record in records {
            #expect(record.status < 300, "\(record.path) refused: \(record.problems.prefix(5).joined(separator: "; "))")
        }
        #expect(records.filter { $0.path == "/slack" }.allSatisfy { $0.body.contains("\"blocks\"") }, "every notice in its full form")
        #expect(records.filter { $0.path == "/teams" }.count == count)
        #expect(!fixture.logText.contains("refused"), "\(fixture.logText)")
    }

    @Test func mailsGoThroughAStrictServerAndReadBackAsWritten() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.plain, in: folder)
        defer { server.stop() }
        let fixture = try AlertSenderTests.Fixture()
        let sink = DaemonConfig.AlertSink(name: "mail", type: .email, url: .inline(server.url),
                                          email: .init(from: "batchgate@plant.example.com", to: ["compliance@plant.example.com"], starttls: false))
        let dispatcher = AlertDispatcher(outbox: fixture.outbox, config: DaemonConfig(facility: Self.facility, alerts: .init(sinks: [sink])),
                                         secrets: [sink].inlineSecrets, log: fixture.log, host: "plant-1")
        let start = System.wallClock()
        var entries: [(name: String, entry: OutboxEntry)] = []
        for (index, (name, notice)) in Self.notices().enumerated() {
            let entry = try #require(Self.planner([sink]).entries(for: notice, createdAt: start + Double(index) / 1000).first)
            entries.append((name, entry))
            try dispatcher.post([entry])
        }
        #expect(eventually(60) { ((try? server.deliveries().count) ?? 0) == entries.count && fixture.names("outbox") == ["dead"] },
                "\(fixture.logText)")
        withExtendedLifetime(dispatcher) {}
        let received = try server.deliveries()
        try #require(received.count == entries.count)
        let settings = try #require(sink.email)
        let problems = try PythonMailReader.problems(zip(entries, received).map { named, delivery in
            let message = Sinks.Email.message(for: AlertDelivery(id: named.entry.id, body: Array(named.entry.alert.utf8), subject: named.entry.subject),
                                              settings: settings, host: "plant-1", date: 0)
            return PythonMailReader.Expectation(name: named.name, message: message, raw: delivery.data)
        })
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        for (named, delivery) in zip(entries, received) {
            #expect(delivery.data.allSatisfy { $0 < 0x80 }, "\(named.name): 7-bit")
            let lines = String(decoding: delivery.data, as: UTF8.self).components(separatedBy: "\r\n")
            #expect(lines.allSatisfy { $0.utf8.count <= 78 }, "\(named.name): \(lines.map(\.utf8.count).max() ?? 0)")
        }
        let readable = received[0].readable
        #expect(readable.contains("Subject: [batchgate] Metrc unreachable (North Plant, 402-00123)\r\n"), "\(readable.prefix(400))")
        #expect(readable.contains("\r\nLast error: Metrc did not answer /packages/v2/active after 3 attempts"))
        // The hostile notice's line breaks made no header and no line of ours.
        let hostile = received[2].readable
        let head = try #require(hostile.components(separatedBy: "\r\n\r\n").first)
        #expect(!head.contains("\r\nBcc:"), "\(head)")
        #expect(!hostile.contains("\r\nFix: none"), "a line break in the text starts no line of ours")
    }
}
