import Foundation
import Testing

/// `batchgate config credentials`, as the unit's `ExecReload=` runs it: the built binary with a
/// `CREDENTIALS_DIRECTORY` and a source folder of real files, its exit status and what it says.
@Suite("batchgate config credentials")
struct CredentialsCommandTests {
    let fileManager = FileManager.default

    /// What `JOURNAL_STREAM` says of the child's standard error.
    enum JournalStream {
        /// Not set.
        case unset
        /// The device and inode of the file standard error is: the journal, as far as the child can tell.
        case matching
        /// The right device, another inode: inherited from a service by a process writing elsewhere.
        case otherInode
    }

    /// Runs the binary with this process's environment less anything systemd might have set,
    /// plus `environment`, its standard error into a file so that `journal` can name that file.
    static func run(_ arguments: [String], environment: [String: String] = [:], journal: JournalStream = .unset) throws -> Executable.Result {
        let errorPath = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-stderr-\(UUID().uuidString)").path
        try #require(FileManager.default.createFile(atPath: errorPath, contents: nil))
        defer { unlink(errorPath) }
        let errorFile = try #require(FileHandle(forWritingAtPath: errorPath))
        var info = stat()
        try #require(fstat(errorFile.fileDescriptor, &info) == 0)

        var merged = ProcessInfo.processInfo.environment
        for name in ["JOURNAL_STREAM", "CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET"] { merged.removeValue(forKey: name) }
        merged.merge(environment) { $1 }
        switch journal {
        case .unset: break
        case .matching: merged["JOURNAL_STREAM"] = "\(info.st_dev):\(info.st_ino)"
        case .otherInode: merged["JOURNAL_STREAM"] = "\(info.st_dev):\(info.st_ino + 1)"
        }
        let process = Process()
        process.executableURL = Executable.batchgate
        process.arguments = arguments
        process.environment = merged
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errorFile
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try errorFile.close()
        return Executable.Result(status: process.terminationStatus,
                                 standardOutput: String(decoding: outputData, as: UTF8.self),
                                 standardError: try String(contentsOfFile: errorPath, encoding: .utf8))
    }

    /// A source folder and a service's credentials folder (named as systemd names it), both empty,
    /// under a fresh temporary folder the caller removes.
    func folders() throws -> (base: URL, source: URL, loaded: URL) {
        let base = try DaemonProcess.temporaryRoot()
        let source = base.appendingPathComponent("credentials")
        let loaded = base.appendingPathComponent("run/batchgate.service")
        try fileManager.createDirectory(at: source, withIntermediateDirectories: true)
        try fileManager.createDirectory(at: loaded, withIntermediateDirectories: true)
        return (base, source, loaded)
    }

    func write(_ text: String, _ path: String, in folder: URL) throws {
        let url = folder.appendingPathComponent(path)
        try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// The source holding a webhook URL and a mail password, and the service started with them
    /// (and with a credential of another ID).
    func started() throws -> (base: URL, source: URL, loaded: URL) {
        let folders = try folders()
        try write("https://hooks.example/OLD-WEBHOOK-VALUE", "webhook", in: folders.source)
        try write("OLD-MAIL-PASSWORD", "mail/password", in: folders.source)
        try write("https://hooks.example/OLD-WEBHOOK-VALUE", "secrets_webhook", in: folders.loaded)
        try write("OLD-MAIL-PASSWORD", "secrets_mail_password", in: folders.loaded)
        try write("METRC-KEY-VALUE", "metrc_key", in: folders.loaded)
        return folders
    }

    @Test func theCredentialsTheServiceStartedWithPass() throws {
        let (base, source, loaded) = try started()
        defer { try? fileManager.removeItem(at: base) }
        let result = try Self.run(["config", "credentials", "--source", "secrets:\(source.path)"],
                                  environment: ["CREDENTIALS_DIRECTORY": loaded.path])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput == "\(source.path): the 2 credentials the service was started with, unchanged\n")
        #expect(result.standardError.isEmpty)
    }

    /// As the unit runs it: `+` (outside the sandbox) with `--pid $MAINPID`, reading the service's
    /// credentials through `/proc/PID/root`. Here the "service" is this test process, whose root
    /// is the machine's: the same files, reached the other way.
    @Test func theServicesCredentialsAreReadThroughItsProcessRoot() throws {
        let (base, source, loaded) = try started()
        defer { try? fileManager.removeItem(at: base) }
        let pid = String(getpid())
        let same = try Self.run(["config", "credentials", "--source", "secrets:\(source.path)", "--pid", pid],
                                environment: ["CREDENTIALS_DIRECTORY": loaded.path])
        #expect(same.status == 0, "\(same.standardError)")
        try write("ROTATED-VALUE", "webhook", in: source)
        let changed = try Self.run(["config", "credentials", "--source", "secrets:\(source.path)", "--pid", pid],
                                   environment: ["CREDENTIALS_DIRECTORY": loaded.path])
        #expect(changed.status == 1)
        #expect(changed.standardError.contains("  changed: secrets_webhook ("), "\(changed.standardError)")

        // systemd mounts no folder when the source held nothing: all the source holds now is added.
        let none = try Self.run(["config", "credentials", "--source", "secrets:\(source.path)", "--pid", pid],
                                environment: ["CREDENTIALS_DIRECTORY": base.appendingPathComponent("run/absent.service").path])
        #expect(none.status == 1)
        #expect(none.standardError.contains("  added: secrets_webhook ("), "\(none.standardError)")

        // A process that is gone cannot be compared with: said, not taken for "nothing loaded".
        let gone = try Self.run(["config", "credentials", "--source", "secrets:\(source.path)", "--pid", "999999999"],
                                environment: ["CREDENTIALS_DIRECTORY": loaded.path])
        #expect(gone.status == 78)
        #expect(gone.standardError.hasPrefix("batchgate: --pid 999999999: no such process running"), "\(gone.standardError)")

        // Nor one that has exited but is not yet reaped, whose root no longer leads anywhere.
        var zombie: pid_t = 0
        let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { arguments.forEach { free($0) } }
        try #require(posix_spawn(&zombie, "/bin/true", nil, nil, arguments, environ) == 0)
        for _ in 0..<500 {
            let stat = (try? String(contentsOfFile: "/proc/\(zombie)/stat", encoding: .utf8)) ?? ""
            if stat.contains(") Z ") { break }
            usleep(10_000)
        }
        let exited = try Self.run(["config", "credentials", "--source", "secrets:\(source.path)", "--pid", String(zombie)],
                                  environment: ["CREDENTIALS_DIRECTORY": base.appendingPathComponent("run/absent.service").path])
        var status: Int32 = 0
        _ = waitpid(zombie, &status, 0)
        #expect(exited.status == 78)
        #expect(exited.standardError.hasPrefix("batchgate: --pid \(zombie): no such process running"), "\(exited.standardError)")
    }

    @Test func changedAddedAndRemovedCredentialsAreNamedAndNeverShown() throws {
        let (base, source, loaded) = try started()
        defer { try? fileManager.removeItem(at: base) }
        try write("https://hooks.example/NEW-WEBHOOK-VALUE", "webhook", in: source)
        try fileManager.removeItem(at: source.appendingPathComponent("mail"))
        try write("NEW-TOKEN-VALUE", "teams/token", in: source)
        let result = try Self.run(["config", "credentials", "--source", "secrets:\(source.path)"],
                                  environment: ["CREDENTIALS_DIRECTORY": loaded.path])
        #expect(result.status == 1)
        let lines = result.standardError.split(separator: "\n").map(String.init)
        #expect(lines == [
            "batchgate: the credentials in \(source.path) are not those batchgate was started with (\(loaded.path)):",
            "  changed: secrets_webhook (\(source.path)/webhook)",
            "  added: secrets_teams_token (\(source.path)/teams/token), in the folder but not loaded",
            "  removed: secrets_mail_password, loaded but no longer in the folder",
            "batchgate: the daemon keeps the secrets it was started with, and a reload cannot give it others: "
                + "run `systemctl restart batchgate` to load them",
        ], "\(result.standardError)")
        for value in ["WEBHOOK-VALUE", "MAIL-PASSWORD", "TOKEN-VALUE", "METRC-KEY"] {
            #expect(!result.standardError.contains(value) && !result.standardOutput.contains(value), "\(value) shown")
        }
    }

    @Test func withoutACredentialsDirectoryOnlyAnEmptySourcePasses() throws {
        let (base, source, _) = try folders()
        defer { try? fileManager.removeItem(at: base) }
        let empty = try Self.run(["config", "credentials", "--source", "secrets:\(source.path)"])
        #expect(empty.status == 0, "\(empty.standardError)")
        #expect(empty.standardOutput.contains("no credentials, and none loaded"), "\(empty.standardOutput)")
        let missing = try Self.run(["config", "credentials", "--source", "secrets:\(base.path)/none"])
        #expect(missing.status == 0, "\(missing.standardError)")

        try write("SECRET-VALUE", "webhook", in: source)
        let result = try Self.run(["config", "credentials", "--source", "secrets:\(source.path)"])
        #expect(result.status == 78)
        #expect(result.standardError.hasPrefix("batchgate: CREDENTIALS_DIRECTORY is not set, so there is nothing to compare the 1 credential in \(source.path) with"),
                "\(result.standardError)")
        #expect(!result.standardError.contains("SECRET-VALUE"))
    }

    @Test func aBadOrUnreadableSourceIsAConfigurationError() throws {
        let (base, source, loaded) = try started()
        defer { try? fileManager.removeItem(at: base) }
        let environment = ["CREDENTIALS_DIRECTORY": loaded.path]

        let bad = try Self.run(["config", "credentials", "--source", source.path], environment: environment)
        #expect(bad.status == 78)
        #expect(bad.standardError.hasPrefix("batchgate: --source \(source.path): expected ID:DIR"), "\(bad.standardError)")

        // A file where the folder should be: named, with its errno.
        let file = source.appendingPathComponent("webhook").path
        let notFolder = try Self.run(["config", "credentials", "--source", "secrets:\(file)"], environment: environment)
        #expect(notFolder.status == 78)
        #expect(notFolder.standardError.contains("\(file): Not a directory (errno 20)"), "\(notFolder.standardError)")

        // Gone while the service runs on what it held: a restart would fail to load it.
        let missing = try Self.run(["config", "credentials", "--source", "secrets:\(base.path)/none"], environment: environment)
        #expect(missing.status == 78)
        #expect(missing.standardError.contains("\(base.path)/none: No such file or directory (errno 2)"), "\(missing.standardError)")

        // A name systemd refuses: the next start would fail, so the reload is refused too.
        try write("x", "host:port", in: source)
        let refused = try Self.run(["config", "credentials", "--source", "secrets:\(source.path)"], environment: environment)
        #expect(refused.status == 78)
        #expect(refused.standardError.contains("would be the credential secrets_host:port"), "\(refused.standardError)")
    }

    @Test func errorLinesCarryTheErrorPriorityOnlyWhenStandardErrorIsTheJournal() throws {
        let (base, source, loaded) = try started()
        defer { try? fileManager.removeItem(at: base) }
        try write("NEW", "webhook", in: source)
        let arguments = ["config", "credentials", "--source", "secrets:\(source.path)"]
        let environment = ["CREDENTIALS_DIRECTORY": loaded.path]

        let journal = try Self.run(arguments, environment: environment, journal: .matching)
        #expect(journal.status == 1)
        let lines = journal.standardError.split(separator: "\n")
        #expect(lines.count == 3, "\(journal.standardError)")
        #expect(lines.allSatisfy { $0.hasPrefix("<3>") }, "\(journal.standardError)")
        #expect(lines.first?.hasPrefix("<3>batchgate: the credentials in ") == true)

        for stream in [JournalStream.otherInode, .unset] {
            let elsewhere = try Self.run(arguments, environment: environment, journal: stream)
            #expect(elsewhere.status == 1)
            #expect(elsewhere.standardError.hasPrefix("batchgate: the credentials in "), "\(stream): \(elsewhere.standardError)")
            #expect(!elsewhere.standardError.contains("<3>"), "\(stream): \(elsewhere.standardError)")
        }

        // Every command's errors go the same way: config check's refusal among them.
        let check = try Self.run(["config", "check", "--quiet", "--config", "\(base.path)/missing.yaml"], journal: .matching)
        #expect(check.status == 78)
        #expect(check.standardError.hasPrefix("<3>batchgate: \(base.path)/missing.yaml"), "\(check.standardError)")
    }
}
