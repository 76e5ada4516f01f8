import ArgumentParser
import BatchgateCore
import BatchgateDaemon
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import BatchgateSystem
import BatchgateConfig

/// `batchgate run`: the long-running service.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Watch the inbox and route every manifest dropped there.",
        discussion: """
            With --config, everything comes from the YAML file (see config/batchgate.yaml). With \
            --root, the daemon runs on defaults in that folder: inbox/, processing/, accepted/, \
            needs-batch/, rejected/ and outbox/ are created when missing, and alerts are off.

            Exit status: 0 after SIGTERM or SIGINT, 78 when the configuration or the folders do \
            not allow a start (the message says why), 64 for a usage error.
            """
    )

    @Option(help: ArgumentHelp("The YAML configuration file.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Run on defaults with this state folder (default ./var), no config file.",
                               valueName: "dir"))
    var root: String?

    func validate() throws {
        if config != nil && root != nil { throw ValidationError("give --config or --root, not both") }
    }

    func run() throws {
        // Before any thread exists, so that every thread inherits the mask (see the method).
        Daemon.blockHandledSignals()
        let environment = ProcessEnvironment.current
        let settings: DaemonConfig
        let secrets: ConfigSecrets
        do {
            (settings, secrets) = try SettingsSource(configPath: config, root: root).load()
        } catch {
            // Through the log, at error: under systemd its priority prefix is what lets
            // `journalctl -p err` show why the service did not start.
            Logger(environment: environment).error("cannot start: \(error)")
            throw ExitCode(78)
        }
        let log = Logger(level: settings.log.level, environment: environment)
        let source = SettingsSource(configPath: config, root: root)
        var reloader: Daemon.Reloader?
        if config != nil {
            reloader = { try source.load() }
        }
        let daemon = Daemon(settings: settings, secrets: secrets, environment: environment, log: log, reloader: reloader,
                            version: Batchgate.configuration.version)
        do {
            try daemon.start()
        } catch {
            log.error("cannot start: \(error)")
            throw ExitCode(78)
        }
        daemon.waitForSignals()
    }
}

/// Where the daemon's settings come from: the config file, or defaults under a root folder.
struct SettingsSource: Sendable {
    var configPath: String?
    var root: String?

    /// The configuration and its secrets (none without a config file: alerts and Metrc are off).
    func load() throws -> (DaemonConfig, ConfigSecrets) {
        if let configPath { return try ConfigFile.load(path: configPath) }
        let stateRoot = root ?? DaemonConfig.defaultStateRoot
        if let problem = LayoutPlacement.problem(stateRoot: stateRoot, inbox: nil, canonical: System.canonicalPath) {
            let given = root.map { "--root \($0)" } ?? "the default state root \(stateRoot) (give --root DIR)"
            throw StartupError("\(given): \(problem.reason)")
        }
        return (DaemonConfig.defaults(stateRoot: stateRoot), ConfigSecrets())
    }
}

/// The process environment as a dictionary, and error output.
enum ProcessEnvironment {
    static var current: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }

    /// Writes `message` to standard error, each of its lines starting with journald's error
    /// priority `<3>` when standard error is the journal, so that `journalctl -p err` shows why a
    /// command failed (a reload's check refusing it, among others).
    static func writeError(_ message: String) {
        var text = message
        if errorsGoToJournal {
            text = message.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.isEmpty ? "" : "<3>" + $0 }.joined(separator: "\n")
        }
        var output = FileOutput.standardError
        output.write(text + "\n")
        output.flush()
    }

    /// Whether standard error is the journal's stream (the one test ``Logger`` uses too).
    static let errorsGoToJournal = System.writesToJournal(STDERR_FILENO, environment: current)
}
