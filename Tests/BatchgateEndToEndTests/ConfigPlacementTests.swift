import Dispatch
import Foundation
import Synchronization
import Testing

/// The binary refuses a state root or an inbox it must not run on, and config files that are not
/// regular files, at once and with a message naming the file, the line and the key.
///
/// Every run here is bounded: a binary that blocks (on a FIFO) or reads without end (from
/// `/dev/zero`) is killed and the test fails, instead of the test run hanging.
@Suite("Config placement and config files", .serialized)
struct ConfigPlacementTests {
    let fileManager = FileManager.default

    /// A fresh temporary folder with `batchgate.yaml` holding `yaml`.
    func folder(withConfig yaml: String) throws -> (folder: URL, config: URL) {
        let folder = try DaemonProcess.temporaryRoot()
        let config = folder.appendingPathComponent("batchgate.yaml")
        try Data(yaml.utf8).write(to: config)
        return (folder, config)
    }

    // MARK: Where the inbox may be

    /// The inbox as written in the config (relative to its folder, where the state root is
    /// `state`), and a piece of the reason it is refused.
    @Test(arguments: [
        ("state/accepted", "the daemon's own accepted/ folder"),
        ("state", "is the state root itself"),
        ("state/processing", "the daemon's own processing/ folder"),
        ("state//./rejected/../needs-batch/", "the daemon's own needs-batch/ folder"),
        ("state/outbox/dead/incoming", "the daemon's own outbox/dead/ folder"),
        ("drop-link", "the daemon's own accepted/ folder"),
    ])
    func configCheckRefusesAnInboxInTheDaemonsOwnFolders(inbox: String, reason: String) throws {
        let (folder, config) = try folder(withConfig: "stateRoot: state\ninbox: \(inbox)\n")
        defer { try? fileManager.removeItem(at: folder) }
        // A link to accepted/ is seen through: the folders it leads to decide.
        try fileManager.createDirectory(at: folder.appendingPathComponent("state/accepted"), withIntermediateDirectories: true)
        try fileManager.createSymbolicLink(atPath: folder.appendingPathComponent("drop-link").path, withDestinationPath: "state/accepted")

        let check = try BoundedRun(["config", "check", "--config", config.path])
        #expect(check.status == 78, "\(check)")
        #expect(check.standardError.contains("\(config.path), line 2, inbox: "), "\(check)")
        #expect(check.standardError.contains(reason), "\(check)")
        #expect(check.standardError.contains("leave inbox: out"), "says what to do: \(check)")
    }

    @Test func anInboxBesideTheDaemonsFoldersOrWithASimilarNameIsFine() throws {
        for inbox in ["state/inbox", "state/drop", "state/accepted-old", "elsewhere"] {
            let (folder, config) = try folder(withConfig: "stateRoot: state\ninbox: \(inbox)\n")
            defer { try? fileManager.removeItem(at: folder) }
            let check = try BoundedRun(["config", "check", "--config", config.path])
            #expect(check.status == 0, "\(inbox): \(check)")
        }
    }

    /// A daemon started on such a config would route its own output again and again (293 times
    /// in 8 s at `accepted/`): it must not start.
    @Test func runRefusesAnInboxInTheDaemonsOwnFolders() throws {
        let (folder, config) = try folder(withConfig: "stateRoot: state\ninbox: state/accepted\n")
        defer { try? fileManager.removeItem(at: folder) }
        let run = try BoundedRun(["run", "--config", config.path])
        #expect(run.status == 78, "\(run)")
        #expect(run.standardError.contains("line 2, inbox: "), "\(run)")
        #expect(!fileManager.fileExists(atPath: folder.appendingPathComponent("state/processing").path),
                "refused before any folder is made")
    }

    // MARK: Where the state root may be

    @Test(arguments: ["/", "/etc", "//usr/./", "/proc/batchgate", "/usr/local/batchgate", "root-link"])
    func configCheckRefusesAStateRootAtASystemFolder(stateRoot: String) throws {
        let (folder, config) = try folder(withConfig: "stateRoot: \(stateRoot)\n")
        defer { try? fileManager.removeItem(at: folder) }
        try fileManager.createSymbolicLink(atPath: folder.appendingPathComponent("root-link").path, withDestinationPath: "/")
        let check = try BoundedRun(["config", "check", "--config", config.path])
        #expect(check.status == 78, "\(check)")
        #expect(check.standardError.contains("\(config.path), line 1, stateRoot: "), "\(check)")
        #expect(check.standardError.contains("a folder of its own, such as /var/lib/batchgate"), "says what to do: \(check)")
    }

    /// `--root` under /proc: a folder the daemon can never create, so this stays harmless even if
    /// the check were gone (a run on `/` would fill the root folder).
    @Test func runWithARootUnderProcIsRefusedBeforeAnyFolderIsMade() throws {
        let run = try BoundedRun(["run", "--root", "/proc/batchgate-test"])
        #expect(run.status == 78, "\(run)")
        #expect(run.standardError.contains("--root /proc/batchgate-test: the state root cannot be under /proc"), "\(run)")
    }

    // MARK: Config files that are not regular files

    @Test func configCheckRefusesACatalogThatIsAFIFO() throws {
        let (folder, config) = try folder(withConfig: "stateRoot: state\ncatalog:\n  items: items.csv\n")
        defer { try? fileManager.removeItem(at: folder) }
        let items = folder.appendingPathComponent("items.csv").path
        #expect(mkfifo(items, 0o600) == 0)
        let check = try BoundedRun(["config", "check", "--config", config.path])
        #expect(check.status == 78, "\(check)")
        #expect(check.standardError.contains("the catalog file \(items) is a named pipe (FIFO), not a regular file"), "\(check)")
    }

    @Test func configCheckRefusesACatalogThatIsADevice() throws {
        let (folder, config) = try folder(withConfig: "stateRoot: state\ncatalog:\n  packages: /dev/zero\n")
        defer { try? fileManager.removeItem(at: folder) }
        // Capped at 1 GiB of address space, so that a binary reading /dev/zero without end dies
        // there instead of taking the machine's memory.
        let check = try BoundedRun(["config", "check", "--config", config.path], addressSpaceLimit: 1 << 30)
        #expect(check.status == 78, "\(check)")
        #expect(check.standardError.contains("the catalog file /dev/zero is a character device, not a regular file"),
                "\(check)")
    }

    @Test func configCheckRefusesAConfigFileThatIsAFIFO() throws {
        let folder = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: folder) }
        let config = folder.appendingPathComponent("batchgate.yaml").path
        #expect(mkfifo(config, 0o600) == 0)
        let check = try BoundedRun(["config", "check", "--config", config])
        #expect(check.status == 78, "\(check)")
        #expect(check.standardError.contains("\(config): the file is a named pipe (FIFO), not a regular file"), "\(check)")
    }

    @Test func runRefusesASecretFileThatIsAFIFO() throws {
        let yaml = """
            stateRoot: state
            alerts:
              sinks:
                - name: desk
                  type: webhook
                  url: {file: hook-url}

            """
        let (folder, config) = try folder(withConfig: yaml)
        defer { try? fileManager.removeItem(at: folder) }
        let secret = folder.appendingPathComponent("hook-url").path
        #expect(mkfifo(secret, 0o600) == 0)
        let run = try BoundedRun(["run", "--config", config.path])
        #expect(run.status == 78, "\(run)")
        #expect(run.standardError.contains("alerts.sinks[1].url: secret from file \(secret): "), "\(run)")
        #expect(run.standardError.contains("is a named pipe (FIFO), not a regular file"), "\(run)")
    }

    /// The reload runs on the thread that takes SIGTERM: a reload blocked on a FIFO used to leave
    /// the daemon deaf to SIGTERM.
    @Test func aReloadWithACatalogTurnedIntoAFIFOIsLoggedAndSIGTERMStillStopsTheDaemon() throws {
        let (folder, config) = try folder(withConfig: "stateRoot: state\nrescanInterval: 0\ncatalog:\n  items: items.csv\n")
        defer { try? fileManager.removeItem(at: folder) }
        let items = folder.appendingPathComponent("items.csv")
        try Data("Name,Category\nBlue Dream Buds,Buds\n".utf8).write(to: items)
        let daemon = DaemonProcess(root: folder.appendingPathComponent("state"), arguments: ["run", "--config", config.path])
        try daemon.start()

        try fileManager.removeItem(at: items)
        #expect(mkfifo(items.path, 0o600) == 0)
        daemon.signal(SIGHUP)
        #expect(waitUntil(timeout: 5) { daemon.log.contains("reload failed, keeping the running configuration") }, "\(daemon.log)")
        #expect(daemon.log.contains("\(items.path) is a named pipe (FIFO), not a regular file"), "\(daemon.log)")

        let started = Date()
        #expect(daemon.stop(timeout: 10) == 0, "\(daemon.log)")
        #expect(Date().timeIntervalSince(started) < 5, "stopped promptly")
    }
}

/// One run of the binary that may take at most `timeout` seconds: past that it is killed and the
/// test fails, so a binary that blocks cannot hang the test run.
struct BoundedRun: CustomStringConvertible {
    var status: Int32
    var standardOutput: String
    var standardError: String
    var seconds: Double

    /// Runs `batchgate` with `arguments` in the package's folder; with `addressSpaceLimit`, under
    /// that `ulimit -v` (in bytes).
    init(_ arguments: [String], timeout: Double = 10, addressSpaceLimit: Int? = nil,
         sourceLocation: SourceLocation = #_sourceLocation) throws {
        let process = Process()
        if let addressSpaceLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -v \(addressSpaceLimit / 1024) && exec \"$0\" \"$@\"",
                                 Executable.batchgate.path] + arguments
        } else {
            process.executableURL = Executable.batchgate
            process.arguments = arguments
        }
        process.currentDirectoryURL = Executable.packageRoot
        process.standardInput = FileHandle.nullDevice
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        let started = Date()
        try process.run()
        // Both pipes are read to their end while the process runs, so a large output cannot block it.
        let outputData = Mutex(Data()), errorData = Mutex(Data())
        let readers = DispatchGroup()
        DispatchQueue.global().async(group: readers) { outputData.withLock { $0 = output.fileHandleForReading.readDataToEndOfFile() } }
        DispatchQueue.global().async(group: readers) { errorData.withLock { $0 = error.fileHandleForReading.readDataToEndOfFile() } }
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
            Issue.record("batchgate \(arguments.joined(separator: " ")) still ran after \(timeout) s; killed",
                         sourceLocation: sourceLocation)
        }
        seconds = Date().timeIntervalSince(started)
        readers.wait()
        status = process.terminationStatus
        standardOutput = String(decoding: outputData.withLock { $0 }, as: UTF8.self)
        standardError = String(decoding: errorData.withLock { $0 }, as: UTF8.self)
    }

    var description: String {
        "exit \(status) after \(String(format: "%.1f", seconds)) s\nstderr: \(standardError)\nstdout: \(standardOutput)"
    }
}
