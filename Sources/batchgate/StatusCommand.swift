import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import BatchgateConfig
import BatchgateStatus
import BatchgateSystem

/// `batchgate status`: what the daemon on a state root is doing, read from the state root alone.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show whether the daemon runs, what it routed, what waits and what failed.",
        discussion: """
            Reads the state root only: it never takes the daemon's lock and never writes, so it \
            runs beside the daemon, as its user or as root. Shows whether a daemon holds the \
            state root (its pid and start), manifests routed per decision in the last hour, the \
            last day and since the start (from audit.jsonl, and audit.jsonl.1 when the day \
            reaches back into it), files waiting in the inbox and processing/, alerts waiting and \
            dead letters per sink, and how fresh the catalog synced from Metrc is. What cannot \
            be read (a folder this user may not list) is named, and the rest is shown.

            Exit status, as LSB status commands: 0 when the daemon runs; 3 when it does not; 4 \
            when that cannot be told (the state root is missing or this user cannot open it, or \
            no way to see its lock: the message says which); 78 when the configuration cannot \
            be read; 64 for a usage error.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: ArgumentHelp("The YAML configuration file (default: /etc/batchgate/batchgate.yaml when there is one and no --root).",
                               valueName: "file"))
    var config: String?

    /// The configuration the packaged service runs on: what a sysadmin who types `batchgate status`
    /// on the server means, rather than `./var` in whatever folder the shell is in.
    static let installedConfig = "/etc/batchgate/batchgate.yaml"

    @Option(help: ArgumentHelp("Read this state folder (default ./var) as `run --root` runs on it, no config file.",
                               valueName: "dir"))
    var root: String?

    @Option(help: "Output: text for a person, json for one JSON object (see the man page for its shape).")
    var format: Format = .text

    func validate() throws {
        if config != nil && root != nil { throw ValidationError("give --config or --root, not both") }
    }

    func run() throws {
        // Secrets are not read: status needs none, and may run as a user who cannot read them.
        let path = config ?? (root == nil && access(Self.installedConfig, F_OK) == 0 ? Self.installedConfig : nil)
        let settings = try path.map { path throws(ExitCode) in try ConfigFile.loadConfigOrExit(path: path) }
            ?? DaemonConfig.defaults(stateRoot: root ?? DaemonConfig.defaultStateRoot)
        let status: ServiceStatus
        do {
            status = try StatusReader(config: settings).read(now: System.wallClock())
        } catch {
            ProcessEnvironment.writeError("batchgate: \(error)")
            // LSB's "status unknown": a script asking "does it run?" must not read 3 (no) when the
            // answer is "cannot see".
            throw ExitCode(4)
        }
        var output = FileOutput.standardOutput
        output.write(format == .json ? StatusJSON.render(status) : StatusText.render(status))
        output.flush()
        if !status.daemon.running { throw ExitCode(3) }
    }
}
