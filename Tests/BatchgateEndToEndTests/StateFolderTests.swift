import Foundation
import Testing

/// The state root changing under a running daemon (folders archived, removed or
/// recreated, the audit log deleted, the lock file deleted), layout folders that are symbolic
/// links, and manifests with more than one hard link.
@Suite("State folders changing under the daemon", .serialized)
struct StateFolderTests {
    let fileManager = FileManager.default

    /// Writes `data` under `staging/` in the state root, then renames it into the inbox (taken at once).
    func drop(_ data: Data, as name: String, into daemon: DaemonProcess) throws {
        let staging = daemon.root.appendingPathComponent("staging")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        try data.write(to: staging.appendingPathComponent(name))
        #expect(rename(staging.appendingPathComponent(name).path, daemon.inbox.appendingPathComponent(name).path) == 0)
    }

    /// Runs a shell command in the state root (mv, mkdir, rmdir, rm as an operator would).
    func shell(_ command: String, in daemon: DaemonProcess) throws {
        #expect(try runWriter(["bash", "-c", "cd \"$1\" && \(command)", "bash", daemon.root.path]) == 0, "\(command)")
    }

    // MARK: 6. Outcome folders and the inbox moved, recreated, removed

    @Test func anArchivedOutcomeFolderIsReplacedByTheNewOne() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root)
        try daemon.start()
        defer { daemon.stop() }
        try drop(manifest(1, needsBatch: false), as: "october.json", into: daemon)
        #expect(daemon.waitForRouted(["october.json"]))
        // The monthly archive, while the daemon runs.
        try shell("mv accepted accepted-2026-11 && mkdir accepted", in: daemon)
        try drop(manifest(2, needsBatch: false), as: "november.json", into: daemon)
        #expect(daemon.waitForRouted(["november.json"]), "\(daemon.log.suffix(2000))")
        #expect(daemon.manifests(in: "accepted") == ["november.json"], "routed into the new accepted/")
        #expect(daemon.manifests(in: "accepted-2026-11") == ["october.json"], "nothing new in the archive: \(daemon.names(in: "accepted-2026-11"))")
        #expect(daemon.names(in: "accepted").contains("november.json.report.txt"), "its reports beside it")
        #expect(daemon.log.split(separator: "\n").contains { $0.contains("reopened") && $0.contains("accepted") },
                "the log says accepted/ was reopened:\n\(daemon.log)")
        #expect(daemon.process.isRunning)
    }

    @Test func aRecreatedInboxIsWatchedAgain() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        // Rescans far apart: only a watch re-armed on the new inbox (or a scan when it is
        // reopened) finds the file within the timeout.
        let daemon = try daemonWithConfig(root: root, quietPeriod: "500ms", rescanInterval: "60s")
        try daemon.start()
        defer { daemon.stop() }
        try shell("rmdir inbox && mkdir inbox", in: daemon)
        // Written in place in the new inbox, as cp does.
        let source = root.appendingPathComponent("source.json")
        try manifest(1, needsBatch: true).write(to: source)
        #expect(try runWriter(["cp", source.path, daemon.inbox.appendingPathComponent("after.json").path]) == 0)
        #expect(daemon.waitForRouted(["after.json"], timeout: 15), "a file in the recreated inbox is routed\n\(daemon.log)")
        #expect(daemon.manifests(in: "needs-batch") == ["after.json"])
        #expect(daemon.log.split(separator: "\n").contains { $0.contains("reopened") && $0.contains("inbox") },
                "the log says the inbox was reopened:\n\(daemon.log)")
        #expect(daemon.process.isRunning)
    }

    @Test func aRemovedOutcomeFolderStopsTheDaemonWithoutLosingTheManifest() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root)
        try daemon.start()
        defer { daemon.stop() }
        try shell("rmdir accepted", in: daemon)
        try drop(manifest(1, needsBatch: false), as: "orphan.json", into: daemon)
        // It cannot route there: it exits with status 1, for systemd to restart it.
        #expect(daemon.process.waitForExit(timeout: 15), "the daemon exits\n\(daemon.log)")
        if !daemon.process.isRunning {
            #expect(daemon.process.terminationStatus == 1, "exit status 1\n\(daemon.log)")
        }
        let errors = daemon.log.split(separator: "\n").filter { $0.contains("error") && $0.contains("accepted") }
        #expect(!errors.isEmpty, "an error names accepted/:\n\(daemon.log)")
        let places = ["inbox", "processing"].filter { daemon.names(in: $0).contains("orphan.json") }
        #expect(places.count == 1, "the manifest is kept in the inbox or processing/: \(places)")
        #expect(daemon.auditLines().isEmpty && daemon.routedLines("orphan.json").isEmpty, "never reported as routed")
    }

    @Test func aSymbolicLinkAsAnOutcomeFolderIsRefusedAtStartUp() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let state = root.appendingPathComponent("state")
        let elsewhere = root.appendingPathComponent("elsewhere")
        try fileManager.createDirectory(at: state, withIntermediateDirectories: true)
        try fileManager.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        #expect(symlink(elsewhere.path, state.appendingPathComponent("needs-batch").path) == 0)
        let daemon = DaemonProcess(root: state)
        try daemon.launch()
        defer { daemon.stop() }
        // Refused before it watches: a "watching" line means it started after all.
        _ = waitUntil(timeout: 20) { !daemon.process.isRunning || daemon.log.contains("watching ") }
        #expect(daemon.process.waitForExit(timeout: 1), "it refuses to start\n\(daemon.log)")
        if !daemon.process.isRunning {
            #expect(daemon.process.terminationStatus == 78, "exit status 78\n\(daemon.log)")
        }
        #expect(daemon.log.contains("symbolic link"), "\(daemon.log)")
        #expect(daemon.log.contains("needs-batch"), "the message names the folder")
    }

    // MARK: 7. The audit log and the lock

    @Test func aDeletedAuditLogIsCreatedAgainForTheNextLines() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root)
        try daemon.start()
        defer { daemon.stop() }
        try drop(manifest(1, needsBatch: false), as: "before.json", into: daemon)
        #expect(daemon.waitForRouted(["before.json"]))
        #expect(daemon.auditLines().count == 1)
        let logBefore = daemon.log.count
        try shell("rm audit.jsonl", in: daemon)
        let names = ["one.json", "two.json", "three.json"]
        for (index, name) in names.enumerated() {
            try drop(manifest(10 + index, needsBatch: index == 1), as: name, into: daemon)
        }
        #expect(daemon.waitForRouted(names), "\(daemon.log.suffix(2000))")
        let audit = root.appendingPathComponent("audit.jsonl")
        #expect(fileManager.fileExists(atPath: audit.path), "audit.jsonl is there again")
        let raw = (try? Data(contentsOf: audit)) ?? Data()
        let lines = daemon.auditLines()
        #expect(raw.split(separator: UInt8(ascii: "\n")).count == 3 && lines.count == 3, "exactly three lines:\n\(String(decoding: raw, as: UTF8.self))")
        #expect(Set(lines.compactMap { $0["file"] as? String }) == Set(names))
        #expect(String(daemon.log.dropFirst(logBefore)).contains("audit"), "the log says the audit log was created again:\n\(daemon.log)")
    }

    @Test func aFailedReopenOfTheAuditLogOnSIGHUPIsNotReportedAsDone() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root)  // run --root: no config file to reload
        try daemon.start()
        defer { daemon.stop() }
        // Where audit.jsonl was, a folder: it cannot be opened for appending.
        try shell("rm audit.jsonl && mkdir audit.jsonl", in: daemon)
        daemon.signal(SIGHUP)
        // Either the SIGHUP's reopen fails, or the check of the audit log before work (every
        // second) finds it cannot be opened and stops the daemon (status 1, for systemd to restart).
        #expect(waitUntil(timeout: 10) { daemon.log.contains("cannot reopen the audit log") || !daemon.process.isRunning },
                "\(daemon.log)")
        if daemon.process.isRunning {
            // Everything the SIGHUP logs comes before the line SIGTERM logs.
            daemon.stop()
            _ = waitUntil(timeout: 5) { daemon.log.contains("stopping") }
        } else {
            #expect(daemon.process.terminationStatus == 1)
            #expect(daemon.log.contains("audit.jsonl") && daemon.log.contains("batchgate stops"), "\(daemon.log)")
        }
        #expect(!daemon.log.contains("reopened the audit log"), "a failed reopen is not reported as done:\n\(daemon.log)")
    }

    @Test func deletingTheLockFileDoesNotLetASecondDaemonIn() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let first = DaemonProcess(root: root)
        try first.start()
        defer { first.stop() }
        #expect(unlink(root.appendingPathComponent(".batchgate.lock").path) == 0)
        let second = DaemonProcess(root: root)
        try second.launch()
        defer { second.stop() }
        // Refused before it watches: a "watching" line means it started after all.
        _ = waitUntil(timeout: 20) { !second.process.isRunning || second.log.contains("watching ") }
        #expect(second.process.waitForExit(timeout: 1), "the second daemon is refused\n\(second.log)")
        if !second.process.isRunning {
            #expect(second.process.terminationStatus == 78, "exit status 78\n\(second.log)")
        }
        #expect(second.log.contains("another batchgate"), "\(second.log)")
        #expect(!second.log.contains("watching "), "the second never watched the inbox")
        #expect(first.process.isRunning)
    }

    // MARK: 9. Hard links

    @Test func aManifestWithASecondHardLinkIsRejected() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        // A hard link raises only IN_CREATE: a rescan finds it.
        let daemon = try daemonWithConfig(root: root, quietPeriod: "500ms", rescanInterval: "1s")
        try daemon.start()
        defer { daemon.stop() }
        let original = root.appendingPathComponent("elsewhere.json")
        try example("concentrate-run.json").write(to: original)
        #expect(link(original.path, daemon.inbox.appendingPathComponent("linked.json").path) == 0)
        #expect(daemon.waitForRouted(["linked.json"], timeout: 15), "\(daemon.log.suffix(2000))")
        #expect(daemon.routedEverywhere == ["rejected/linked.json"], "rejected, whatever it holds: \(daemon.routedEverywhere)")
        let report = String(decoding: daemon.contents("rejected/linked.json.report.txt") ?? Data(), as: UTF8.self)
        #expect(report.contains("hard link"), "the report says why:\n\(report)")
        #expect(daemon.reportDecision("rejected", "linked.json") == "rejected")
        #expect(try Data(contentsOf: original) == (try example("concentrate-run.json")), "the other name's bytes are untouched")
    }
}
