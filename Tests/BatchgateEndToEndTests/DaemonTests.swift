import Foundation
import Testing

/// `batchgate run` on temporary folders, fed the ways real writers feed a drop folder.
@Suite("batchgate run", .serialized)
struct DaemonTests {
    let fileManager = FileManager.default

    /// Waits until `count` manifests are routed, then checks each has its two reports.
    func expectRouted(_ daemon: DaemonProcess, count: Int, timeout: Double = 30, sourceLocation: SourceLocation = #_sourceLocation) {
        let done = waitUntil(timeout: timeout) { daemon.routedCount >= count }
        #expect(done, "routed \(daemon.routedCount) of \(count)\n\(daemon.log.suffix(2000))", sourceLocation: sourceLocation)
        // The audit lines are written (and flushed) before the batch's journal goes (docs/routing.md,
        // step 7): a reader may see them first. What the tests check next is the end of the batch.
        _ = waitUntil(timeout: 10) { !daemon.names(in: "processing").contains { $0.hasPrefix(".journal-") } }
        for folder in ["accepted", "needs-batch", "rejected"] {
            let names = Set(daemon.names(in: folder))
            for manifest in daemon.manifests(in: folder) {
                #expect(names.contains(manifest + ".report.json") && names.contains(manifest + ".report.txt"),
                        "\(folder)/\(manifest) has both reports", sourceLocation: sourceLocation)
            }
            #expect(!names.contains { $0.hasPrefix(".") }, "no draft left in \(folder)/", sourceLocation: sourceLocation)
        }
    }

    @Test func routesFilesCopiedMovedAndSyncedIn() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root)
        try daemon.start()

        // cp: written in place, announced by IN_CLOSE_WRITE.
        try example("concentrate-run.json").write(to: daemon.inbox.appendingPathComponent("copied.json"))
        // mv within the filesystem: IN_MOVED_TO.
        let staging = root.appendingPathComponent("staging")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        try example("repackage.csv").write(to: staging.appendingPathComponent("moved.csv"))
        try fileManager.moveItem(at: staging.appendingPathComponent("moved.csv"), to: daemon.inbox.appendingPathComponent("moved.csv"))
        // rsync: a temporary dot-file, then a rename.
        try example("vape-fill-marked.json").write(to: staging.appendingPathComponent("synced.json"))
        let rsync = Process()
        rsync.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        rsync.arguments = ["rsync", staging.appendingPathComponent("synced.json").path, daemon.inbox.path + "/"]
        try rsync.run()
        rsync.waitUntilExit()
        #expect(rsync.terminationStatus == 0, "rsync must be installed (.ci/run installs it)")

        expectRouted(daemon, count: 3)
        #expect(daemon.manifests(in: "needs-batch") == ["copied.json"])
        #expect(daemon.manifests(in: "accepted") == ["moved.csv", "synced.json"])
        #expect(daemon.names(in: "inbox").isEmpty)
        #expect(daemon.names(in: "processing").isEmpty)

        let report = try JSONSerialization.jsonObject(
            with: Data(contentsOf: root.appendingPathComponent("needs-batch/copied.json.report.json"))) as! [String: Any]
        #expect(report["decision"] as? String == "needs-batch")
        #expect(report["receivedAt"] is String && report["routedAt"] is String)
        let text = try String(contentsOf: root.appendingPathComponent("needs-batch/copied.json.report.txt"), encoding: .utf8)
        #expect(text.contains("NEEDS BATCH"))
        #expect(daemon.auditLines().count == 3)
        #expect(daemon.stop() == 0)
    }

    @Test func waitsForASlowWriter() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root)
        try daemon.start()
        // One open file written in four chunks over three seconds: only its close announces it.
        let bytes = try example("concentrate-run.json")
        let path = daemon.inbox.appendingPathComponent("slow.json").path
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        #expect(fd >= 0)
        let chunk = bytes.count / 4 + 1
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            let piece = Array(bytes[start..<min(start + chunk, bytes.count)])
            #expect(write(fd, piece, piece.count) == piece.count)
            usleep(1_000_000)
            #expect(daemon.routedCount == 0, "taken before the writer closed it")
        }
        close(fd)
        expectRouted(daemon, count: 1)
        #expect(daemon.manifests(in: "needs-batch") == ["slow.json"], "read whole, not cut short")
        daemon.stop()
    }

    @Test func anEmptyFileClosedEarlyWaitsToBeFilled() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root, arguments: ["run", "--root", root.path])
        try daemon.start()
        // Some writers create the file, close it empty, then open it again to fill it.
        // Created and closed in place with open(2) and close(2): `FileManager.createFile` writes a
        // temporary file and renames it in before closing it, so the daemon saw a whole file moved
        // in and could take it at once, empty (the test failed now and then).
        let path = daemon.inbox.appendingPathComponent("refilled.json").path
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        try #require(fd >= 0)
        close(fd)
        usleep(500_000)
        #expect(daemon.routedCount == 0, "an empty file is not taken at once")
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.write(try example("concentrate-run.json"))
        try handle.close()
        expectRouted(daemon, count: 1)
        #expect(daemon.manifests(in: "needs-batch") == ["refilled.json"])
        daemon.stop()
    }

    @Test func aFileAnnouncedOnlyByItsCreationIsTakenOnceQuiet() throws {
        // A hard link raises only IN_CREATE, no write and no close: the file is taken once it
        // has been left alone for the quiet period. (The other name is removed first: a file with
        // two names is rejected.) What only scans see is in IntakeTrackerTests and the start-up tests.
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = root.appendingPathComponent("batchgate.yaml")
        try Data("stateRoot: state\nrescanInterval: 0\nquietPeriod: 500ms\n".utf8).write(to: config)
        let daemon = DaemonProcess(root: root.appendingPathComponent("state"), arguments: ["run", "--config", config.path])
        try daemon.start()
        let original = root.appendingPathComponent("share-copy.json")
        try example("concentrate-run.json").write(to: original)
        #expect(link(original.path, daemon.inbox.appendingPathComponent("from-share.json").path) == 0)
        #expect(unlink(original.path) == 0)
        usleep(300_000)
        #expect(daemon.routedCount == 0, "not before the quiet period")
        expectRouted(daemon, count: 1, timeout: 10)
        #expect(daemon.manifests(in: "needs-batch") == ["from-share.json"])
        daemon.stop()
    }

    @Test func takesFilesPresentBeforeStartUpAndLeavesIgnoredOnesAlone() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let inbox = root.appendingPathComponent("inbox")
        try fileManager.createDirectory(at: inbox.appendingPathComponent("sub"), withIntermediateDirectories: true)
        for number in 1...5 {
            try manifest(number, needsBatch: number % 2 == 0).write(to: inbox.appendingPathComponent("early-\(number).json"))
        }
        let ignored = [".hidden.json", "upload.json.part", "x.tmp", "y.partial", "z.filepart", "w.crdownload", "v.json~"]
        for name in ignored { try Data("half".utf8).write(to: inbox.appendingPathComponent(name)) }
        // Start-up takes files whose mtime is older than the settle time at once.
        let old = Date().addingTimeInterval(-60)
        for number in 1...5 {
            try fileManager.setAttributes([.modificationDate: old], ofItemAtPath: inbox.appendingPathComponent("early-\(number).json").path)
        }
        let daemon = DaemonProcess(root: root)
        try daemon.start()
        expectRouted(daemon, count: 5)
        #expect(daemon.manifests(in: "accepted").count == 3)
        #expect(daemon.manifests(in: "needs-batch").count == 2)
        usleep(300_000)
        #expect(daemon.names(in: "inbox").sorted() == (ignored + ["sub"]).sorted())
        daemon.stop()
    }

    @Test func takesAnInboxLargerThanOneScanTakesInParts() throws {
        // More files than a start-up scan queues at once (4,096): the rest is listed again when
        // the queue drains. No periodic rescan here, so nothing else could take them.
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = root.appendingPathComponent("batchgate.yaml")
        try Data("stateRoot: state\nrescanInterval: 0\n".utf8).write(to: config)
        let state = root.appendingPathComponent("state")
        let inbox = state.appendingPathComponent("inbox")
        try fileManager.createDirectory(at: inbox, withIntermediateDirectories: true)
        let count = 5_000
        let old = [timespec(tv_sec: time(nil) - 60, tv_nsec: 0), timespec(tv_sec: time(nil) - 60, tv_nsec: 0)]
        for number in 1...count {
            let path = inbox.appendingPathComponent("early-\(number).json").path
            try manifest(number, needsBatch: number % 2 == 0).write(to: URL(fileURLWithPath: path))
            #expect(utimensat(AT_FDCWD, path, old, 0) == 0)
        }
        let daemon = DaemonProcess(root: state, arguments: ["run", "--config", config.path])
        try daemon.start()
        expectRouted(daemon, count: count, timeout: 60)
        let routed = ["accepted", "needs-batch", "rejected"].flatMap { daemon.manifests(in: $0) }
        #expect(routed.count == count && Set(routed).count == count, "each once")
        #expect(daemon.names(in: "inbox").isEmpty && daemon.names(in: "processing").isEmpty)
        #expect(daemon.auditLines().count == count)
        #expect(daemon.stop() == 0)
    }

    @Test func rejectsLinksFifosAndUnsupportedFilesWithAReport() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root)
        try daemon.start()
        try fileManager.createSymbolicLink(atPath: daemon.inbox.appendingPathComponent("link.json").path, withDestinationPath: "/etc/passwd")
        #expect(mkfifo(daemon.inbox.appendingPathComponent("pipe.csv").path, 0o644) == 0)
        try Data("%PDF-1.4".utf8).write(to: daemon.inbox.appendingPathComponent("scan.pdf"))
        try Data([0xFF, 0xFE, 0x00, 0x01]).write(to: daemon.inbox.appendingPathComponent("garbage.json"))
        expectRouted(daemon, count: 4)
        #expect(daemon.manifests(in: "rejected") == ["garbage.json", "link.json", "pipe.csv", "scan.pdf"])
        let link = try fileManager.attributesOfItem(atPath: root.appendingPathComponent("rejected/link.json").path)
        #expect(link[.type] as? FileAttributeType == .typeSymbolicLink, "moved as a link, never followed")
        let report = try String(contentsOf: root.appendingPathComponent("rejected/link.json.report.txt"), encoding: .utf8)
        #expect(report.contains("symbolic link"))
        daemon.stop()
    }

    @Test func renamesANameThatIsNotUTF8AndRoutesIt() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root)
        try daemon.start()
        // "caf\xE9 100%.json" in Latin-1, as an old Windows share might write it.
        let raw: [UInt8] = Array(daemon.inbox.path.utf8) + Array("/caf".utf8) + [0xE9] + Array(" 100%.json".utf8) + [0]
        let contents = try example("repackage.csv")
        let fd = raw.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT | O_EXCL, 0o644) } }
        #expect(fd >= 0)
        _ = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        expectRouted(daemon, count: 1, timeout: 15)
        // It is CSV in a .json file, so rejected: what matters is that it was routed at all.
        #expect(daemon.manifests(in: "rejected") == ["caf%E9 100%25.json"], "\(daemon.log)")
        #expect(daemon.log.contains("its name was not UTF-8"))
        daemon.stop()
    }

    @Test func routesABurstOfTwoThousandFiles() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root)
        try daemon.start()
        try dropBurst(count: 2_000, into: daemon)
        expectRouted(daemon, count: 2_000, timeout: 60)
        #expect(daemon.manifests(in: "accepted").count == 1_000)
        #expect(daemon.manifests(in: "needs-batch").count == 1_000)
        #expect(daemon.names(in: "processing").isEmpty)
        #expect(daemon.auditLines().count == 2_000)
        #expect(daemon.stop() == 0)
    }

    @Test func killedDuringABurstRoutesEveryFileExactlyOnceAfterRestart() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let first = DaemonProcess(root: root)
        try first.start()
        try dropBurst(count: 2_000, into: first)
        _ = waitUntil(timeout: 30) { first.routedCount >= 300 }
        first.crash()
        let routedBeforeCrash = first.routedCount
        #expect(routedBeforeCrash < 2_000, "the crash came during the burst")

        let second = DaemonProcess(root: root)
        try second.start()
        expectRouted(second, count: 2_000, timeout: 60)
        let routed = ["accepted", "needs-batch", "rejected"].flatMap { second.manifests(in: $0) }
        #expect(routed.count == 2_000)
        #expect(Set(routed).count == 2_000, "no manifest twice")
        #expect(!routed.contains { $0.contains(".2.") }, "no second copy under a suffixed name")
        #expect(waitUntil(timeout: 10) { second.names(in: "processing").isEmpty }, "\(second.names(in: "processing"))")
        #expect(second.names(in: "inbox").isEmpty)
        let audited = second.auditLines().compactMap { $0["originalName"] as? String }
        #expect(audited.count == 2_000 && Set(audited).count == 2_000, "one audit line each")
        #expect(second.stop() == 0)
    }

    @Test func notifiesSystemdAndStopsCleanlyOnSIGTERM() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let socket = try NotifySocket(path: root.appendingPathComponent("notify.sock").path)
        let daemon = DaemonProcess(root: root.appendingPathComponent("state"),
                                   environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "200000"])
        try daemon.start()
        let messages = socket.receive(until: { $0.contains { $0.contains("WATCHDOG=1") } }, timeout: 5)
        #expect(messages.contains { $0.contains("READY=1") }, "\(messages)")
        #expect(messages.contains { $0.contains("STATUS=routed 0") })
        #expect(messages.contains("WATCHDOG=1"))
        try manifest(1, needsBatch: true).write(to: daemon.inbox.appendingPathComponent("one.json"))
        let status = socket.receive(until: { $0.contains { $0.contains("STATUS=routed 1") } }, timeout: 5)
        #expect(status.contains { $0.contains("needs-batch 1") })
        let before = status.count
        daemon.signal(SIGHUP)
        // Watchdog pings go on through a reload (one may come between the signal and RELOADING=1
        // when the machine is busy): the reload's own messages are what is checked.
        let reload = socket.receive(until: { $0.dropFirst(before).contains { $0.hasPrefix("READY=1") } }, timeout: 5)
            .dropFirst(before).filter { $0 != "WATCHDOG=1" }
        #expect(reload.first?.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") == true, "\(reload)")
        #expect(reload.last?.hasPrefix("READY=1") == true)
        let started = Date()
        #expect(daemon.stop() == 0)
        #expect(Date().timeIntervalSince(started) < 5)
        let stopping = socket.receive(until: { $0.contains { $0.hasPrefix("STOPPING=1") } }, timeout: 2)
        #expect(stopping.contains { $0.hasPrefix("STOPPING=1") })
    }

    @Test func reopensTheAuditLogOnSIGHUPAndTagsLinesForTheJournal() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root, journal: true)
        try daemon.start()
        try manifest(1, needsBatch: false).write(to: daemon.inbox.appendingPathComponent("before.json"))
        expectRouted(daemon, count: 1)
        // The audit line comes right after the move.
        #expect(waitUntil(timeout: 5) { daemon.auditLines().count == 1 })
        // logrotate renames the log, then sends SIGHUP.
        let audit = root.appendingPathComponent("audit.jsonl")
        try fileManager.moveItem(at: audit, to: root.appendingPathComponent("audit.jsonl.1"))
        daemon.signal(SIGHUP)
        _ = waitUntil(timeout: 5) { daemon.log.contains("reopened the audit log") }
        try manifest(2, needsBatch: true).write(to: daemon.inbox.appendingPathComponent("after.json"))
        expectRouted(daemon, count: 2)
        // Its audit line and its log line follow the move.
        #expect(waitUntil(timeout: 5) { daemon.log.contains("routed after.json") })
        let rotated = try String(contentsOf: root.appendingPathComponent("audit.jsonl.1"), encoding: .utf8)
        let fresh = try String(contentsOf: audit, encoding: .utf8)
        #expect(rotated.contains("before.json") && !rotated.contains("after.json"))
        #expect(fresh.contains("after.json") && !fresh.contains("before.json"))
        let lines = daemon.log.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("<5>routed after.json to needs-batch/") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("<6>routed before.json to accepted/") })
        daemon.stop()
    }

    @Test func reloadsConfigAndCatalogOnSIGHUPAndKeepsTheOldOnABadOne() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = root.appendingPathComponent("batchgate.yaml")
        let items = root.appendingPathComponent("items.csv")
        try Data("Name,Category\n".utf8).write(to: items)
        try Data("stateRoot: state\nrescanInterval: 0\ncatalog:\n  items: items.csv\n".utf8).write(to: config)
        let daemon = DaemonProcess(root: root.appendingPathComponent("state"), arguments: ["run", "--config", config.path])
        try daemon.start()
        // An item the catalog does not know yet: rejected.
        let needsCatalog = """
            [{"Tag": "1A4FF0300000022000000001", "Item": "Blue Dream Buds", "Quantity": 1, "UnitOfMeasure": "Grams",
              "Ingredients": [{"Package": "1A4FF0100000022000000001", "Item": "Blue Dream Trim", "Quantity": 1, "UnitOfMeasure": "Grams"}]}]
            """
        try Data(needsCatalog.utf8).write(to: daemon.inbox.appendingPathComponent("first.json"))
        expectRouted(daemon, count: 1)
        #expect(daemon.manifests(in: "rejected") == ["first.json"])

        // A bad config is logged and the running one kept.
        try Data("stateRoot: state\nrescanInterval: soon\n".utf8).write(to: config)
        daemon.signal(SIGHUP)
        #expect(waitUntil(timeout: 5) { daemon.log.contains("reload failed, keeping the running configuration") })
        #expect(daemon.log.contains("line 2, rescanInterval"))

        // A good one with a fuller catalog takes effect.
        try Data("Name,Category\nBlue Dream Buds,Buds\nBlue Dream Trim,Shake/Trim\n".utf8).write(to: items)
        try Data("stateRoot: state\nrescanInterval: 0\ncatalog:\n  items: items.csv\n".utf8).write(to: config)
        daemon.signal(SIGHUP)
        #expect(waitUntil(timeout: 5) { daemon.log.contains("reloaded the configuration and catalog (2 items") })
        try Data(needsCatalog.utf8).write(to: daemon.inbox.appendingPathComponent("second.json"))
        expectRouted(daemon, count: 2)
        #expect(daemon.manifests(in: "needs-batch") == ["second.json"])
        #expect(daemon.stop() == 0)
    }

    /// The config's rule settings reach the daemon's rules, and a reload changes them.
    @Test func reloadedRuleSettingsTakeEffect() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = root.appendingPathComponent("batchgate.yaml")
        try Data("stateRoot: state\nrescanInterval: 0\nrules:\n  sameFormSteps: [Repackage]\n".utf8).write(to: config)
        let daemon = DaemonProcess(root: root.appendingPathComponent("state"), arguments: ["run", "--config", config.path])
        try daemon.start()
        // Buds trimmed into buds: only the processing step can make this a production batch.
        let trimmed = """
            {"Tag": "1A4FF0100000022000000001", "Item": "Buds", "ItemCategory": "Buds", "Quantity": 1,
             "UnitOfMeasure": "Grams", "ProcessingStep": "Trimming",
             "Ingredients": [{"Package": "1A4FF0100000022000000002", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}
            """
        try Data(trimmed.utf8).write(to: daemon.inbox.appendingPathComponent("before.json"))
        expectRouted(daemon, count: 1)
        #expect(daemon.manifests(in: "needs-batch") == ["before.json"])

        try Data("stateRoot: state\nrescanInterval: 0\nrules:\n  sameFormSteps: [Repackage, Trimming]\n".utf8).write(to: config)
        daemon.signal(SIGHUP)
        #expect(waitUntil(timeout: 5) { daemon.log.contains("reloaded the configuration and catalog") })
        try Data(trimmed.utf8).write(to: daemon.inbox.appendingPathComponent("after.json"))
        expectRouted(daemon, count: 2)
        #expect(daemon.manifests(in: "accepted") == ["after.json"])
        #expect(daemon.stop() == 0)
    }

    /// `rules.checks` reaches the daemon's checker, and a reload changes a check's level as it
    /// changes the other rule settings.
    @Test func reloadedCheckLevelsTakeEffect() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = root.appendingPathComponent("batchgate.yaml")
        try Data("stateRoot: state\nrescanInterval: 0\nrules:\n  checks:\n    too-many-packages: error\n".utf8).write(to: config)
        let daemon = DaemonProcess(root: root.appendingPathComponent("state"), arguments: ["run", "--config", config.path])
        try daemon.start()
        try Data(PreflightManifests.elevenPackages().utf8).write(to: daemon.inbox.appendingPathComponent("before.json"))
        expectRouted(daemon, count: 1)
        #expect(daemon.manifests(in: "rejected") == ["before.json"])

        try Data("stateRoot: state\nrescanInterval: 0\nrules:\n  checks: {too-many-packages: off}\n".utf8).write(to: config)
        daemon.signal(SIGHUP)
        #expect(waitUntil(timeout: 30) { daemon.log.contains("reloaded the configuration and catalog") })
        try Data(PreflightManifests.elevenPackages().utf8).write(to: daemon.inbox.appendingPathComponent("after.json"))
        expectRouted(daemon, count: 2)
        #expect(daemon.manifests(in: "accepted") == ["after.json"])
        let report = try String(contentsOf: root.appendingPathComponent("state/accepted/after.json.report.txt"), encoding: .utf8)
        #expect(!report.contains("too-many-packages"), "off: not run, not listed as skipped: \(report)")
        #expect(daemon.stop() == 0)
    }

    @Test func refusesAnInboxOnAnotherFilesystemAndABadConfig() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let shm = "/dev/shm/batchgate-test-\(UUID().uuidString)"
        defer { try? fileManager.removeItem(atPath: shm) }
        let config = root.appendingPathComponent("batchgate.yaml")
        try Data("stateRoot: state\ninbox: \(shm)\n".utf8).write(to: config)
        let other = try Executable.run(["run", "--config", config.path])
        if other.standardError.contains("cannot create the folder \(shm)") {
            Issue.record("/dev/shm is not writable here: \(other.standardError)")
        }
        #expect(other.status == 78)
        #expect(other.standardError.contains("is on another filesystem than the inbox"), "\(other.standardError)")

        try Data("stateRoot: state\nsettleTime: 0\n".utf8).write(to: config)
        let bad = try Executable.run(["run", "--config", config.path])
        #expect(bad.status == 78)
        #expect(bad.standardError.contains("line 2, settleTime"))
        let check = try Executable.run(["config", "check", "--config", config.path])
        #expect(check.status == 78)
        #expect(check.standardError.contains("line 2, settleTime"))
        let example = try Executable.run(["config", "check", "--config", "config/batchgate.yaml"])
        #expect(example.status == 0, "\(example.standardError)")
        #expect(example.standardOutput.contains("config/batchgate.yaml: valid"))
    }

    @Test func startsWithTheUnitsOwnCommandLineAndEnvironment() throws {
        let unit = try String(contentsOf: Executable.packageRoot.appendingPathComponent("systemd/batchgate.service"), encoding: .utf8)
        let lines = unit.split(separator: "\n").map(String.init)
        let execStart = try #require(lines.first { $0.hasPrefix("ExecStart=") }).dropFirst("ExecStart=".count)
        var arguments = execStart.split(separator: " ").map(String.init)
        #expect(arguments.first == "/usr/local/bin/batchgate", "make install rewrites this path for its PREFIX")
        var environment: [String: String] = [:]
        for line in lines where line.hasPrefix("Environment=") {
            for pair in line.dropFirst("Environment=".count).split(separator: " ") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                environment[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
        }
        #expect(environment["LANG"] == "C.UTF-8")

        // The installed config, with the state root moved to a temporary folder.
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let configIndex = try #require(arguments.firstIndex(of: "--config")) + 1
        #expect(arguments[configIndex] == "/etc/batchgate/batchgate.yaml")
        let config = root.appendingPathComponent("batchgate.yaml")
        let example = try String(contentsOf: Executable.packageRoot.appendingPathComponent("config/batchgate.yaml"), encoding: .utf8)
        try Data(example.replacing("stateRoot: ./var", with: "stateRoot: \(root.path)/state")
            .replacing("items: catalog/items.json", with: "items: null")
            .replacing("packages: catalog/packages.csv", with: "packages: null").utf8).write(to: config)
        arguments[configIndex] = config.path
        arguments.removeFirst()

        let socket = try NotifySocket(path: root.appendingPathComponent("notify.sock").path)
        environment["NOTIFY_SOCKET"] = socket.path
        environment["WATCHDOG_USEC"] = "30000000"
        let daemon = DaemonProcess(root: root.appendingPathComponent("state"), arguments: arguments, environment: environment, journal: true)
        try daemon.process.run()
        let messages = socket.receive(until: { $0.contains { $0.hasPrefix("READY=1") } }, timeout: 20)
        #expect(messages.contains { $0.hasPrefix("READY=1") }, "\(messages)\n\(daemon.log)")
        _ = waitUntil(timeout: 5) { daemon.log.contains("watching") }
        #expect(daemon.log.hasPrefix("<5>watching \(root.path)/state/inbox"), "\(daemon.log)")
        let status = daemon.stop()
        #expect(status == 0, "\(daemon.log)")
    }

    @Test func aSecondDaemonOnTheSameStateRootIsRefused() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let first = DaemonProcess(root: root)
        try first.start()
        let second = try Executable.run(["run", "--root", root.path])
        #expect(second.status == 78)
        #expect(second.standardError.contains("another batchgate (pid \(first.process.processIdentifier)) already runs on \(root.path)"),
                "\(second.standardError)")
        #expect(first.stop() == 0)
        // Once the first has stopped, the folders are free again.
        let third = DaemonProcess(root: root)
        try third.start()
        #expect(third.stop() == 0)
    }

    @Test func refusesToStartWhereItCannotWrite() throws {
        // A folder inside a regular file can never be made, not even by root. (/proc, which was
        // used here, is now refused before any folder is tried: see ConfigPlacementTests.)
        let file = fileManager.temporaryDirectory.appendingPathComponent("batchgate-not-a-folder-\(UUID().uuidString)")
        try Data().write(to: file)
        defer { try? fileManager.removeItem(at: file) }
        let result = try Executable.run(["run", "--root", file.path + "/state"])
        #expect(result.status == 78)
        #expect(result.standardError.contains("cannot create the folder \(file.path)/state"), "\(result.standardError)")
    }

    /// Writes `count` manifests into a staging folder, then renames them all into the inbox.
    private func dropBurst(count: Int, into daemon: DaemonProcess) throws {
        let staging = daemon.root.appendingPathComponent("staging")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        for number in 1...count {
            try manifest(number, needsBatch: number % 2 == 0).write(to: staging.appendingPathComponent("burst-\(number).json"))
        }
        for number in 1...count {
            let name = "burst-\(number).json"
            #expect(rename(staging.appendingPathComponent(name).path, daemon.inbox.appendingPathComponent(name).path) == 0)
        }
    }
}

/// A datagram socket standing in for systemd's notify socket.
final class NotifySocket {
    let path: String
    private let fd: Int32
    private var received: [String] = []
    /// When each message of ``receive(until:timeout:)`` came, in order.
    private(set) var arrivals: [(at: Date, message: String)] = []

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw DaemonTestError("cannot bind \(path): errno \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Reads datagrams until `done` holds for everything received so far, or `timeout` passes.
    func receive(until done: ([String]) -> Bool, timeout: Double) -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline && !done(received) {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received.append(String(decoding: buffer[..<count], as: UTF8.self))
                arrivals.append((Date(), received[received.count - 1]))
            }
        }
        return received
    }
}
