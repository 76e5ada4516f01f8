import Foundation
import Synchronization
import Testing
import TestSupport
import BatchgateCore
@testable import BatchgateSystem
@testable import BatchgateConfig
@testable import BatchgateAlerts

/// A transport that records what it is asked to send and answers from a script.
final class ScriptedTransport: AlertTransport {
    struct Sent: Sendable {
        var delivery: AlertDelivery
        var sink: String
        var at: Double
    }

    private let state = Mutex<(sent: [Sent], script: [AlertAttemptResult])>(([], []))

    /// Answers in this order; once the script is used up, 200.
    func script(_ results: [AlertAttemptResult]) { state.withLock { $0.script = results } }

    var sent: [Sent] { state.withLock { $0.sent } }

    func send(_ delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
              options: DaemonConfig.Alerts) -> AlertAttemptResult {
        state.withLock { state in
            state.sent.append(Sent(delivery: delivery, sink: sink.name, at: System.wallClock()))
            return state.script.isEmpty ? .status(200) : state.script.removeFirst()
        }
    }
}

extension AlertAttemptResult {
    static func status(_ code: Int, retryAfter: Double? = nil) -> AlertAttemptResult {
        AlertAttemptResult(attempt: .answered(status: code, retryAfter: retryAfter), answer: "HTTP \(code)")
    }
}

@Suite("Alert senders")
struct AlertSenderTests {
    final class Fixture {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-senders-\(UUID().uuidString)")
        let layout: StateLayout
        let outbox: Outbox
        let transport = ScriptedTransport()
        let log: Logger
        let logPath: String

        init() throws {
            layout = StateLayout(root: root.path)
            try layout.prepare()
            outbox = try Outbox(layout: layout)
            logPath = root.appendingPathComponent("log.txt").path
            log = Logger(level: .debug, fd: open(logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600))
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        /// The dispatcher under test, kept alive as long as the fixture.
        private(set) var running: AlertDispatcher?

        func dispatcher(_ sinks: [DaemonConfig.AlertSink], maxAge: Duration = DaemonConfig.Alerts().maxAge,
                        summaryInterval: Double = 600, deadLetterRecountInterval: Double = AlertDispatcher.deadLetterRecountInterval,
                        onChange: @escaping @Sendable () -> Void = {}) -> AlertDispatcher {
            let config = DaemonConfig(alerts: DaemonConfig.Alerts(maxAge: maxAge, sinks: sinks))
            let dispatcher = AlertDispatcher(outbox: outbox, config: config, secrets: sinks.inlineSecrets, log: log,
                                             transport: transport, host: "test-host", random: { 0.5 }, summaryInterval: summaryInterval,
                                             deadLetterRecountInterval: deadLetterRecountInterval, onChange: onChange)
            running = dispatcher
            return dispatcher
        }

        /// Entries published in the outbox as the router leaves them.
        func publish(_ count: Int, sink: String, kind: DaemonConfig.AlertSink.SinkType = .webhook, createdAt: Double = System.wallClock(),
                     withFallback: Bool = false) throws -> [OutboxEntry] {
            let entries = (0..<count).map { index in
                OutboxEntry(routeID: String(format: "%016x", index + 1), sink: sink, kind: kind, createdAt: createdAt - Double(count - index) / 1000,
                            alert: #"{"n": \#(index)}"#, subject: kind == .email ? "subject \(index)" : nil,
                            digestLine: "m\(index).json — needs a batch", event: "manifest.needs-batch",
                            fallback: withFallback ? #"{"minimal": \#(index)}"# : nil)
            }
            for entry in entries {
                try outbox.writeDraft(entry)
                try outbox.publish(entry)
            }
            return entries
        }

        func names(_ folder: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []).sorted()
        }

        var logText: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    }

    static func sink(_ name: String = "desk", _ type: DaemonConfig.AlertSink.SinkType = .webhook, rateLimit: Duration? = .zero,
                     digest: Int = 5) -> DaemonConfig.AlertSink {
        DaemonConfig.AlertSink(name: name, type: type, url: .inline("http://127.0.0.1:9/hook"), rateLimit: rateLimit,
                               digestThreshold: digest)
    }

    @Test func deliversEachAlertAndRemovesIt() throws {
        let fixture = try Fixture()
        let entries = try fixture.publish(3, sink: "desk")
        let dispatcher = fixture.dispatcher([Self.sink()])
        dispatcher.add(entries)
        #expect(eventually { fixture.names("outbox") == ["dead"] })
        #expect(fixture.transport.sent.map(\.delivery.id) == entries.map(\.id), "oldest first, each on its own")
        #expect(fixture.transport.sent.map { String(decoding: $0.delivery.body, as: UTF8.self) } == entries.map(\.alert))
        #expect(eventually { fixture.logText.contains("delivered alert \(entries[0].id) to desk (HTTP 200)") })
    }

    @Test func aRefusalMovesTheAlertToDeadAtOnceAndLogsAnError() throws {
        let fixture = try Fixture()
        fixture.transport.script([AlertAttemptResult(attempt: .answered(status: 400, retryAfter: nil), answer: "HTTP 400: bad payload")])
        let entries = try fixture.publish(1, sink: "desk")
        fixture.dispatcher([Self.sink()]).add(entries)
        #expect(eventually { fixture.names("outbox/dead") == [entries[0].fileName] })
        #expect(fixture.names("outbox") == ["dead"])
        #expect(fixture.transport.sent.count == 1)
        let dead = try #require(OutboxEntry(decoding: Array(try Data(contentsOf: fixture.root.appendingPathComponent("outbox/dead/\(entries[0].fileName)")))))
        #expect(dead.lastAnswer?.contains("HTTP 400: bad payload") == true)
        // Logged once the entry is out of outbox/ and both folders are flushed: a moment after the
        // dead letter appears.
        #expect(dead.buriedFor == .content)
        #expect(eventually { fixture.logText.contains("gave up on alert \(entries[0].id) for desk after 1 attempt over ") })
        let line = try #require(fixture.logText.split(separator: "\n").first { $0.contains("gave up on alert") })
        #expect(line.hasSuffix(": HTTP 400: bad payload; it has no minimal version to send instead; kept in \(fixture.root.path)/outbox/dead/\(entries[0].fileName)"),
                "\(line)")
        #expect(line.components(separatedBy: "bad payload").count == 2, "the answer is stated once: \(line)")
    }

    @Test func aRefusedAlertGoesOnceAsItsMinimalVersion() throws {
        let fixture = try Fixture()
        fixture.transport.script([AlertAttemptResult(attempt: .answered(status: 400, retryAfter: nil), answer: "HTTP 400: invalid_blocks")])
        let entries = try fixture.publish(1, sink: "desk", withFallback: true)
        fixture.dispatcher([Self.sink()]).add(entries)
        #expect(eventually { fixture.names("outbox") == ["dead"] && fixture.transport.sent.count == 2 })
        let sent = fixture.transport.sent.map { String(decoding: $0.delivery.body, as: UTF8.self) }
        #expect(sent == [#"{"n": 0}"#, #"{"minimal": 0}"#])
        // Its own key: a receiver that kept the first would drop the second as a repeat.
        #expect(fixture.transport.sent.map(\.delivery.id) == [entries[0].id, entries[0].id + "-minimal"])
        #expect(fixture.names("outbox/dead").isEmpty)
        #expect(eventually {
            fixture.logText.contains("desk refused alert \(entries[0].id): HTTP 400: invalid_blocks; sending its minimal version instead")
                && fixture.logText.contains("delivered the minimal version of alert \(entries[0].id) to desk as \(entries[0].id)-minimal (HTTP 200); the full version was refused (HTTP 400: invalid_blocks)")
        }, "\(fixture.logText)")
    }

    @Test func aRefusedMinimalVersionIsBuriedWithBothAnswersAndGoesInFullIfMovedBack() throws {
        let fixture = try Fixture()
        fixture.transport.script([AlertAttemptResult(attempt: .answered(status: 413, retryAfter: nil), answer: "HTTP 413: too large"),
                                  AlertAttemptResult(attempt: .answered(status: 400, retryAfter: nil), answer: "HTTP 400: still no")])
        let entries = try fixture.publish(1, sink: "desk", withFallback: true)
        fixture.dispatcher([Self.sink()]).add(entries)
        #expect(eventually { fixture.names("outbox/dead") == [entries[0].fileName] })
        #expect(fixture.transport.sent.count == 2, "the minimal version is sent once")
        let deadPath = fixture.root.appendingPathComponent("outbox/dead/\(entries[0].fileName)")
        let dead = try #require(OutboxEntry(decoding: Array(try Data(contentsOf: deadPath))))
        #expect(dead.lastAnswer == "HTTP 400: still no; its minimal version was refused too, after its full version was: HTTP 413: too large")
        #expect(dead.buriedFor == .content)
        #expect(dead.refusal == nil, "a dead letter moved back goes in full")
        #expect(eventually {
            fixture.logText.contains("for desk after 2 attempts over ") && fixture.logText.contains(": HTTP 400: still no; its minimal version was refused too, after its full version was: HTTP 413: too large; kept in ")
        }, "\(fixture.logText)")

        // Moved back by hand, as docs/alerts.md says, once the receiver is fixed.
        try FileManager.default.moveItem(at: deadPath, to: fixture.root.appendingPathComponent("outbox/\(entries[0].fileName)"))
        fixture.dispatcher([Self.sink()]).resume()  // a restart
        #expect(eventually { fixture.names("outbox") == ["dead"] })
        #expect(fixture.transport.sent.map { String(decoding: $0.delivery.body, as: UTF8.self) }.last == #"{"n": 0}"#)
    }

    @Test func aMinimalVersionThatFailsIsRetriedAsTheMinimalVersion() throws {
        let fixture = try Fixture()
        fixture.transport.script([.status(422), .status(502)])
        let entries = try fixture.publish(1, sink: "desk", withFallback: true)
        fixture.dispatcher([Self.sink()]).add(entries)
        #expect(eventually { fixture.names("outbox") == ["dead"] && fixture.transport.sent.count == 3 })
        let sent = fixture.transport.sent.map { String(decoding: $0.delivery.body, as: UTF8.self) }
        #expect(sent == [#"{"n": 0}"#, #"{"minimal": 0}"#, #"{"minimal": 0}"#])
    }

    @Test func aRefusedDigestFallsBackToEachMembersMinimalVersion() throws {
        let fixture = try Fixture()
        fixture.transport.script([AlertAttemptResult(attempt: .answered(status: 400, retryAfter: nil), answer: "HTTP 400: invalid_blocks")])
        let entries = try fixture.publish(8, sink: "chat", kind: .slack, withFallback: true)
        fixture.dispatcher([Self.sink("chat", .slack, rateLimit: nil)]).add(entries)
        #expect(eventually { fixture.names("outbox") == ["dead"] && fixture.transport.sent.count == 9 })
        let sent = fixture.transport.sent
        #expect(sent[0].delivery.alertCount == 8)
        #expect(sent.dropFirst().map { String(decoding: $0.delivery.body, as: UTF8.self) } == (0..<8).map { #"{"minimal": \#($0)}"# },
                "each member alone, oldest first, never in a digest again")
        #expect(sent.dropFirst().map(\.delivery.id) == entries.map(\.minimalID))
    }

    @Test func anEntryOnItsMinimalVersionResumesAsItAfterARestart() throws {
        let fixture = try Fixture()
        var entries = try fixture.publish(1, sink: "desk", withFallback: true)
        entries[0].refusal = "the endpoint refused the alert with HTTP 400: HTTP 400"
        try fixture.outbox.save(entries, sync: true)
        fixture.dispatcher([Self.sink()]).resume()
        #expect(eventually { fixture.names("outbox") == ["dead"] })
        #expect(fixture.transport.sent.map { String(decoding: $0.delivery.body, as: UTF8.self) } == [#"{"minimal": 0}"#])
    }

    @Test func anSMTPRefusalOfTheMessageFallsBackAndOfTheLoginDoesNot() throws {
        let fixture = try Fixture()
        fixture.transport.script([AlertAttemptResult(attempt: .refusedContent("500 Line too long"), answer: "SMTP 500: Line too long"),
                                  AlertAttemptResult(attempt: .answered(status: 250, retryAfter: nil), answer: "SMTP 250"),
                                  AlertAttemptResult(attempt: .refused("the SMTP server refused the login"), answer: "SMTP 535")])
        let entries = try fixture.publish(2, sink: "mail", kind: .email, withFallback: true)
        fixture.dispatcher([Self.sink("mail", .email, digest: 10)]).add(entries)
        #expect(eventually { fixture.names("outbox/dead") == [entries[1].fileName] })
        #expect(fixture.transport.sent.map { String(decoding: $0.delivery.body, as: UTF8.self) } == [#"{"n": 0}"#, #"{"minimal": 0}"#, #"{"n": 1}"#])
    }

    @Test func aFailureIsRetriedWithBackoffAndRecordedInTheOutbox() throws {
        let fixture = try Fixture()
        fixture.transport.script([.status(500), .status(503, retryAfter: 1.5)])
        let entries = try fixture.publish(1, sink: "desk")
        fixture.dispatcher([Self.sink()]).add(entries)
        try #require(eventually { fixture.transport.sent.count == 3 })
        let times = fixture.transport.sent.map(\.at)
        // Jitter 0.5: the first retry waits 0.75 s (of 0.5–1 s), the second honours Retry-After 1.5 s.
        #expect(times[1] - times[0] >= 0.7 && times[1] - times[0] < 3)
        #expect(times[2] - times[1] >= 1.45 && times[2] - times[1] < 4)
        #expect(eventually { fixture.names("outbox") == ["dead"] })
    }

    @Test func aFailingAlertIsRewrittenWithItsAttemptAndAnswer() throws {
        let fixture = try Fixture()
        fixture.transport.script([AlertAttemptResult(attempt: .failed("Could not connect to server (curl error 7)"), answer: "Could not connect to server (curl error 7)")]
                                 + Array(repeating: .status(500), count: 10))
        let entries = try fixture.publish(1, sink: "desk")
        fixture.dispatcher([Self.sink()]).add(entries)
        #expect(eventually {
            (try? fixture.outbox.waiting().entries.first?.attempts) == 1
        })
        let waiting = try #require(try fixture.outbox.waiting().entries.first)
        #expect(waiting.lastAnswer == "Could not connect to server (curl error 7)")
        #expect(waiting.nextAttemptAt > waiting.createdAt)
    }

    @Test func anAlertOlderThanTheMaximumAgeIsGivenUp() throws {
        let fixture = try Fixture()
        fixture.transport.script([.status(500)])
        let entries = try fixture.publish(1, sink: "desk", createdAt: System.wallClock() - 100)
        fixture.dispatcher([Self.sink()], maxAge: .seconds(60)).add(entries)
        #expect(eventually { fixture.names("outbox/dead") == [entries[0].fileName] })
        #expect(eventually { fixture.logText.contains("HTTP 500; still failing at its maximum age, alerts.maxAge 1m; kept in") }, "\(fixture.logText)")
        let dead = try #require(OutboxEntry(decoding: Array(try Data(contentsOf: fixture.root.appendingPathComponent("outbox/dead/\(entries[0].fileName)")))))
        #expect(dead.buriedFor == .delivery)
    }

    @Test func manyWaitingForAChatSinkMakeOneDigest() throws {
        let fixture = try Fixture()
        let entries = try fixture.publish(50, sink: "chat", kind: .slack)
        fixture.dispatcher([Self.sink("chat", .slack, rateLimit: nil)]).add(entries)
        #expect(eventually { fixture.names("outbox") == ["dead"] })
        let sent = fixture.transport.sent
        try #require(sent.count == 1)
        #expect(sent[0].delivery.alertCount == 50)
        let text = String(decoding: sent[0].delivery.body, as: UTF8.self)
        for index in 0..<50 { #expect(text.contains("m\(index).json")) }
        #expect(sent[0].delivery.id.hasPrefix("digest-"))
    }

    @Test func aFewWaitingGoOneByOneWithinTheRateLimit() throws {
        let fixture = try Fixture()
        let entries = try fixture.publish(3, sink: "chat", kind: .slack)
        fixture.dispatcher([Self.sink("chat", .slack, rateLimit: .milliseconds(500))]).add(entries)
        try #require(eventually { fixture.transport.sent.count == 3 })
        let times = fixture.transport.sent.map(\.at)
        #expect(times[1] - times[0] >= 0.45)
        #expect(times[2] - times[1] >= 0.45)
        #expect(fixture.transport.sent.allSatisfy { $0.delivery.alertCount == 1 })
    }

    @Test func webhooksNeverGetDigests() throws {
        let fixture = try Fixture()
        let entries = try fixture.publish(12, sink: "desk")
        fixture.dispatcher([Self.sink("desk", .webhook, digest: 5)]).add(entries)
        try #require(eventually { fixture.transport.sent.count == 12 })
        #expect(fixture.transport.sent.allSatisfy { $0.delivery.alertCount == 1 })
    }

    @Test func anEmailDigestHasASubjectSayingHowMany() throws {
        let fixture = try Fixture()
        let entries = try fixture.publish(7, sink: "mail", kind: .email)
        fixture.dispatcher([Self.sink("mail", .email)]).add(entries)
        try #require(eventually { fixture.transport.sent.count == 1 })
        #expect(fixture.transport.sent[0].delivery.subject == "[batchgate] 7 manifests need attention")
    }

    @Test func resumesWhatAnEarlierRunLeftAndBuriesAlertsOfRemovedSinks() throws {
        let fixture = try Fixture()
        let kept = try fixture.publish(2, sink: "desk")
        let orphaned = try fixture.publish(1, sink: "gone")
        fixture.dispatcher([Self.sink()]).resume()
        #expect(eventually { fixture.transport.sent.count == 2 })
        #expect(Set(fixture.transport.sent.map(\.delivery.id)) == Set(kept.map(\.id)))
        #expect(eventually { fixture.names("outbox/dead") == [orphaned[0].fileName] })
        #expect(eventually { fixture.logText.contains("no sink named gone is configured any more") })
    }

    @Test func withNoSinkConfiguredWaitingAlertsAreKept() throws {
        let fixture = try Fixture()
        let entries = try fixture.publish(2, sink: "desk")
        fixture.dispatcher([]).resume()
        #expect(eventually { fixture.logText.contains("2 alert(s) wait") })
        #expect(fixture.names("outbox").count == 3)
        #expect(fixture.transport.sent.isEmpty)
        #expect(fixture.logText.contains("2 alert(s) wait"))
        _ = entries
    }

    @Test func theSameEntryGivenTwiceIsSentOnce() throws {
        let fixture = try Fixture()
        fixture.transport.script([.status(500)])
        let entries = try fixture.publish(1, sink: "desk")
        let dispatcher = fixture.dispatcher([Self.sink()])
        dispatcher.add(entries)
        dispatcher.add(entries)
        dispatcher.resume()
        #expect(eventually { fixture.transport.sent.count == 2 })
        usleep(300_000)
        #expect(fixture.transport.sent.count == 2, "one failure, one success: never two copies in flight")
    }

    @Test func requestsCarryTheKeyTheHeadersAndAVerifiableSignature() {
        let sink = DaemonConfig.AlertSink(name: "desk", type: .webhook, url: .inline("https://desk.example.com/hook"),
                                          headers: [.init(name: "Authorization", value: .inline("Bearer abc"))],
                                          signing: .init(secret: .inline("shared key")))
        let body = Array(#"{"event": "manifest.needs-batch"}"#.utf8)
        let delivery = AlertDelivery(id: "00000000000000aa-desk", body: body, event: "manifest.needs-batch", occurredAt: 1_773_308_487.512)
        let request = Sinks.Webhook.httpRequest(for: delivery, to: sink, secrets: sink.inlineSecrets, host: "plant-1", date: 1_773_308_490.9)
        let headers = Dictionary(uniqueKeysWithValues: request.headers.map { ($0.name, $0.value) })
        #expect(request.url == "https://desk.example.com/hook")
        #expect(request.body == body)
        #expect(headers["Idempotency-Key"] == "00000000000000aa-desk")
        #expect(headers["Authorization"] == "Bearer abc")
        #expect(headers["Content-Type"] == "application/json; charset=utf-8")
        #expect(headers["X-Batchgate-Signature"] == "sha256=" + HMACSHA256.hex(key: Array("shared key".utf8), message: body))
        // CloudEvents binary mode: the attributes as headers, the body the event's data.
        #expect(headers["ce-specversion"] == "1.0")
        #expect(headers["ce-id"] == "00000000000000aa-desk")
        #expect(headers["ce-source"] == "/batchgate/plant-1")
        #expect(headers["ce-type"] == "batchgate.manifest.needs-batch")
        #expect(headers["ce-time"] == "2026-03-12T09:41:27.512Z")
        // Standard Webhooks: whole seconds of the sending time, and the signature over id.timestamp.body.
        #expect(headers["webhook-id"] == "00000000000000aa-desk")
        #expect(headers["webhook-timestamp"] == "1773308490")
        #expect(headers["webhook-signature"] == "v1," + Base64.string(HMACSHA256.authenticationCode(
            key: Array("shared key".utf8), message: Array("00000000000000aa-desk.1773308490.".utf8) + body)))
    }

    @Test func chatSinksGetNoCloudEventsHeaders() {
        for type in [DaemonConfig.AlertSink.SinkType.slack, .teams] {
            let sink = DaemonConfig.AlertSink(name: "chat", type: type, url: .inline("https://hooks.example.com/x"))
            let request = Sinks.Webhook.httpRequest(for: AlertDelivery(id: "a-chat", body: Array("{}".utf8), event: "manifest.rejected"),
                                                    to: sink, secrets: sink.inlineSecrets, host: "plant-1", date: 0)
            #expect(request.headers.map(\.name) == ["Content-Type", "Idempotency-Key"], "\(type)")
        }
    }

    @Test func aTeamsDigestStaysUnderTheTeamsSizeLimitAndTheRestFollow() throws {
        let fixture = try Fixture()
        var entries = try fixture.publish(200, sink: "team", kind: .teams)
        // Long names, as a real backlog has: 200 lines would make a card of about 60 KB.
        for index in entries.indices {
            entries[index].digestLine = "2026-11-27-north-plant-transfer-\(index).json — needs-batch: 1 of 1 package needs a production batch (report /var/lib/batchgate/needs-batch/2026-11-27-north-plant-transfer-\(index).json.report.txt)"
            try fixture.outbox.save([entries[index]], sync: false)
        }
        fixture.dispatcher([Self.sink("team", .teams, rateLimit: .zero)]).add(entries)
        #expect(eventually { fixture.names("outbox") == ["dead"] })
        let sent = fixture.transport.sent
        #expect(sent.count > 1)
        #expect(sent.allSatisfy { $0.delivery.body.count <= Sinks.Teams.digestBodyLimit }, "\(sent.map(\.delivery.body.count))")
        #expect(sent.map(\.delivery.alertCount).reduce(0, +) == 200, "every alert in exactly one digest")
    }

    @Test func aSinkRemovedByAReloadLeavesItsAlertsInTheOutbox() throws {
        let fixture = try Fixture()
        fixture.transport.script(Array(repeating: .status(500), count: 50))
        let entries = try fixture.publish(3, sink: "desk")
        let dispatcher = fixture.dispatcher([Self.sink()])
        dispatcher.add(entries)
        #expect(eventually { fixture.transport.sent.count >= 1 })
        dispatcher.reload(DaemonConfig(), secrets: [:])
        #expect(eventually { fixture.logText.contains("its 3 waiting alert(s) stay in") })
        #expect(fixture.names("outbox").filter { $0.hasSuffix(".json") }.count == 3)
        #expect(fixture.names("outbox/dead").isEmpty)
    }

    @Test func aNextAttemptFromAClockThatWasAheadIsNotWaitedFor() throws {
        let fixture = try Fixture()
        var entries = try fixture.publish(1, sink: "desk")
        entries[0].nextAttemptAt = System.wallClock() + 30 * 86_400
        fixture.dispatcher([Self.sink()]).add(entries)
        usleep(300_000)
        #expect(fixture.transport.sent.isEmpty, "still waits, but at most the longest backoff (10 min)")
        #expect(fixture.running?.waitingCounts == ["desk": 1])
    }

    @Test func aRetriedDigestGoesAgainWithTheSameMembersAndId() throws {
        let fixture = try Fixture()
        fixture.transport.script([AlertAttemptResult(attempt: .failed("Timeout was reached (curl error 28)"), answer: "timeout")])
        let entries = try fixture.publish(7, sink: "chat", kind: .slack)
        let dispatcher = fixture.dispatcher([Self.sink("chat", .slack, rateLimit: .seconds(1))])
        dispatcher.add(entries)
        try #require(eventually { fixture.transport.sent.count == 1 })
        #expect(try fixture.outbox.waiting().entries.allSatisfy { $0.digestID == fixture.transport.sent[0].delivery.id },
                "the digest is recorded in its members before it is sent")
        // One more arrives while the first digest waits for its retry.
        let late = OutboxEntry(routeID: "00000000000000ff", sink: "chat", kind: .slack, createdAt: System.wallClock(),
                               alert: "{}", digestLine: "late.json — needs a batch")
        try fixture.outbox.writeDraft(late)
        try fixture.outbox.publish(late)
        dispatcher.add([late])
        try #require(eventually { fixture.transport.sent.count == 3 })
        let sent = fixture.transport.sent
        #expect(sent[1].delivery.id == sent[0].delivery.id, "the same digest, the same Idempotency-Key")
        #expect(sent[1].delivery.alertCount == 7)
        #expect(sent[2].delivery.id == late.id, "the newcomer goes on its own")
        #expect(eventually { fixture.names("outbox") == ["dead"] })
    }
}
