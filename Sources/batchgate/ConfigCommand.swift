import ArgumentParser
import BatchgateCore
import BatchgateDaemon
import BatchgateConfig

/// `batchgate config`: work with the configuration file.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with the configuration file.",
        subcommands: [Check.self, Credentials.self]
    )

    /// `batchgate config check`: validates without running.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate a configuration file, the catalog files and the alert secrets it names, without running.",
            discussion: "Exit status: 0 when valid; 78 with a message naming the key and line when not."
        )

        @Option(help: ArgumentHelp("The YAML configuration file.", valueName: "file"))
        var config: String

        @Flag(help: "Print nothing when the configuration is valid (errors still go to standard error).")
        var quiet = false

        func run() throws {
            let settings: DaemonConfig
            do {
                (settings, _) = try ConfigFile.load(path: config)
                _ = try settings.catalog.load()
            } catch {
                ProcessEnvironment.writeError("batchgate: \(error)")
                throw ExitCode(78)
            }
            // The unit's ExecReload= runs this on every reload: only a refusal is worth a journal line.
            if quiet { return }
            var output = FileOutput.standardOutput
            output.write("""
                \(config): valid
                  state root:      \(settings.layout.root)
                  inbox:           \(settings.layout.inbox)
                  rescan interval: \(settings.rescanInterval == .zero ? "off" : DurationText.format(settings.rescanInterval))
                  quiet period:    \(DurationText.format(settings.quietPeriod))
                  fsync:           \(settings.fsync ? "on" : "off")
                  items file:      \(settings.catalog.items ?? "none")
                  packages file:   \(settings.catalog.packages ?? "none")
                  metrc:           \(settings.catalog.metrc.map { "\($0.server) licence \($0.licenseNumber), API \($0.apiVersion.rawValue), refresh \(DurationText.format($0.refresh)), at most \($0.requestsPerSecond) GETs/s and \($0.concurrentRequests) at once" } ?? "none")
                  item change:     \(settings.rules.itemChange.rawValue)
                  additive words:  \(listed(settings.rules.additiveWords, none: "none (only listed Additives count)"))
                  same-form steps: \(listed(settings.rules.sameFormSteps, none: "none (every step changes form)"))
                  metrics:         \(settings.metrics.map { "\($0.textfile), every \(DurationText.format($0.interval))" } ?? "off")
                  alert sinks:     \(settings.alerts.sinks.isEmpty ? "none" : String(settings.alerts.sinks.count))

                """)
            for sink in settings.alerts.sinks {
                let decisions = Decision.allCases.filter(sink.decisions.contains).map(\.rawValue).joined(separator: ", ")
                var line = "    \(sink.name): \(sink.type.rawValue), on \(decisions)"
                if sink.isRateLimited { line += ", at most one message every \(DurationText.format(sink.rateLimit))" }
                if sink.sendsDigests { line += ", a digest when more than \(sink.digestThreshold) wait" }
                if sink.signing != nil { line += ", signed" }
                output.write(line + "\n")
            }
            output.flush()
        }

        /// A list setting's entries with commas, or what an empty list means.
        private func listed(_ entries: [String], none: String) -> String {
            entries.isEmpty ? none : entries.joined(separator: ", ")
        }
    }
}
