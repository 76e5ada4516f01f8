import Foundation
import Testing

/// A manifest is claimed only once its writer is done with it (docs/manifests.md §2). Real writers
/// (bash, python3) write a CSV manifest whose decision shows how much of it was read
/// (SplitManifest): the whole file needs a batch; any part of it is accepted or rejected. Each test
/// ends with exactly one manifest, whole, in needs-batch/, and one audit line.
@Suite("Writers and the quiet period", .serialized)
struct WriterTests {
    let fileManager = FileManager.default

    /// The one manifest `name` was routed once, whole, to needs-batch/: one audit line, one log
    /// line, nothing in accepted/ or rejected/, nothing left in the inbox or processing/.
    func expectRoutedOnceWhole(_ daemon: DaemonProcess, _ name: String, inboxLeft: [String] = [],
                               sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(daemon.routedEverywhere == ["needs-batch/\(name)"], "routed once, to needs-batch/: \(daemon.routedEverywhere)\n\(daemon.log.suffix(3000))",
                sourceLocation: sourceLocation)
        let routed = daemon.contents("needs-batch/\(name)") ?? daemon.contents("accepted/\(name)") ?? daemon.contents("rejected/\(name)")
        #expect(routed == SplitManifest.wholeData,
                "the routed file holds every row: \(String(decoding: routed ?? Data(), as: UTF8.self).debugDescription)", sourceLocation: sourceLocation)
        #expect(daemon.reportDecision("needs-batch", name) == "needs-batch", "the report was made from the whole file", sourceLocation: sourceLocation)
        let audit = daemon.auditLines()
        #expect(audit.count == 1 && audit.first?["file"] as? String == name && audit.first?["folder"] as? String == "needs-batch",
                "one audit line: \(audit.map { "\($0["file"] ?? "?") → \($0["folder"] ?? "?")" })", sourceLocation: sourceLocation)
        #expect(daemon.routedLines(name).count == 1, "routed once: \(daemon.routedLines(name))", sourceLocation: sourceLocation)
        #expect(daemon.manifests(in: "inbox") == inboxLeft, "left in the inbox: \(daemon.names(in: "inbox"))", sourceLocation: sourceLocation)
        #expect(daemon.manifests(in: "processing").isEmpty, "nothing left in processing/", sourceLocation: sourceLocation)
    }

    // MARK: 1. One open per row

    @Test func aWriterAppendingOneRowPerOpenIsRoutedOnceWhole() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = try daemonWithConfig(root: root, quietPeriod: "1s", rescanInterval: "30s")
        try daemon.start()
        defer { daemon.stop() }
        // Like a script logging rows: each `>>` opens, appends and closes (IN_CLOSE_WRITE each
        // time), 0.2 s apart, well within the quiet period of 1 s.
        let name = "appended.csv"
        let script = #"f=$1; shift; printf '%s' "$1" >> "$f"; shift; for row in "$@"; do sleep 0.2; printf '%s' "$row" >> "$f"; done"#
        let writer = try spawnWriter(["bash", "-c", script, "bash", daemon.inbox.appendingPathComponent(name).path,
                                      SplitManifest.header] + SplitManifest.rows)
        defer { writer.killIfRunning() }
        #expect(writer.waitForExit(timeout: 20) && writer.terminationStatus == 0, "the writer finished")
        #expect(daemon.waitForRouted([name]), "routed after the writer's last row\n\(daemon.log.suffix(2000))")
        expectRoutedOnceWhole(daemon, name)
        #expect(daemon.manifests(in: "rejected").isEmpty, "no piece of it rejected: \(daemon.manifests(in: "rejected"))")
    }

    // MARK: 2. One open, a pause inside it

    /// Opens `path` with open(..., 'w'), writes `first` and flushes, touches `ready` (if given),
    /// waits for `go` (if given; at most 60 s), sleeps `pause` seconds with the file still open,
    /// writes `rest` and closes.
    static let pausingWriter = """
        import os, sys, time
        path, first, rest, pause, ready, go = sys.argv[1:7]
        with open(path, 'w') as f:
            f.write(first)
            f.flush()
            if ready:
                open(ready, 'w').close()
            deadline = time.time() + 60
            while go and not os.path.exists(go) and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(float(pause))
            f.write(rest)
        """

    @Test func aWriterPausingWithTheFileOpenIsNotCutShort() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        // The pause (3 s) outlasts the quiet period and a rescan after it: only the open
        // descriptor the watcher saw says the file is not complete.
        let daemon = try daemonWithConfig(root: root, quietPeriod: "500ms", rescanInterval: "1s")
        try daemon.start()
        defer { daemon.stop() }
        let name = "paused.csv"
        let writer = try spawnWriter(["python3", "-c", Self.pausingWriter, daemon.inbox.appendingPathComponent(name).path,
                                      SplitManifest.header + SplitManifest.rows[0], SplitManifest.rows.dropFirst().joined(), "3", "", ""])
        defer { writer.killIfRunning() }
        #expect(writer.waitForExit(timeout: 30) && writer.terminationStatus == 0, "the writer finished")
        #expect(daemon.waitForRouted([name]), "routed after the writer closed it\n\(daemon.log.suffix(2000))")
        expectRoutedOnceWhole(daemon, name)
    }

    @Test func aWriterAlreadyWritingWhenTheDaemonStartsIsNotCutShort() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = try daemonWithConfig(root: root, quietPeriod: "500ms", rescanInterval: "1s")
        try fileManager.createDirectory(at: daemon.inbox, withIntermediateDirectories: true)
        let name = "before-start.csv"
        let ready = root.appendingPathComponent("writer-ready")
        let go = root.appendingPathComponent("writer-go")
        // The writer has the file open and half written before the daemon starts, so the
        // daemon never saw it opened: only the start-up scan and rescans find it.
        let writer = try spawnWriter(["python3", "-c", Self.pausingWriter, daemon.inbox.appendingPathComponent(name).path,
                                      SplitManifest.header + SplitManifest.rows[0], SplitManifest.rows.dropFirst().joined(), "3",
                                      ready.path, go.path])
        defer { writer.killIfRunning() }
        #expect(waitUntil(timeout: 20) { fileManager.fileExists(atPath: ready.path) }, "the writer has written its first part")
        try daemon.start()
        defer { daemon.stop() }
        // From now on the writer keeps the file open 3 s more (the quiet period and two rescans).
        #expect(fileManager.createFile(atPath: go.path, contents: nil))
        #expect(writer.waitForExit(timeout: 30) && writer.terminationStatus == 0, "the writer finished")
        #expect(daemon.waitForRouted([name]), "routed after the writer closed it\n\(daemon.log.suffix(2000))")
        expectRoutedOnceWhole(daemon, name)
    }

    // MARK: 3. SMB clients setting times after the copy

    /// `write`: creates `path` with `data` and closes it. `settimes`: opens `path` with
    /// O_WRONLY|O_CREAT (no O_TRUNC), sets its times an hour back through the descriptor
    /// (futimens), closes. `both`: write, sleep `delay` seconds, settimes.
    static let smbWriter = """
        import os, sys, time
        path, mode, data, delay = sys.argv[1:5]
        def write():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            view = memoryview(data.encode())
            while view:
                view = view[os.write(fd, view):]
            os.close(fd)
        def settimes():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            when = time.time() - 3600
            os.utime(fd, (when, when))
            os.close(fd)
        if mode in ('write', 'both'):
            write()
        if mode == 'both':
            time.sleep(float(delay))
        if mode in ('settimes', 'both'):
            settimes()
        """

    @Test func settingTimesRightAfterTheCopyLeavesNoPhantom() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = try daemonWithConfig(root: root, quietPeriod: "1s", rescanInterval: "1s")
        try daemon.start()
        defer { daemon.stop() }
        // Written and closed, then 0.3 s later (within the quiet period) opened again with
        // O_CREAT to set its times, as an SMB client does after a copy.
        let name = "smb-copy.csv"
        let status = try runWriter(["python3", "-c", Self.smbWriter, daemon.inbox.appendingPathComponent(name).path, "both",
                                    SplitManifest.whole, "0.3"])
        #expect(status == 0)
        // Done once it is routed and neither the inbox nor processing/ holds anything (no batch
        // in flight): a file taken before the reopen would leave an empty phantom under its name,
        // which stays in the inbox or goes through processing/ to rejected/.
        let idle = {
            daemon.manifests(in: "inbox").isEmpty && daemon.manifests(in: "processing").isEmpty
                && !daemon.names(in: "processing").contains { $0.hasPrefix(".journal-") }
        }
        #expect(waitUntil(timeout: 20) { !daemon.routedLines(name).isEmpty && idle() },
                "routed, nothing left in the inbox: \(daemon.names(in: "inbox"))\n\(daemon.log.suffix(2000))")
        expectRoutedOnceWhole(daemon, name)
        #expect(daemon.manifests(in: "rejected").isEmpty, "no empty phantom rejected")
    }

    @Test func anEmptyFileReopenedUnderARoutedNameIsLeftAloneWithOneNotice() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = try daemonWithConfig(root: root, quietPeriod: "500ms", rescanInterval: "1s")
        try daemon.start()
        defer { daemon.stop() }
        let name = "late-times.csv"
        let path = daemon.inbox.appendingPathComponent(name).path
        #expect(try runWriter(["python3", "-c", Self.smbWriter, path, "write", SplitManifest.whole, "0"]) == 0)
        #expect(daemon.waitForRouted([name]), "routed\n\(daemon.log.suffix(2000))")
        #expect(daemon.manifests(in: "needs-batch") == [name])
        // The late set-times: the name is gone from the inbox, so O_CREAT makes an empty file.
        #expect(try runWriter(["python3", "-c", Self.smbWriter, path, "settimes", "", "0"]) == 0)
        let notices = { daemon.log.split(separator: "\n").filter { $0.contains(name) && !$0.contains("routed \(name) to ") } }
        #expect(waitUntil(timeout: 10) { !notices().isEmpty }, "a notice about the empty file\n\(daemon.log.suffix(2000))")
        // Two rescans and a quiet period more: none may route it or repeat the notice.
        usleep(2_500_000)
        #expect(notices().count == 1, "one notice: \(notices())")
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_size == 0, "the empty file is still in the inbox")
        #expect(daemon.manifests(in: "rejected").isEmpty, "never routed as an empty manifest: \(daemon.manifests(in: "rejected"))")
        expectRoutedOnceWhole(daemon, name, inboxLeft: [name])
    }

    /// A writer with two descriptors on the file that closes both at once: inotify merges the two
    /// identical close events into one, so two opens are counted and one close. The daemon asks
    /// the kernel (a lease) once the file has been quiet, and takes it.
    @Test func aWriterWhoseTwoClosesAreMergedIsStillTaken() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = try daemonWithConfig(root: root, quietPeriod: "500ms", rescanInterval: "60s")
        try daemon.start()
        defer { daemon.stop() }
        let name = "two-descriptors.csv"
        let writer = """
            import os, sys
            path, data = sys.argv[1], sys.argv[2].encode()
            first = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(first, data[:100])
            second = os.open(path, os.O_WRONLY | os.O_APPEND)
            os.write(second, data[100:])
            os.close(first); os.close(second)
            """
        #expect(try runWriter(["python3", "-c", writer, daemon.inbox.appendingPathComponent(name).path, SplitManifest.whole]) == 0)
        #expect(daemon.waitForRouted([name], timeout: 15), "taken although one close was merged away\n\(daemon.log)")
        expectRoutedOnceWhole(daemon, name)
    }
}
