import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
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
        subcommands: [Test.self, Retry.self]
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

    /// `batchgate alert retry`: dead letters moved back into `outbox/`, and the running daemon told.
    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retry",
            abstract: "Move given-up alerts from outbox/dead/ back into outbox/, to be sent again.",
            discussion: """
                Each letter goes back as a new alert would: tried at once, with the full retries and \
                maximum age, in full (then, if refused, as its minimal version). A letter refused for \
                its content is said so: unless the receiver or the alert changed, it is refused again. \
                A running daemon is told (SIGUSR2) to send them now; otherwise they go at its next \
                start. A letter for a sink the configuration no longer has (or has as another type) \
                stays where it is: it would only die again. Run it as root or as the daemon's user.

                Exit status: 0 when every letter named is back, 1 when one was not found or could not \
                be moved, or the running daemon could not be told; 64 for neither ids nor --all (or \
                both), or an unknown --sink; 78 for a configuration that does not load.
                """
        )

        @Option(help: ArgumentHelp("The YAML configuration file.", valueName: "file"))
        var config: String

        @Option(help: ArgumentHelp("Only letters for this sink.", valueName: "name"))
        var sink: String?

        @Flag(help: "Every dead letter (of --sink, when given).")
        var all = false

        @Argument(help: ArgumentHelp("Dead letters, as batchgate status and the file names in outbox/dead/ show them (ID or ID.json).",
                                     valueName: "id"))
        var ids: [String] = []

        func validate() throws {
            if all && !ids.isEmpty { throw ValidationError("give ids or --all, not both") }
            if !all && ids.isEmpty { throw ValidationError("name the dead letters to send again (their ids), or give --all") }
        }

        func run() throws {
            let settings = try ConfigFile.loadConfigOrExit(path: config)
            let sinks = settings.alerts.sinks
            if let sink, !sinks.contains(where: { $0.name == sink }) {
                let names = sinks.isEmpty ? "it configures none" : "the sinks are " + sinks.map(\.name).joined(separator: ", ")
                ProcessEnvironment.writeError("batchgate: no sink named \(sink) in \(config); \(names)")
                throw ExitCode(64)
            }
            do {
                // As root, the rest runs as the state root's owner (the service's user): see the method.
                _ = try System.becomeOwner(of: settings.layout.root)
            } catch {
                ProcessEnvironment.writeError("batchgate: cannot act as the owner of \(settings.layout.root): \(error)")
                throw ExitCode(1)
            }
            let outbox: Outbox
            do {
                outbox = try Outbox(layout: settings.layout)
            } catch {
                ProcessEnvironment.writeError("batchgate: cannot open the outbox of \(settings.layout.root): \(error); has batchgate run with this configuration?")
                throw ExitCode(1)
            }
            var output = FileOutput.standardOutput
            var failures = 0
            func fail(_ message: String) {
                output.flush()
                ProcessEnvironment.writeError("batchgate: " + message)
                failures += 1
            }
            var letters: [DeadLetter] = []
            if all {
                do {
                    let found = try outbox.deadLetters()
                    letters = found.letters.filter { sink == nil || $0.sink == sink }
                    for name in found.unreadable { fail("\(settings.layout.outboxDead)/\(name) is not a dead letter batchgate can read; it is left as it is") }
                } catch {
                    fail(error.description)
                }
                if letters.isEmpty && failures == 0 {
                    output.write("no dead letters\(sink.map { " for \($0)" } ?? "") in \(settings.layout.outboxDead)\n")
                }
            } else {
                for id in ids {
                    do {
                        guard let letter = try outbox.deadLetter(id: id) else {
                            fail("no dead letter \(id) in \(settings.layout.outboxDead)")
                            continue
                        }
                        if let sink, letter.sink != sink {
                            fail("\(letter.id) is for the sink \(letter.sink), not \(sink); it stays in \(settings.layout.outboxDead)")
                            continue
                        }
                        letters.append(letter)
                    } catch {
                        fail(error.description)
                    }
                }
            }
            var moved = 0
            for letter in letters {
                guard let configured = sinks.first(where: { $0.name == letter.sink }), configured.type == letter.kind else {
                    let now = sinks.first { $0.name == letter.sink }.map { "is now a \($0.type.rawValue) sink, and it was written for a \(letter.kind.rawValue) one" }
                        ?? "is not configured in \(config)"
                    fail("\(letter.id) stays in \(settings.layout.outboxDead): its sink \(letter.sink) \(now), so it would only die again")
                    continue
                }
                do {
                    switch try outbox.requeue(letter, at: System.wallClock()) {
                    case .moved:
                        moved += 1
                        output.write(Self.movedLine(letter, outbox: outbox.folder) + "\n")
                    case .alreadyWaiting:
                        output.write("\(letter.id): already waiting in \(outbox.folder); its dead letter was removed\n")
                    }
                } catch {
                    fail(error.description)
                }
            }
            if moved > 0 {
                tellDaemon(settings.layout, output: &output, fail: fail)
            }
            output.flush()
            if failures > 0 { throw ExitCode(1) }
        }

        /// The line for a letter moved back: what it died of, and what that means for this try.
        static func movedLine(_ letter: DeadLetter, outbox: String) -> String {
            let answer = (letter.lastAnswer ?? "no answer recorded").prefix(400)
            switch letter.buriedFor {
            case .content:
                return "\(letter.id) was refused for its content by \(letter.sink) (\(answer)); it goes again in full — unless the receiver or the alert changed, it will be refused again"
            case .configuration:
                return "\(letter.id): back in \(outbox) for \(letter.sink); it was given up for the sink's setup (\(answer)): unless that was fixed, it is given up again"
            case .delivery, .unknown:
                return "\(letter.id): back in \(outbox) for \(letter.sink), to be sent again (it was given up: \(answer))"
            }
        }

        /// Tells the daemon that holds the state root to look at `outbox/` again (SIGUSR2), or says
        /// that none runs.
        func tellDaemon(_ layout: StateLayout, output: inout FileOutput, fail: (String) -> Void) {
            let holder: LockHolder
            do {
                let root = try System.open(layout.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                defer { System.close(root) }
                holder = try System.lockHolder(of: root, describing: layout.root, pidFile: layout.lockFile)
            } catch {
                fail("cannot tell whether batchgate runs on \(layout.root) (\(error)); if it does, `systemctl kill -s USR2 batchgate` makes it send them now, else they go at its next start")
                return
            }
            guard holder.held else {
                output.write("batchgate is not running on \(layout.root); they go at its next start\n")
                return
            }
            guard let pid = holder.pid else {
                fail("batchgate runs on \(layout.root), but neither the kernel nor \(layout.lockFile) says which process it is: `systemctl kill -s USR2 batchgate` makes it send them now, else they go at its next start")
                return
            }
            do {
                try System.sendSignal(SIGUSR2, to: pid)
                output.write("told batchgate (pid \(pid)) to send them now\n")
            } catch {
                let hint = error.errno == EPERM ? "; run this as root or as the daemon's user (sudo -u batchgate), or `systemctl kill -s USR2 batchgate`" : ""
                fail("cannot tell batchgate (pid \(pid)) to look at the outbox: \(error)\(hint); else they go at its next start")
            }
        }
    }
}
