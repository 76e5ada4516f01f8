import ArgumentParser
import BatchgateDaemon

/// `batchgate config`: work with the configuration file.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with the configuration file.",
        subcommands: [Check.self]
    )

    /// `batchgate config check`: validates without running.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate a configuration file and the catalog files it names, without running.",
            discussion: "Exit status: 0 when valid; 78 with a message naming the key and line when not."
        )

        @Option(help: ArgumentHelp("The YAML configuration file.", valueName: "file"))
        var config: String

        func run() throws {
            let settings: DaemonSettings
            do {
                settings = try ConfigFile.load(path: config)
                _ = try CatalogFiles.load(items: settings.itemsFile, packages: settings.packagesFile)
            } catch {
                ProcessEnvironment.writeError("batchgate: \(error)")
                throw ExitCode(78)
            }
            var output = FileOutput.standardOutput
            output.write("""
                \(config): valid
                  state root:      \(settings.layout.root)
                  inbox:           \(settings.layout.inbox)
                  rescan interval: \(settings.rescanInterval == 0 ? "off" : seconds(settings.rescanInterval))
                  settle time:     \(seconds(settings.settleTime))
                  fsync:           \(settings.syncToDisk ? "on" : "off")
                  items file:      \(settings.itemsFile ?? "none")
                  packages file:   \(settings.packagesFile ?? "none")

                """)
            output.flush()
        }

        private func seconds(_ value: Double) -> String {
            value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
        }
    }
}
