import ArgumentParser
import BatchgateCore
import BatchgateDaemon
import BatchgateSystem
import BatchgateConfig
import BatchgateAlerts

/// `batchgate alert`: work with the alert sinks.
struct AlertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert",
        abstract: "Work with the alert sinks.",
        subcommands: [Test.self]
    )

    /// `batchgate alert test`: one test alert to each sink, and what each answered.
    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Send a test alert to each configured sink (or one) and print what each answered.",
            discussion: """
                The test alert is a needs-batch alert about a made-up manifest, marked as a test in \
                its summary, sent once (no retry) with the configured timeouts, headers and signature.

                Exit status: 0 when every sink took it, 1 when one did not, 78 for a configuration \
                that does not load (or has no sinks), 64 for an unknown --sink.
                """
        )

        @Option(help: ArgumentHelp("The YAML configuration file.", valueName: "file"))
        var config: String

        @Option(help: ArgumentHelp("Only this sink.", valueName: "name"))
        var sink: String?

        func run() throws {
            let settings: DaemonConfig
            let secrets: [String: SinkSecrets]
            do {
                // The sinks' secrets alone: testing alerts must not need the Metrc keys.
                settings = try ConfigFile.loadConfig(path: config)
                secrets = try settings.sinkSecrets(resolver: .system(), fileName: config)
            } catch {
                ProcessEnvironment.writeError("batchgate: \(error)")
                throw ExitCode(78)
            }
            var sinks = settings.alerts.sinks
            guard !sinks.isEmpty else {
                ProcessEnvironment.writeError("batchgate: \(config) configures no alert sink (alerts.sinks is empty)")
                throw ExitCode(78)
            }
            if let sink {
                guard let chosen = sinks.first(where: { $0.name == sink }) else {
                    let names = sinks.map(\.name).joined(separator: ", ")
                    ProcessEnvironment.writeError("batchgate: no sink named \(sink) in \(config); the sinks are \(names)")
                    throw ExitCode(64)
                }
                sinks = [chosen]
            }
            let planner = AlertPlanner(config: settings, layout: settings.layout)
            let message = Self.testMessage(planner: planner)
            let transport = LibcurlAlertTransport(host: planner.host)
            var output = FileOutput.standardOutput
            var failures = 0
            for sink in sinks {
                guard let secrets = secrets[sink.name] else { continue }
                let label = "\(sink.name) (\(sink.type.rawValue)):"
                // The minimal version under an id of its own, as the daemon sends it.
                let send = { (rendered: (body: String, subject: String?), suffix: String) -> (AlertAttemptResult, RetryPolicy.Verdict) in
                    let delivery = AlertDelivery(id: "\(message.id)-\(sink.name)\(suffix)", body: Array(rendered.body.utf8), subject: rendered.subject,
                                                 event: message.event, occurredAt: System.wallClock())
                    let result = transport.send(delivery, to: sink, secrets: secrets, options: settings.alerts)
                    return (result, RetryPolicy().verdict(after: result.attempt, attempt: 1, age: 0, jitter: 0))
                }
                let (result, verdict) = send(AlertPlanner.render(message, for: sink.type), "")
                switch verdict {
                case .delivered:
                    output.write("\(label) delivered — \(result.answer)\n")
                case .retry:
                    failures += 1
                    output.write("\(label) FAILED, the daemon would try again — \(result.answer)\n")
                case .refusedContent:
                    // As the daemon does: the minimal version once, and what became of it.
                    failures += 1
                    output.write("\(label) REFUSED — \(result.answer)\n")
                    let (minimal, second) = send(AlertPlanner.renderFallback(message, for: sink.type), "-minimal")
                    if case .delivered = second {
                        output.write("\(label) its minimal version was delivered (the daemon sends it when the full alert is refused) — \(minimal.answer)\n")
                    } else {
                        output.write("\(label) its minimal version was not delivered either; the daemon would give up — \(minimal.answer)\n")
                    }
                case .giveUp:
                    failures += 1
                    output.write("\(label) REFUSED, the daemon would give up at once — \(result.answer)\n")
                }
                output.flush()
            }
            if failures > 0 { throw ExitCode(1) }
        }

        /// A needs-batch alert about a made-up manifest (concentrate made from buds), marked as a test.
        static func testMessage(planner: AlertPlanner) -> AlertMessage {
            let manifest = """
                [{"Tag": "1A4FF0300000TEST00000001", "Item": "Test Live Resin", "ItemCategory": "Concentrate",
                  "Quantity": 1, "UnitOfMeasure": "Grams",
                  "Ingredients": [{"Package": "1A4FF0100000TEST00000001", "Quantity": 10, "UnitOfMeasure": "Grams",
                                   "ItemCategory": "Buds"}]}]
                """
            let name = "batchgate-alert-test.json"
            let report = ManifestChecker().check(fileName: name, bytes: Array(manifest.utf8))
            let now = System.wallClock()
            let route = RoutedManifest(id: "test-\(Int(now))", file: name, decision: report.decision,
                                       routedAt: Timestamp.iso8601(now))
            var message = planner.message(for: route, report: report)
            message.summary = "TEST ALERT from `batchgate alert test`, nothing to do. " + message.summary
            message.reportPath = "(a test alert has no report)"
            return message
        }
    }
}
