import Foundation
import Testing
import TestSupport
import BatchgateCore
@testable import BatchgateSystem
@testable import BatchgateConfig
@testable import BatchgateAlerts
@testable import BatchgateDaemon

/// Alerts from the router through the outbox and libcurl to a real HTTP receiver on loopback.
@Suite("Alert delivery over HTTP", .serialized)
struct AlertDeliveryTests {
    final class Fixture {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-delivery-\(UUID().uuidString)")
        let layout: StateLayout
        let outbox: Outbox
        let router: Router
        let dispatcher: AlertDispatcher
        let logPath: String

        init(sinks: [DaemonConfig.AlertSink], transfer: DaemonConfig.Alerts = DaemonConfig.Alerts()) throws {
            layout = StateLayout(root: root.path)
            try layout.prepare()
            outbox = try Outbox(layout: layout)
            logPath = root.appendingPathComponent("log.txt").path
            let log = Logger(level: .debug, fd: open(logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600))
            var alerts = transfer
            alerts.sinks = sinks
            let config = DaemonConfig(facility: DaemonConfig.Facility(licenseNumber: "PR-1", name: "North"), alerts: alerts)
            router = try Router(layout: layout, checker: ManifestChecker(), syncToDisk: false, log: log,
                                audit: try AuditLog(path: layout.auditLog), outbox: outbox,
                                alerts: AlertPlanner(config: config, layout: layout, host: "plant-1"))
            dispatcher = AlertDispatcher(outbox: outbox, config: config, secrets: sinks.inlineSecrets, log: log, host: "plant-1",
                                         random: { 0.5 })
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        /// Drops a manifest needing a batch, routes it and hands its alerts to the senders.
        @discardableResult
        func route(_ name: String = "resin.json") throws -> Router.Outcome {
            try Data(AlertRoutingTests.needsBatch.utf8).write(to: root.appendingPathComponent("inbox/\(name)"))
            let outcome = try #require(router.route([name]).outcomes.first)
            dispatcher.add(outcome.alerts)
            return outcome
        }

        func names(_ folder: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []).sorted()
        }

        var logText: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    }

    static func json(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The HMAC-SHA256 of `body` as `openssl dgst` computes it: an independent check of the header.
    static func opensslHMAC(_ body: Data, key: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("body-\(UUID().uuidString)")
        try body.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["dgst", "-sha256", "-hmac", key, "-r", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return String(output.split(separator: " ").first ?? "")
    }

    @Test func eachSinkKindPostsItsPayloadWithKeyHeadersAndSignature() throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .answer(status: 202))  // Teams answers 202; every 2xx is delivered
        let base = "http://127.0.0.1:\(server.port)"
        let fixture = try Fixture(sinks: [
            DaemonConfig.AlertSink(name: "desk", type: .webhook, url: .inline(base + "/desk"),
                              headers: [.init(name: "Authorization", value: .inline("Bearer desk-token"))],
                              signing: .init(secret: .inline("s3cret key"))),
            DaemonConfig.AlertSink(name: "chat", type: .slack, url: .inline(base + "/slack"), rateLimit: .zero),
            DaemonConfig.AlertSink(name: "team", type: .teams, url: .inline(base + "/teams")),
        ])
        let outcome = try fixture.route()
        try #require(eventually { server.requests.count == 3 })
        #expect(eventually { fixture.names("outbox") == ["dead"] }, "every alert removed once delivered")
        let byPath = Dictionary(uniqueKeysWithValues: server.requests.map { ($0.path, $0) })

        let desk = try #require(byPath["/desk"])
        #expect(desk.method == "POST")
        #expect(desk.headers["content-type"] == "application/json; charset=utf-8")
        #expect(desk.headers["authorization"] == "Bearer desk-token")
        #expect(desk.headers["idempotency-key"] == "\(outcome.entry.id)-desk")
        #expect(desk.headers["x-batchgate-signature"] == "sha256=" + (try Self.opensslHMAC(desk.body, key: "s3cret key")))
        let webhook = try Self.json(desk.body)
        #expect(webhook["event"] as? String == "manifest.needs-batch")
        #expect(webhook["alertId"] as? String == outcome.entry.id)
        #expect(webhook["licenseNumber"] as? String == "PR-1")
        #expect(webhook["host"] as? String == "plant-1")
        #expect(webhook["file"] as? String == "resin.json")
        #expect(webhook["reportPath"] as? String == fixture.layout.needsBatch + "/resin.json.report.txt")
        let package = try #require((webhook["packages"] as? [[String: Any]])?.first)
        #expect(package["tag"] as? String == "1A4FF0300000022000000001")
        #expect((package["rules"] as? [String])?.isEmpty == false)
        #expect((package["fix"] as? String)?.isEmpty == false)

        let slack = try Self.json(try #require(byPath["/slack"]).body)
        #expect((slack["text"] as? String)?.contains("resin.json") == true)
        let blocks = try #require(slack["blocks"] as? [[String: Any]])
        #expect(blocks.first?["type"] as? String == "header")
        #expect(byPath["/slack"]?.headers["x-batchgate-signature"] == nil, "only sinks with a secret sign")

        let teams = try Self.json(try #require(byPath["/teams"]).body)
        #expect(teams["type"] as? String == "message")
        let attachment = try #require((teams["attachments"] as? [[String: Any]])?.first)
        #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
        #expect((attachment["content"] as? [String: Any])?["type"] as? String == "AdaptiveCard")
    }

    @Test func retryAfterIsHonouredAndTheSameKeyIsSentEachTime() throws {
        let server = try LoopbackHTTPServer()
        server.script([.answer(status: 429, headers: [("Retry-After", "2")], body: "slow down"), .answer(status: 500), .answer(status: 200)])
        let fixture = try Fixture(sinks: [DaemonConfig.AlertSink(name: "desk", type: .webhook, url: .inline(server.url))])
        try fixture.route()
        try #require(eventually(15) { server.requests.count == 3 })
        let requests = server.requests
        let gaps = zip(requests.dropFirst(), requests).map { $0.at.timeIntervalSince($1.at) }
        #expect(gaps[0] >= 1.95, "Retry-After: 2 honoured (waited \(gaps[0]) s)")
        #expect(gaps[1] >= 1.4 && gaps[1] < 3, "second backoff 2 s × (½ + ½·jitter ½) = 1.5 s (waited \(gaps[1]) s)")
        #expect(Set(requests.map { $0.headers["idempotency-key"] ?? "" }).count == 1)
        #expect(requests.map(\.body) == Array(repeating: requests[0].body, count: 3))
        #expect(eventually { fixture.names("outbox") == ["dead"] })
        #expect(fixture.logText.contains("HTTP 429: the receiver asks for fewer messages: batchgate waits as long as it says; a slower rateLimit on the sink avoids it (slow down)"),
                "what to check, then the receiver's words: \(fixture.logText)")
    }

    @Test func aRefusedAlertIsDeadLetteredWithTheAnswerAndAnError() throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .answer(status: 400, body: "invalid_payload"))
        let fixture = try Fixture(sinks: [DaemonConfig.AlertSink(name: "chat", type: .slack, url: .inline(server.url))])
        let outcome = try fixture.route()
        try #require(eventually { fixture.names("outbox/dead") == ["\(outcome.entry.id)-chat.json"] })
        #expect(server.requests.count == 2, "a 4xx other than 408 and 429: the alert's minimal version once, never the same again")
        #expect(server.requests[0].body != server.requests[1].body)
        let dead = try #require(OutboxEntry(decoding: Array(try Data(contentsOf: fixture.root.appendingPathComponent("outbox/dead/\(outcome.entry.id)-chat.json")))))
        #expect(dead.lastAnswer?.contains("HTTP 400: invalid_payload") == true)
        #expect(dead.lastAnswer == "HTTP 400: invalid_payload; its full and minimal versions were both refused")
        // Logged once the letter is in outbox/dead/ and both folders are flushed: a moment after it appears.
        #expect(eventually { fixture.logText.contains("gave up on alert \(outcome.entry.id)-chat for chat after 2 attempts over ") })
        #expect(fixture.logText.contains(": HTTP 400: invalid_payload; its full and minimal versions were both refused; kept in "))
    }

    @Test func aHungEndpointTimesOutAndIsTriedAgain() throws {
        let server = try LoopbackHTTPServer()
        server.script([.hang])
        let fixture = try Fixture(sinks: [DaemonConfig.AlertSink(name: "desk", type: .webhook, url: .inline(server.url))],
                                  transfer: DaemonConfig.Alerts(connectTimeout: .seconds(3), timeout: .seconds(3)))
        let started = Date()
        try fixture.route()
        #expect(Date().timeIntervalSince(started) < 2.5, "routing never waits for a sender (the transfer hangs 3 s)")
        try #require(eventually(10) { server.requests.count == 2 })
        #expect(eventually { fixture.names("outbox") == ["dead"] })
        #expect(fixture.logText.contains("Timeout was reached") || fixture.logText.contains("timed out"))
    }

    @Test func anEmailSinkSendsAMailAPersonCanActOnAndADigestForMany() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.startTLS, in: folder, user: "alerts", password: "mail pass")
        defer { server.stop() }
        let sink = DaemonConfig.AlertSink(
            name: "mail", type: .email, url: .inline(server.url),
            email: .init(from: "batchgate@plant.example", to: ["compliance@plant.example"], username: "alerts",
                         password: .inline("mail pass")))
        let fixture = try Fixture(sinks: [sink], transfer: folder.options)
        let outcome = try fixture.route()
        try #require(eventually { (try? server.deliveries().count) == 1 })
        let mail = try #require(try server.deliveries().first)
        #expect(mail.tls && mail.login == "alerts")
        #expect(mail.mailFrom == "batchgate@plant.example" && mail.rcptTos == ["compliance@plant.example"])
        let text = mail.readable
        #expect(text.contains("Subject: [batchgate] Needs a production batch: resin.json (North, PR-1)\r\n"))
        #expect(text.contains("Message-ID: <\(outcome.entry.id)-mail@plant.example>\r\n"))
        #expect(text.contains("  Fix: "))
        #expect(text.contains("Report: \(fixture.layout.needsBatch)/resin.json.report.txt"))
        #expect(eventually { fixture.names("outbox") == ["dead"] })

        // Seven at once: more than the threshold of five, so one digest.
        for number in 1...7 {
            try Data(AlertRoutingTests.needsBatch.utf8).write(to: fixture.root.appendingPathComponent("inbox/batch-\(number).json"))
        }
        let outcomes = fixture.router.route((1...7).map { "batch-\($0).json" }).outcomes
        fixture.dispatcher.add(outcomes.flatMap(\.alerts))
        try #require(eventually { fixture.names("outbox") == ["dead"] })
        let mails = try server.deliveries().dropFirst().map(\.readable)
        #expect(mails.count == 1)
        #expect(mails.first?.contains("Subject: [batchgate] 7 manifests need attention (North)") == true)
        for number in 1...7 { #expect(mails.first?.contains("batch-\(number).json") == true) }
    }

    @Test func aMailRefusedForOneRecipientIsDeliveredAndTheRefusedOneIsNamed() throws {
        let folder = try TestFolder()
        let server = try SMTPTestServer(.startTLS, in: folder, user: "alerts", password: "pw", refusedRecipient: "left@plant.example")
        defer { server.stop() }
        let sink = DaemonConfig.AlertSink(
            name: "mail", type: .email, url: .inline(server.url),
            email: .init(from: "batchgate@plant.example", to: ["compliance@plant.example", "left@plant.example"],
                         username: "alerts", password: .inline("pw")))
        let fixture = try Fixture(sinks: [sink], transfer: folder.options)
        _ = try fixture.route()
        try #require(eventually { (try? server.deliveries().count) == 1 })
        #expect(try server.deliveries().first?.rcptTos == ["compliance@plant.example"])
        #expect(eventually { fixture.names("outbox") == ["dead"] }, "delivered, not retried")
        #expect(eventually { fixture.logText.contains("warning: delivered") && fixture.logText.contains("but not to left@plant.example: SMTP 250; the server refused left@plant.example (550") },
                "\(fixture.logText)")
    }
}
