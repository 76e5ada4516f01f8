import Foundation
import Testing
import BatchgateConfig
import BatchgateCore
import BatchgateSystem
@testable import BatchgateAlerts
@testable import BatchgateCatalog
@testable import BatchgateStatus

/// Whole state roots read as `batchgate status` reads them: a lock held by another process, the
/// outbox, the inbox, the Metrc cache, folders this user may not read.
@Suite(.serialized) struct StatusReaderTests {
    /// A configuration of the state root with two sinks and a Metrc account (its keys unread).
    func config(_ root: StateRoot, inbox: String? = nil, metrc: Bool = true) throws -> DaemonConfig {
        var yaml = "stateRoot: \(root.path)\n"
        if let inbox { yaml += "inbox: \(inbox)\n" }
        if metrc {
            yaml += """
                catalog:
                  items: \(root.path)/items.json
                  metrc:
                    server: http://127.0.0.1:9
                    licenseNumber: 403R-X0001
                    vendorKey: {credential: metrc-vendor-key}
                    userKey: {credential: metrc-user-key}

                """
        }
        yaml += """
            alerts:
              sinks:
                - name: compliance-slack
                  type: slack
                  url: http://127.0.0.1:9/slack
                - name: mail
                  type: email
                  url: smtp://127.0.0.1:9
                  from: gate@example.com
                  to: qa@example.com

            """
        return try ConfigLoader.load(yaml: yaml, fileName: "batchgate.yaml", baseDirectory: root.path)
    }

    /// An alert file as the daemon writes it into `folder` (`outbox` or `outbox/dead`).
    func alert(_ root: StateRoot, in folder: String, route: String, sink: String, createdAt: Double, retriedAt: Double? = nil,
               answer: String? = nil, writtenAt: Double? = nil) throws {
        var entry = OutboxEntry(routeID: route, sink: sink, createdAt: createdAt, alert: "{}")
        entry.retriedAt = retriedAt
        entry.lastAnswer = answer
        try root.write(folder + "/" + entry.fileName, String(decoding: entry.encoded(), as: UTF8.self), modified: writtenAt)
    }

    @Test func aLockHeldByAnotherProcessIsARunningDaemon() throws {
        let root = try StateRoot()
        defer { root.remove() }
        let reader = StatusReader(config: try config(root, metrc: false))
        // No daemon yet, but a pid left by the last one.
        try root.write(".batchgate.lock", "999999\n")
        var status = try reader.read(now: System.wallClock())
        #expect(status.daemon == DaemonState(running: false, pid: 999_999, startedAt: nil))

        let holder = try LockHolder(folder: root.path)
        defer { holder.stop() }
        #expect(holder.waitUntilHeld(root.path))
        try root.write(".batchgate.lock", "\(holder.pid)\n")
        let before = System.wallClock()
        status = try reader.read(now: System.wallClock())
        #expect(status.daemon.running)
        #expect(status.daemon.pid == holder.pid)
        // The child started within the test: /proc gives its start to the clock tick.
        let started = try #require(status.daemon.startedAt)
        #expect(started <= before + 1 && started > before - 600)

        // /proc/locks unreadable (a folder without it stands for /proc): the lock is tried instead.
        let fakeProc = root.path + "/proc"
        try FileManager.default.createDirectory(atPath: fakeProc, withIntermediateDirectories: true)
        status = try StatusReader(config: reader.config, procRoot: fakeProc).read(now: System.wallClock())
        #expect(status.daemon == DaemonState(running: true, pid: holder.pid, startedAt: nil))

        holder.stop()
        status = try reader.read(now: System.wallClock())
        #expect(status.daemon == DaemonState(running: false, pid: holder.pid, startedAt: nil))
        status = try StatusReader(config: reader.config, procRoot: fakeProc).read(now: System.wallClock())
        #expect(!status.daemon.running)
        // The trial lock was released: a daemon could take the state root now.
        let fd = open(root.path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
    }

    @Test func alertsPerSinkWithTheirOldestAndTheLastDeadLetter() throws {
        let root = try StateRoot()
        defer { root.remove() }
        let now = System.wallClock()
        try alert(root, in: "outbox", route: "r1", sink: "compliance-slack", createdAt: now - 500)
        try alert(root, in: "outbox", route: "r2", sink: "compliance-slack", createdAt: now - 60)
        // Written long ago, sent back by `alert retry` a moment ago: it has waited since then.
        try alert(root, in: "outbox", route: "r7", sink: "compliance-slack", createdAt: now - 20_000, retriedAt: now - 30)
        try alert(root, in: "outbox/dead", route: "r0", sink: "compliance-slack", createdAt: now - 9000,
                  answer: "HTTP 500\n  upstream down\n", writtenAt: now - 100)
        try alert(root, in: "outbox/dead", route: "r9", sink: "compliance-slack", createdAt: now - 9500,
                  answer: "HTTP 404: no_service", writtenAt: now - 8000)
        // A sink the config no longer names still shows, with its files.
        try alert(root, in: "outbox", route: "r3", sink: "old-hook", createdAt: now - 70)
        // Files a reader must not take: a draft, a temporary file, and one that does not decode.
        try root.write("outbox/.r4-compliance-slack.json.draft", "{}")
        try root.write("outbox/.r5-compliance-slack.json.tmp", "{}")
        try root.write("outbox/dead/r6-mail.json", "{\"id\":")
        let status = try StatusReader(config: try config(root)).read(now: now)
        #expect(status.sinks == [
            SinkQueue(name: "compliance-slack", type: "slack", pending: 3, oldestPendingSince: now - 500, dead: 2,
                      lastDeadAt: status.sinks.first?.lastDeadAt, lastDeadAnswer: "HTTP 500 upstream down"),
            SinkQueue(name: "mail", type: "email"),
            SinkQueue(name: "old-hook", type: nil, pending: 1, oldestPendingSince: now - 70),
        ])
        #expect(abs((status.sinks.first?.lastDeadAt ?? 0) - (now - 100)) < 1)
        #expect(status.unreadableAlerts == [root.path + "/outbox/dead/r6-mail.json"])
        #expect(status.problems.isEmpty)
    }

    @Test func filesWaitingInAnInboxElsewhereAndInProcessing() throws {
        let root = try StateRoot()
        defer { root.remove() }
        let drop = try StateRoot()
        defer { drop.remove() }
        let now = System.wallClock()
        try drop.write("a.json", "{}", modified: now - 200)
        try drop.write("b.csv", "x", modified: now - 30)
        // Still being written, or not meant for batchgate: not waiting.
        try drop.write("c.json.part", "x", modified: now - 900)
        try drop.write(".hidden", "x", modified: now - 900)
        try root.write("processing/d.json", "{}", modified: now - 45)
        try root.write("processing/.journal-1.json", "{}", modified: now - 900)
        let status = try StatusReader(config: try config(root, inbox: drop.path)).read(now: now)
        #expect(status.folders.count == 2)
        #expect(status.folders[0].name == "inbox" && status.folders[0].path == drop.path && status.folders[0].count == 2)
        #expect(abs((status.folders[0].oldestSince ?? 0) - (now - 200)) < 1)
        #expect(status.folders[1].count == 1 && abs((status.folders[1].oldestSince ?? 0) - (now - 45)) < 1)
    }

    @Test func catalogFreshnessFromTheCacheAndTheOutageMarker() throws {
        let root = try StateRoot()
        defer { root.remove() }
        let now = System.wallClock()
        let layout = DaemonConfig.defaults(stateRoot: root.path).layout
        try FileManager.default.createDirectory(atPath: layout.catalogFolder, withIntermediateDirectories: true)
        var snapshot = MetrcSnapshot(server: "http://127.0.0.1:9", licenseNumber: "403R-X0001")
        // Records enough that the parts are read from the file's start alone, as from all of it.
        snapshot.learn(items: (0..<3000).map { MetrcRecord(entry: Catalog.Item(name: "Item \($0)", category: "Buds"), lastModified: nil) },
                       at: now - 300)
        snapshot.learn(packages: (0..<5000).map {
            MetrcRecord(entry: Catalog.Package(tag: "1A4FF01000000220000\(10000 + $0)", item: "Item 1", category: nil), lastModified: nil)
        }, from: .activePackages, at: now - 290)
        snapshot.markSynced(.items, until: now - 400, at: now - 300)
        snapshot.markSynced(.activePackages, until: now - 400, at: now - 290)
        try MetrcCacheFile.save(snapshot, to: layout.metrcCache)
        #expect(try FileManager.default.attributesOfItem(atPath: layout.metrcCache)[.size] as? Int ?? 0 > MetrcCacheFile.headSize)
        let parts = try #require(try MetrcCacheFile.loadParts(layout.metrcCache))
        #expect(parts.parts == snapshot.parts && parts.server == snapshot.server && parts.itemCount == 0)
        var status = try StatusReader(config: try config(root)).read(now: now)
        var metrc = try #require(status.catalog.metrc)
        #expect(metrc.cacheRead && metrc.unreachableSince == nil)
        #expect(metrc.parts.map(\.name) == ["items", "packages.active", "packages.onhold", "packages.inactive"])
        #expect(metrc.parts.map(\.syncedAt) == [now - 300, now - 290, nil, nil])
        #expect(metrc.parts.map(\.records) == [3000, 5000, nil, nil])
        #expect(status.catalog.itemsFile == root.path + "/items.json")

        try root.write("catalog/unreachable", "\(now - 3720)\ncould not connect to 127.0.0.1\n")
        status = try StatusReader(config: try config(root)).read(now: now)
        metrc = try #require(status.catalog.metrc)
        #expect(metrc.unreachableSince == now - 3720 && metrc.unreachableReason == "could not connect to 127.0.0.1")

        // A cache an older batchgate wrote (version 1) is read; its parts show as never synced,
        // since the daemon syncs them all afresh to fill the fields that version lacks.
        try root.write("catalog/metrc.json", #"{"version":1,"server":"http://127.0.0.1:9","licenseNumber":"403R-X0001","#
            + #""parts":{"items":{"syncedUntil":\#(now - 400),"syncedAt":\#(now - 300),"count":1}},"#
            + #""itemFields":["name","category","lastModified","learnedAt"],"items":[["Item 1","Buds",null,\#(now - 300)]],"#
            + #""packageFields":["tag","item","category","part","lastModified","learnedAt"],"packages":[]}"#)
        status = try StatusReader(config: try config(root)).read(now: now)
        metrc = try #require(status.catalog.metrc)
        #expect(metrc.cacheRead && status.problems.isEmpty, "\(status.problems)")
        #expect(metrc.parts.map(\.syncedAt) == [nil, nil, nil, nil] && metrc.parts.map(\.records) == [nil, nil, nil, nil])

        // A cache cut short is named, and the rest is still read.
        try root.write("catalog/metrc.json", "{\"version\":1,")
        status = try StatusReader(config: try config(root)).read(now: now)
        #expect(status.catalog.metrc?.cacheRead == false)
        #expect(status.problems.count == 1 && status.problems[0].contains(layout.metrcCache))

        // Without catalog.metrc, only the files are named.
        status = try StatusReader(config: try config(root, metrc: false)).read(now: now)
        #expect(status.catalog == CatalogStatus(itemsFile: nil, packagesFile: nil, metrc: nil))
    }

    @Test(.enabled(if: getuid() != 0, "root reads every folder"))
    func aFolderThisUserCannotReadIsNamedAndTheRestIsRead() throws {
        let root = try StateRoot()
        defer { root.remove() }
        let now = System.wallClock()
        try root.write("audit.jsonl", StateRoot.auditLine(at: now - 10, .accepted) + "\n")
        try alert(root, in: "outbox", route: "r1", sink: "mail", createdAt: now - 5)
        chmod(root.path + "/processing", 0)
        chmod(root.path + "/outbox/dead", 0)
        let status = try StatusReader(config: try config(root, metrc: false)).read(now: now)
        #expect(status.folders[1].count == nil)
        #expect(status.problems.contains { $0.contains(root.path + "/processing") && $0.contains("Permission denied") })
        #expect(status.problems.contains { $0.contains(root.path + "/outbox/dead") })
        #expect(status.decisions?.lastHour[.accepted] == 1)
        #expect(status.sinks.first { $0.name == "mail" }?.pending == 1)
        #expect(status.sinks.first { $0.name == "mail" }.map { $0.dead == nil } == true, "unknown, not 0")

        // An audit log this user cannot read: no counts rather than zeros.
        chmod(root.path + "/audit.jsonl", 0)
        let unread = try StatusReader(config: try config(root, metrc: false)).read(now: now)
        #expect(unread.decisions == nil)
        #expect(unread.problems.contains { $0.contains(root.path + "/audit.jsonl") })
    }

    /// A dead-letter folder that cannot be listed (here: a file where the folder should be, which
    /// even root cannot list) counts as unknown, never as no dead letters.
    @Test func anOutboxFolderThatCannotBeListedIsUnknownNotZero() throws {
        let root = try StateRoot()
        defer { root.remove() }
        let now = System.wallClock()
        try alert(root, in: "outbox", route: "r1", sink: "mail", createdAt: now - 5)
        #expect(rmdir(root.path + "/outbox/dead") == 0)
        try root.write("outbox/dead", "not a folder")
        let status = try StatusReader(config: try config(root, metrc: false)).read(now: now)
        let mail = try #require(status.sinks.first { $0.name == "mail" })
        #expect(mail.pending == 1 && mail.dead == nil)
        #expect(status.problems.contains { $0.contains(root.path + "/outbox/dead") })
        #expect(StatusText.render(status).contains("?"))
        #expect(StatusJSON.render(status).contains("\"dead\":null"))
    }

    @Test func aMissingStateRootIsAnError() throws {
        let config = DaemonConfig.defaults(stateRoot: "/nonexistent/batchgate-\(UUID().uuidString)")
        #expect(throws: StatusError.self) { try StatusReader(config: config).read(now: 0) }
        do {
            _ = try StatusReader(config: config).read(now: 0)
        } catch {
            #expect(error.step == .openStateRoot && error.errno == ENOENT)
        }
    }
}
