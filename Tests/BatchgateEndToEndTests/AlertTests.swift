import Foundation
import Testing
import TestSupport

/// The daemon binary sending alerts to a receiver on loopback: digests for a burst, routing never
/// held up by a hung endpoint, delivery resumed after kill -9, and `batchgate alert test`.
@Suite("Alerts from the daemon", .serialized)
struct AlertTests {
    let fileManager = FileManager.default

    /// A config file for `root` with these sinks (YAML list items, indented by the caller).
    func writeConfig(root: URL, sinks: String, alerts extra: String = "") throws -> String {
        let path = root.appendingPathComponent("batchgate.yaml").path
        let yaml = """
            stateRoot: \(root.path)
            facility:
              name: North Plant
              licenseNumber: PR-000123
            alerts:
            \(extra)  sinks:
            \(sinks)
            """
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func drop(_ count: Int, into daemon: DaemonProcess, needsBatch: Bool = true, prefix: String = "m") throws {
        let staging = daemon.root.appendingPathComponent("staging")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        for number in 1...count {
            let name = "\(prefix)-\(number).json"
            try manifest(number, needsBatch: needsBatch).write(to: staging.appendingPathComponent(name))
            #expect(rename(staging.appendingPathComponent(name).path, daemon.inbox.appendingPathComponent(name).path) == 0)
        }
    }

    /// Alert files waiting in outbox/ (not dead/, not drafts).
    func waiting(_ daemon: DaemonProcess) -> [String] {
        daemon.names(in: "outbox").filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
    }

    @Test func aBurstOfFiftyNeedingBatchesMakesADigestInSlack() throws {
        let server = try LoopbackHTTPServer()
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = try writeConfig(root: root, sinks: """
                - name: compliance-slack
                  type: slack
                  url: http://127.0.0.1:\(server.port)/slack
            """)
        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try daemon.start()
        try drop(50, into: daemon)
        #expect(waitUntil(timeout: 30) { daemon.manifests(in: "needs-batch").count == 50 })
        #expect(waitUntil(timeout: 30) { waiting(daemon).isEmpty }, "every alert delivered:\n\(daemon.log)")
        let bodies = server.requests.map { String(decoding: $0.body, as: UTF8.self) }
        // At most one alert alone (the first, before the rest arrived) and the rest as digests:
        // Slack's default rate of one message a second leaves time for them to gather.
        #expect(bodies.count <= 3, "\(bodies.count) posts for 50 alerts")
        #expect(bodies.contains { $0.contains("manifests need attention") })
        for number in 1...50 {
            #expect(bodies.contains { $0.contains("m-\(number).json ") }, "m-\(number).json in a post")
        }
        let times = server.requests.map(\.at)
        for (later, earlier) in zip(times.dropFirst(), times) {
            #expect(later.timeIntervalSince(earlier) >= 0.95, "one message a second at most")
        }
        #expect(daemon.stop() == 0)
    }

    @Test func aHungWebhookNeverHoldsUpRouting() throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .hang)
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = try writeConfig(root: root, sinks: """
                - name: desk
                  type: webhook
                  url: http://127.0.0.1:\(server.port)/desk
            """, alerts: "  timeout: 60s\n")
        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try daemon.start()
        try drop(200, into: daemon)
        let started = Date()
        #expect(waitUntil(timeout: 20) { daemon.manifests(in: "needs-batch").count == 200 })
        #expect(Date().timeIntervalSince(started) < 30, "routed while the endpoint hangs (60 s timeout)")
        #expect(waitUntil(timeout: 5) { waiting(daemon).count == 200 }, "every alert waits in the outbox")
        #expect(server.requests.count <= 1, "one transfer at a time per sink")
        #expect(daemon.stop() == 0)
    }

    @Test func alertsWaitingAtKillMinusNineAreAllDeliveredAfterRestart() throws {
        let server = try LoopbackHTTPServer()
        // Failing without Retry-After: backoff from 1 s, so the next attempts are a few seconds out
        // when the daemon dies (a Retry-After would be honoured across the restart too).
        server.reply(with: .answer(status: 500, body: "maintenance"))
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = try writeConfig(root: root, sinks: """
                - name: desk
                  type: webhook
                  url: http://127.0.0.1:\(server.port)/desk
                  signing:
                    secret: shared-secret
            """)
        let first = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try first.start()
        try drop(30, into: first)
        #expect(waitUntil(timeout: 30) { first.manifests(in: "needs-batch").count == 30 && waiting(first).count == 30 })
        first.crash()
        usleep(300_000)  // a request sent just before the kill is recorded by now
        let failedAttempts = server.requests.count
        #expect(failedAttempts >= 1, "the endpoint was tried and answered 500")

        server.reply(with: .answer(status: 200))
        let second = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try second.start()
        #expect(waitUntil(timeout: 60) { waiting(second).isEmpty }, "delivered after the restart:\n\(second.log)")
        let delivered = server.requests.dropFirst(failedAttempts)
        let keys = delivered.compactMap { $0.headers["idempotency-key"] }
        #expect(keys.count == 30 && Set(keys).count == 30, "each alert once, under its own key")
        let audited = Set(second.auditLines().compactMap { $0["id"] as? String })
        #expect(Set(keys.map { String($0.prefix { $0 != "-" }) }) == audited, "each key is a routed manifest's id")
        #expect(second.names(in: "outbox/dead").isEmpty)
        #expect(second.log.contains("resuming delivery of 30 alert(s)"))
        #expect(second.stop() == 0)
    }

    @Test func aReceiverThatRefusesTheFullAlertGetsItsMinimalVersion() throws {
        let server = try LoopbackHTTPServer()
        // As Slack answers a block it will not take; the plain version that follows is taken.
        server.script([.answer(status: 400, body: "invalid_blocks")])
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = try writeConfig(root: root, sinks: """
                - name: compliance-slack
                  type: slack
                  url: http://127.0.0.1:\(server.port)/slack
            """)
        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try daemon.start()
        try drop(1, into: daemon)
        #expect(waitUntil(timeout: 30) { server.requests.count == 2 && waiting(daemon).isEmpty }, "\(daemon.log)")
        let bodies = try server.requests.map { try #require(JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any]) }
        #expect(bodies[0]["blocks"] != nil)
        #expect(bodies[1].keys.sorted() == ["mrkdwn", "text"], "the minimal version is the notification text alone, not mrkdwn")
        let text = try #require(bodies[1]["text"] as? String)
        #expect(text.contains("m-1.json") && text.contains("needs-batch/m-1.json.report.txt"), "\(text)")
        let keys = server.requests.map { $0.headers["idempotency-key"] ?? "" }
        #expect(keys[1] == keys[0] + "-minimal", "the minimal version under a key of its own: \(keys)")
        #expect(daemon.names(in: "outbox/dead").isEmpty)
        #expect(waitUntil(timeout: 5) { daemon.log.contains("delivered the minimal version of alert") }, "\(daemon.log)")
        #expect(daemon.log.contains("compliance-slack refused alert") && daemon.log.contains("HTTP 400: invalid_blocks; sending its minimal version instead"))
        #expect(daemon.stop() == 0)
    }

    @Test func alertTestReportsWhatEachSinkAnswered() throws {
        let server = try LoopbackHTTPServer()
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let refusing = try LoopbackHTTPServer()
        refusing.reply(with: .answer(status: 404, body: "no such hook"))
        let config = try writeConfig(root: root, sinks: """
                - name: chat
                  type: slack
                  url: http://127.0.0.1:\(server.port)/slack
                - name: team
                  type: teams
                  url: http://127.0.0.1:\(server.port)/teams
                - name: old-desk
                  type: webhook
                  url: http://127.0.0.1:\(refusing.port)/gone
            """)
        let all = try Executable.run(["alert", "test", "--config", config])
        #expect(all.status == 1)
        #expect(all.standardOutput.contains("chat (slack): delivered — HTTP 200"))
        #expect(all.standardOutput.contains("team (teams): delivered — HTTP 200"))
        #expect(all.standardOutput.contains("old-desk (webhook): REFUSED — HTTP 404: the webhook URL is wrong or was deleted: check the sink's url (no such hook)"),
                "\(all.standardOutput)")
        #expect(all.standardOutput.contains("old-desk (webhook): its minimal version was not delivered either; the daemon would give up — HTTP 404: the webhook URL is wrong or was deleted: check the sink's url (no such hook)"))
        #expect(refusing.requests.count == 2, "the full alert, then its minimal version")
        #expect(server.requests.map(\.path).sorted() == ["/slack", "/teams"])
        #expect(server.requests.allSatisfy { String(decoding: $0.body, as: UTF8.self).contains("TEST ALERT") })

        let one = try Executable.run(["alert", "test", "--config", config, "--sink", "chat"])
        #expect(one.status == 0)
        #expect(server.requests.count == 3)

        let unknown = try Executable.run(["alert", "test", "--config", config, "--sink", "nope"])
        #expect(unknown.status == 64)
        #expect(unknown.standardError.contains("no sink named nope"))
        #expect(unknown.standardError.contains("chat, team, old-desk"))
    }

    // MARK: Secrets in answers

    static let slackToken = "fakeSlackToken1234567890"
    static let bearer = "desk-token-0123456789"
    static let signingKey = "hook-signing-key-42"

    /// A Slack sink whose URL carries its secret in the path, and a webhook with a bearer token
    /// and a signing key, both on `server`.
    func echoedSinks(_ server: LoopbackHTTPServer) -> String {
        """
            - name: chat
              type: slack
              url: http://127.0.0.1:\(server.port)/services/T0AAAAAAA/B0BBBBBBB/\(Self.slackToken)
            - name: desk
              type: webhook
              url: http://127.0.0.1:\(server.port)/desk
              headers:
                Authorization: Bearer \(Self.bearer)
              signing:
                secret: \(Self.signingKey)
        """
    }

    /// Whether `text` holds none of the secrets of ``echoedSinks(_:)``.
    func expectNoSecret(in text: String, _ what: String) {
        for secret in [Self.slackToken, "T0AAAAAAA", Self.bearer, Self.signingKey] {
            #expect(!text.contains(secret), "\(secret) in \(what):\n\(text)")
        }
    }

    @Test func anEchoingEndpointGetsNoSecretIntoTheLogOrTheDeadLetters() throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .echo(status: 400))  // refused: each alert is dead-lettered at once
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = try writeConfig(root: root, sinks: echoedSinks(server))
        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try daemon.start()
        try drop(1, into: daemon)
        #expect(waitUntil(timeout: 30) { daemon.names(in: "outbox/dead").filter { $0.hasSuffix(".json") }.count == 2 },
                "both alerts given up:\n\(daemon.log)")
        #expect(waitUntil(timeout: 5) { daemon.log.components(separatedBy: "gave up on alert").count == 3 })
        #expect(daemon.stop() == 0)
        // Each refused, then its minimal version refused too.
        #expect(server.requests.map(\.path).sorted() == ["/desk", "/desk", "/services/T0AAAAAAA/B0BBBBBBB/\(Self.slackToken)",
                                                          "/services/T0AAAAAAA/B0BBBBBBB/\(Self.slackToken)"])
        #expect(server.requests.contains { $0.headers["authorization"] == "Bearer \(Self.bearer)" }, "the echo had the token to send back")

        expectNoSecret(in: daemon.log, "the daemon's log")
        #expect(daemon.log.contains("HTTP 400: {\"url\": \"[redacted]\"}"), "the answer is logged, scrubbed:\n\(daemon.log)")
        #expect(daemon.log.contains("Authorization: [redacted]"))
        for name in daemon.names(in: "outbox/dead") where name.hasSuffix(".json") {
            let letter = try String(contentsOf: root.appendingPathComponent("outbox/dead/" + name), encoding: .utf8)
            expectNoSecret(in: letter, name)
            #expect(letter.contains("[redacted]"), "the answer is kept, scrubbed: \(letter)")
        }
    }

    @Test func alertTestPrintsAnEchoedAnswerWithoutTheSecrets() throws {
        let server = try LoopbackHTTPServer()
        server.reply(with: .echo(status: 400))
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = try writeConfig(root: root, sinks: echoedSinks(server))
        let result = try Executable.run(["alert", "test", "--config", config])
        #expect(result.status == 1)
        #expect(server.requests.count == 4, "each sink's alert and its minimal version")
        expectNoSecret(in: result.standardOutput + result.standardError, "alert test's output")
        #expect(result.standardOutput.contains("chat (slack): REFUSED — HTTP 400: {\"url\": \"[redacted]\"}"),
                "\(result.standardOutput)")
        #expect(result.standardOutput.contains("Authorization: [redacted]"), "\(result.standardOutput)")
    }
}

/// Webhook requests as receivers' own libraries read them: the CloudEvents SDK and Standard
/// Webhooks' verifier (Tests/TestSupport/webhook_check.py).
extension AlertTests {
    /// The requests as the checker takes them.
    static func webhookCheckerInput(_ requests: [LoopbackHTTPServer.Request], secret: String?) throws -> Data {
        let list = requests.map { request -> [String: Any] in
            ["headers": request.headers, "body_base64": request.body.base64EncodedString(), "secret": secret as Any]
        }
        return try JSONSerialization.data(withJSONObject: list)
    }

    @Test func theDaemonsWebhookRequestsAreCloudEventsWithAStandardWebhooksSignature() throws {
        try PythonTool.requirePackages(["cloudevents.http", "standardwebhooks.webhooks"])
        let server = try LoopbackHTTPServer()
        let root = try DaemonProcess.temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let config = try writeConfig(root: root, sinks: """
                - name: desk
                  type: webhook
                  url: http://127.0.0.1:\(server.port)/desk
                  decisions: [needs-batch, rejected, accepted]
                  signing:
                    secret: \(Self.signingKey)
            """)
        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try daemon.start()
        try drop(2, into: daemon)
        try drop(1, into: daemon, needsBatch: false, prefix: "ok")
        #expect(waitUntil(timeout: 30) { server.requests.count == 3 }, "\(daemon.log)")
        #expect(daemon.stop() == 0)
        let requests = server.requests
        #expect(Set(requests.compactMap { $0.headers["ce-type"] }) == ["batchgate.manifest.needs-batch", "batchgate.manifest.accepted"])

        let checked = try PythonTool.run("webhook_check.py", input: Self.webhookCheckerInput(requests, secret: Self.signingKey))
        #expect(checked.status == 0, "\(checked.output)")
        #expect(checked.output.contains("3 request(s) checked, 0 problem(s)"), "\(checked.output)")

        // The checker can fail: a wrong key, and a body changed on the way.
        let wrongKey = try PythonTool.run("webhook_check.py", input: Self.webhookCheckerInput(requests, secret: "another key"))
        #expect(wrongKey.status == 1 && wrongKey.output.contains("No matching signature found"), "\(wrongKey.output)")
        var tampered = requests[0]
        tampered.body = Data(#"{"event": "manifest.accepted"}"#.utf8)
        let changed = try PythonTool.run("webhook_check.py", input: Self.webhookCheckerInput([tampered], secret: Self.signingKey))
        #expect(changed.status == 1 && changed.output.contains("verification failed"), "\(changed.output)")
        var bare = requests[0]
        bare.headers["ce-source"] = nil
        let unsourced = try PythonTool.run("webhook_check.py", input: Self.webhookCheckerInput([bare], secret: nil))
        #expect(unsourced.status == 1 && unsourced.output.contains("not a CloudEvent"), "\(unsourced.output)")
    }
}

/// The daemon against receivers that refuse what Slack, Teams and a strict mail server refuse:
/// hostile manifests dropped as a user would, every alert taken in its full form.
extension AlertTests {
    /// Manifests a hostile or unlucky writer makes, by file name: decomposed accents, emoji and
    /// markup in names, 300 packages, 300 sources, control characters.
    static func hostileManifests() throws -> [(name: String, bytes: Data)] {
        let decomposed = String(repeating: "Cre\u{301}me bru\u{302}le\u{301}e 👨‍👩‍👧‍👦 ", count: 8)
        func package(_ index: Int, item: String, category: String, sources: Int) -> [String: Any] {
            ["Tag": String(format: "1A4FF03000000220000%05d", index), "Item": item, "ItemCategory": category, "Quantity": 1,
             "UnitOfMeasure": "Each",
             "Ingredients": (0..<sources).map { ["Package": String(format: "1A4FF01000000220%08d", index * 1_000 + $0),
                                                 "ItemCategory": $0 % 2 == 0 ? "Buds" : "Shake/Trim", "Quantity": 1, "UnitOfMeasure": "Grams"] }]
        }
        func json(_ packages: [[String: Any]]) throws -> Data { try JSONSerialization.data(withJSONObject: packages) }
        let markup = "<!here> <!channel> [Portal](https://evil.example) *bold* `code` &amp; _i_"
        return [
            (String(String(repeating: "Re\u{301}colte-", count: 30).utf8.prefix(200))! + ".json",
             try json((0..<300).map { package($0, item: decomposed + "\($0)", category: "Concentrate", sources: 2) })),
            ("<!here> *run* `x`.json", try json((0..<4).map { package($0, item: markup, category: markup, sources: 2) })),
            ("🌿🔥 preroll.json", try json([package(0, item: "Infused Pre-Roll 1g", category: "Pre-Roll Infused", sources: 300)])),
            ("controls.json", try json([package(0, item: "Resin\r\nFix: none\u{1B}[31m\u{0}", category: "Vape Cartridge\u{2028}x", sources: 3)])),
            ("not a manifest <!channel>.json", Data(("{\"Packages\": [" + String(repeating: "<!channel> ", count: 300)).utf8)),
        ]
    }

    @Test func hostileManifestsReachEveryReceiverInTheirFullForm() throws {
        let receiver = try ValidatingReceiver()
        let folder = try TestFolder()
        let mail = try SMTPTestServer(.plain, in: folder)
        defer { mail.stop() }
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = try writeConfig(root: root, sinks: """
                - name: slack
                  type: slack
                  url: \(receiver.url("/slack"))
                  rateLimit: off
                - name: teams
                  type: teams
                  url: \(receiver.url("/teams"))
                - name: mail
                  type: email
                  url: \(mail.url)
                  starttls: false
                  from: batchgate@plant.example.com
                  to: [compliance@plant.example.com]
            """)
        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try daemon.start()
        let manifests = try Self.hostileManifests()
        let staging = root.appendingPathComponent("staging")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        for (name, bytes) in manifests {
            try bytes.write(to: staging.appendingPathComponent(name))
            #expect(rename(staging.appendingPathComponent(name).path, daemon.inbox.appendingPathComponent(name).path) == 0)
        }
        #expect(waitUntil(timeout: 60) {
            daemon.manifests(in: "needs-batch").count + daemon.manifests(in: "rejected").count == manifests.count
                && waiting(daemon).isEmpty && !daemon.names(in: "outbox").contains { $0.hasPrefix(".") }
        }, "\(daemon.log)")
        #expect(daemon.stop() == 0)

        let records = receiver.records
        for record in records {
            #expect(record.status < 300, "\(record.path) refused: \(record.problems.prefix(5).joined(separator: "; "))")
        }
        // Each manifest was told to Slack and Teams, alone or in a digest, in its full form.
        for path in ["/slack", "/teams"] {
            let bodies = records.filter { $0.path == path }.map(\.body)
            #expect(!bodies.isEmpty && bodies.allSatisfy { $0.contains(path == "/slack" ? "\"blocks\"" : "AdaptiveCard") }, "\(path)")
        }
        let mails = try mail.deliveries()
        #expect(!mails.isEmpty)
        #expect(mails.allSatisfy { $0.data.allSatisfy { $0 < 0x80 } }, "7-bit mail")
        #expect(!daemon.log.contains("refused"), "no alert needed its minimal version:\n\(daemon.log)")
        #expect(daemon.names(in: "outbox/dead").isEmpty)
    }

    @Test func aReceiverThatRefusesBlocksGetsTheMinimalVersionOfAHostileAlert() throws {
        let receiver = try ValidatingReceiver()
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = try writeConfig(root: root, sinks: """
                - name: strict
                  type: slack
                  url: \(receiver.url("/blocks-refused"))
            """)
        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try daemon.start()
        let (name, bytes) = try Self.hostileManifests()[1]
        try bytes.write(to: root.appendingPathComponent(name))
        #expect(rename(root.appendingPathComponent(name).path, daemon.inbox.appendingPathComponent(name).path) == 0)
        #expect(waitUntil(timeout: 30) { receiver.records.count == 2 && waiting(daemon).isEmpty }, "\(daemon.log)")
        #expect(daemon.stop() == 0)
        let records = receiver.records
        #expect(records.map(\.status) == [400, 200])
        #expect(records[1].body.contains("&lt;!here&gt; *run* `x`.json"), "the file named, escaped: \(records[1].body)")
        #expect(daemon.names(in: "outbox/dead").isEmpty)
    }
}
