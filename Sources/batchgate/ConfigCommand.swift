import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
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
            discussion: """
                A secret written {credential: NAME} is read from $CREDENTIALS_DIRECTORY, which only \
                systemd sets. Outside systemd, --credentials with the unit's LoadCredential= value \
                reads each from the file systemd would load it from (NAME secrets_X from DIR/X), as \
                root, who alone can read that folder. Secrets are never printed.

                Exit status: 0 when valid; 78 with a message naming the key and line when not, or \
                naming the --credentials folder or file that cannot be read or loaded.
                """
        )

        @Option(help: ArgumentHelp("The YAML configuration file.", valueName: "file"))
        var config: String

        @Flag(help: "Print nothing when the configuration is valid (errors still go to standard error).")
        var quiet = false

        @Option(help: ArgumentHelp("""
            Read {credential: NAME} secrets from the files systemd would load from this \
            LoadCredential= value (the credential ID, a colon, the folder) instead of \
            $CREDENTIALS_DIRECTORY, to check outside systemd (as root).
            """, valueName: "id:dir"))
        var credentials: String?

        func run() throws {
            let resolver = try credentials.map(Self.resolver(loading:)) ?? .system()
            let settings: DaemonConfig
            do {
                (settings, _) = try ConfigFile.load(path: config, resolver: resolver)
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
            if let credentials { output.write("  credentials:     as systemd would load them from \(credentials)\n") }
            for sink in settings.alerts.sinks {
                let decisions = Decision.allCases.filter(sink.decisions.contains).map(\.rawValue).joined(separator: ", ")
                var line = "    \(sink.name): \(sink.type.rawValue), on \(decisions)"
                if sink.warnings && !(sink.alertsOn(.accepted) && sink.alertsOn(.needsBatch)) { line += " and check warnings" }
                if sink.isRateLimited { line += ", at most one message every \(DurationText.format(sink.rateLimit))" }
                if sink.sendsDigests { line += ", a digest when more than \(sink.digestThreshold) wait" }
                if sink.signing != nil { line += ", signed" }
                output.write(line + "\n")
            }
            output.write(Self.checkLevels(settings.rules.checks))
            output.flush()
        }

        /// The level of every pre-flight check, one a line in the order reports list them, a
        /// level other than the check's default marked with the default.
        static func checkLevels(_ checks: CheckSettings) -> String {
            let width = CheckID.allCases.map(\.rawValue.count).max() ?? 0
            var text = "  checks:          error rejects, warning reports and alerts, off skips\n"
            for check in CheckID.allCases {
                let level = checks.level(check)
                let padding = String(repeating: " ", count: width - check.rawValue.count)
                let changed = level == check.defaultLevel ? "" : String(repeating: " ", count: 8 - level.rawValue.count)
                    + "(changed; default \(check.defaultLevel.rawValue))"
                text += "    \(check.rawValue)\(padding)  \(level.rawValue)\(changed)\n"
            }
            return text
        }

        /// A resolver reading credentials from what systemd would load from `value` (`ID:DIR`),
        /// or exit 78 naming the option and what is wrong with the value or the folder.
        static func resolver(loading value: String) throws(ExitCode) -> SecretResolver {
            do {
                return try .system(credentialsFrom: CredentialSource(parsing: value))
            } catch {
                let message: String
                switch error {
                case .badSource(_, let reason): message = reason
                case .unreadableFolder(let failure) where failure.errno == EACCES: message = "\(error); run the check as root"
                case .unreadableFile(let failure) where failure.problem == .cannotOpen(errno: EACCES):
                    message = "\(error); run the check as root"
                default: message = "\(error)"
                }
                ProcessEnvironment.writeError("batchgate: --credentials \(value): \(message)")
                throw ExitCode(78)
            }
        }

        /// A list setting's entries with commas, or what an empty list means.
        private func listed(_ entries: [String], none: String) -> String {
            entries.isEmpty ? none : entries.joined(separator: ", ")
        }
    }
}
