#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore

/// Claims manifests from the inbox, evaluates them and moves each, with its two reports, into its
/// outcome folder, so that a crash at any instant leaves every manifest in exactly one place and a
/// restart finishes the job without a second report.
///
/// Work goes in batches (one file under light load, up to a few hundred in a burst):
/// 1. each file is renamed from `inbox/` into `processing/` (never replacing a name);
/// 2. each is read and evaluated, and its outcome folder and free name are chosen;
/// 3. a journal listing those routes is written into `processing/`;
/// 4. the reports are written under temporary names in the outcome folders, and the alerts as
///    drafts in `outbox/`;
/// 5. one flush of the filesystem makes the journal, the reports and the alerts durable (`syncfs`);
/// 6. the reports take their names, the manifests move and the alerts are published (senders see
///    them from then on); the folders are flushed;
/// 7. the audit lines are appended and flushed, and the journal is removed.
/// Recovery replays any journal left in `processing/` (writing only what is missing) and then
/// routes claimed files that no journal names.
///
/// Not thread-safe: one router is used from one queue.
public final class Router {
    /// A routed manifest and its report.
    public struct Outcome: Sendable {
        public var entry: RouteEntry
        public var report: ManifestReport
        /// The alerts published for it, for the senders.
        public var alerts: [OutboxEntry] = []
    }

    public let layout: StateLayout
    /// Replaced on reload (new catalog or rules).
    public var checker: ManifestChecker
    /// Flush to disk before going on (config `fsync`).
    public let syncToDisk: Bool
    /// Which sinks hear about what; nil or empty when no alert is configured. Replaced on reload.
    public var alerts: AlertPlanner?
    private let outbox: Outbox?
    private let log: Logger
    private let audit: AuditLog
    private let rootFD: Int32
    private let inboxFD: Int32
    private let processingFD: Int32
    private let folderFDs: [Decision: Int32]
    private var journalCounter = 0

    /// The most manifests one batch routes (one journal, one flush to disk).
    public static let batchLimit = 256

    public init(layout: StateLayout, checker: ManifestChecker, syncToDisk: Bool, log: Logger, audit: AuditLog,
                outbox: Outbox? = nil, alerts: AlertPlanner? = nil) throws(SystemError) {
        self.layout = layout
        self.outbox = outbox
        self.alerts = alerts
        self.checker = checker
        self.syncToDisk = syncToDisk
        self.log = log
        self.audit = audit
        rootFD = try System.openDirectory(layout.root)
        inboxFD = try System.openDirectory(layout.inbox)
        processingFD = try System.openDirectory(layout.processing)
        var folders: [Decision: Int32] = [:]
        for decision in Decision.allCases { folders[decision] = try System.openDirectory(layout.folder(for: decision)) }
        folderFDs = folders
    }

    deinit {
        for fd in [rootFD, inboxFD, processingFD] + Array(folderFDs.values) { System.close(fd) }
    }

    // MARK: Routing

    /// What became of a batch of inbox names.
    public struct BatchResult: Sendable {
        public var outcomes: [Outcome] = []
        /// Names left in the inbox because `processing/` holds the same name; try again later.
        public var deferred: [String] = []
    }

    /// Claims and routes these inbox names as one batch. Names already gone are skipped.
    public func route(_ names: [String]) -> BatchResult {
        var result = BatchResult()
        var claimed: [(name: String, receivedAt: String)] = []
        var seen = Set<String>()
        for name in names where seen.insert(name).inserted {
            do {
                try System.renameNoReplace(from: inboxFD, name, to: processingFD, name, describing: layout.inbox + "/" + name)
                claimed.append((name, Timestamp.now()))
            } catch where error.errno == ENOENT {
                continue  // taken already, or removed by its writer
            } catch where error.errno == EEXIST {
                result.deferred.append(name)
            } catch {
                log.error("cannot claim \(name) from the inbox: \(error); it stays there and is tried again at the next scan")
            }
        }
        result.outcomes = process(claimed)
        return result
    }

    /// Evaluates claimed files in `processing/` and routes them (steps 2 to 7).
    private func process(_ claimed: [(name: String, receivedAt: String)]) -> [Outcome] {
        guard !claimed.isEmpty else { return [] }
        var reserved: [Decision: Set<String>] = [:]
        var planned: [Outcome] = []
        for claim in claimed {
            let report = evaluate(in: processingFD, claim.name, folder: layout.processing)
            let decision = report.decision
            let finalName = freeName(claim.name, in: decision, reserved: &reserved[decision, default: []])
            let entry = RouteEntry(id: RouteEntry.newID(), name: claim.name, decision: decision, finalName: finalName,
                                   receivedAt: claim.receivedAt, routedAt: Timestamp.now())
            planned.append(Outcome(entry: entry, report: report, alerts: alertEntries(entry, report)))
        }
        let journal: String
        do {
            journal = try writeJournal(planned.map(\.entry))
        } catch {
            log.error("cannot write the routing journal: \(error); \(planned.count) manifest(s) stay in processing/ and are tried again")
            return []
        }
        var written: [Outcome] = []
        for outcome in planned {
            do {
                try writeReportDrafts(outcome)
                try writeAlertDrafts(outcome.alerts)
                written.append(outcome)
            } catch {
                log.error("cannot write the reports or alerts of \(outcome.entry.name): \(error); it stays in processing/ and is tried again")
            }
        }
        flushFilesystem()
        var moved: [Outcome] = []
        var published = true
        for outcome in written {
            do {
                try publishReports(outcome.entry)
                try moveManifest(outcome.entry, from: processingFD)
                moved.append(outcome)
            } catch {
                log.error("cannot move \(outcome.entry.name) to \(outcome.entry.decision.rawValue)/: \(error); it stays in processing/ and is tried again")
                continue
            }
            let done = publishAlerts(outcome.alerts, of: outcome.entry)
            moved[moved.count - 1].alerts = done.published
            published = done.all && published
        }
        flushFolders(Set(moved.map(\.entry.decision)), outbox: moved.contains { !$0.alerts.isEmpty })
        // The journal goes only once everything it names is done, audit line included.
        if appendAudit(moved) && moved.count == planned.count && published { removeJournal(journal) }
        return moved
    }

    // MARK: Recovery

    /// Finishes what a crash left: first every journal in `processing/`, then claimed files that
    /// no journal names. Returns the manifests routed.
    public func recover() -> [Outcome] {
        let entries: [String]
        do {
            entries = try System.listDirectory(layout.processing).compactMap(\.name)
        } catch {
            log.error("cannot list \(layout.processing): \(error)")
            return []
        }
        var outcomes: [Outcome] = []
        var journaled = Set<String>()
        let journals = entries.filter { $0.hasPrefix(".journal-") }.sorted()
        // The ids already audited, read once (not once per entry) from the log's tail.
        let audited = journals.isEmpty ? [] : audit.recentIDs()
        for journal in journals {
            let replayed = replay(journal: journal, audited: audited)
            // Every name a journal holds is its to finish, done or not: never routed anew.
            journaled.formUnion(replayed.names)
            outcomes += replayed.done
        }
        let leftovers = entries.filter { !$0.hasPrefix(".") && !journaled.contains($0) }.sorted()
        if !leftovers.isEmpty {
            log.notice("finishing \(leftovers.count) manifest(s) left in processing/ by an earlier run")
            let claims = leftovers.map { name in
                let changed = (try? System.lstatAt(processingFD, name)).map { Double($0.st_ctim.tv_sec) } ?? System.wallClock()
                return (name: name, receivedAt: Timestamp.iso8601(changed))
            }
            // In batches of the usual size, so a large pile keeps journals and memory small.
            for start in stride(from: 0, to: claims.count, by: Self.batchLimit) {
                outcomes += process(Array(claims[start..<min(start + Self.batchLimit, claims.count)]))
            }
        }
        return outcomes
    }

    /// Completes the routes of one journal, writing only what is missing.
    private func replay(journal: String, audited: Set<String>) -> (done: [Outcome], names: [String]) {
        let path = layout.processing + "/" + journal
        let fd = Glibc.openat(processingFD, journal, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            log.error("cannot open the journal \(path): \(SystemError("open", path, errno: errno))")
            return ([], [])
        }
        let bytes = (try? System.readAll(fd, describing: path)) ?? []
        System.close(fd)
        let routes = bytes.split(separator: 0x0A).compactMap { RouteEntry(journalLine: $0) }
        log.notice("replaying the journal \(journal): \(routes.count) manifest(s) were being routed when the last run stopped")

        var complete = true
        var pending: [(outcome: Outcome, inProcessing: Bool, needsReports: Bool)] = []
        for var entry in routes {
            var target = folderFDs[entry.decision]!
            let inProcessing = exists(processingFD, entry.name)
            var inTarget = exists(target, entry.finalName)
            guard inProcessing || inTarget else {
                log.warning("\(entry.name) named in \(journal) is neither in processing/ nor in \(entry.decision.rawValue)/ as \(entry.finalName); skipped")
                continue
            }
            if inProcessing && inTarget {
                if sameFile(processingFD, entry.name, target, entry.finalName) {
                    // A crash between link and unlink of the fallback move: the move is done.
                    _ = unlinkat(processingFD, entry.name, 0)
                } else {
                    // Another file took the name meanwhile: ours gets the next free one.
                    var reserved = Set<String>()
                    entry.finalName = freeName(entry.name, in: entry.decision, reserved: &reserved)
                    log.warning("\(entry.decision.rawValue)/ holds another file named as \(entry.name) was to be; it goes in as \(entry.finalName)")
                    inTarget = false
                }
            }
            target = folderFDs[entry.decision]!
            let stillInProcessing = exists(processingFD, entry.name)
            let source = stillInProcessing ? processingFD : target
            let sourceName = stillInProcessing ? entry.name : entry.finalName
            let sourceFolder = stillInProcessing ? layout.processing : layout.folder(for: entry.decision)
            var report = evaluate(in: source, sourceName, folder: sourceFolder)
            report.file = entry.name
            let needsReports = !exists(target, entry.reportJSONName) || !exists(target, entry.reportTextName)
            // Alerts: drafts are written before the move and published after it. Still in
            // processing/, a draft may never have reached the disk: write it again (senders never
            // saw it). Moved, a draft left is published; no draft means published already.
            let inProcessingNow = stillInProcessing && !inTarget
            var alerts: [OutboxEntry] = []
            if let outbox {
                let drafts = outbox.drafts(ofRoute: entry.id)
                if inProcessingNow {
                    // Not moved: the config in force decides; drafts it would not write go.
                    alerts = alertEntries(entry, report).filter { !outbox.isWaiting($0) }
                    for draft in drafts where !alerts.contains(where: { $0.id == draft.id }) { outbox.dropDraft(draft) }
                } else {
                    // Moved: the drafts on disk are the alerts owed, whatever the config says now
                    // (the senders dead-letter those for sinks that are gone).
                    alerts = drafts
                }
            }
            pending.append((Outcome(entry: entry, report: report, alerts: alerts), inProcessingNow, needsReports))
        }
        // Drafts first, one flush for all of them, then names and moves.
        var drafted: [(outcome: Outcome, inProcessing: Bool, needsReports: Bool)] = []
        for item in pending {
            do {
                if item.needsReports { try writeReportDrafts(item.outcome) }
                if item.inProcessing { try writeAlertDrafts(item.outcome.alerts) }
                drafted.append(item)
            } catch {
                complete = false
                log.error("cannot finish routing \(item.outcome.entry.name) from \(journal): \(error)")
            }
        }
        if drafted.contains(where: { $0.needsReports || ($0.inProcessing && !$0.outcome.alerts.isEmpty) }) { flushFilesystem() }
        var done: [Outcome] = []
        for item in drafted {
            do {
                if item.needsReports { try publishReports(item.outcome.entry) }
                if item.inProcessing { try moveManifest(item.outcome.entry, from: processingFD) }
                done.append(item.outcome)
            } catch {
                complete = false
                log.error("cannot finish routing \(item.outcome.entry.name) from \(journal): \(error)")
                continue
            }
            let published = publishAlerts(item.outcome.alerts, of: item.outcome.entry)
            done[done.count - 1].alerts = published.published
            if !published.all { complete = false }
        }
        flushFolders(Set(done.map(\.entry.decision)), outbox: done.contains { !$0.alerts.isEmpty })
        let audits = appendAudit(done.filter { !audited.contains($0.entry.id) })
        if complete && audits { removeJournal(journal) }
        return (done, routes.map(\.name))
    }

    /// True when the two names are one file (same device and inode).
    private func sameFile(_ directoryA: Int32, _ nameA: String, _ directoryB: Int32, _ nameB: String) -> Bool {
        var a = stat(), b = stat()
        guard fstatat(directoryA, nameA, &a, AT_SYMLINK_NOFOLLOW) == 0, fstatat(directoryB, nameB, &b, AT_SYMLINK_NOFOLLOW) == 0
        else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    // MARK: Steps

    /// Reads and checks one file, never following a link and never blocking on a FIFO.
    private func evaluate(in directory: Int32, _ name: String, folder: String) -> ManifestReport {
        let path = folder + "/" + name
        let info: stat
        do {
            info = try System.lstatAt(directory, name, in: folder + "/")
        } catch {
            return .unreadable(file: name, reason: "the file could not be read: \(error)")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            break
        case S_IFLNK:
            return .unreadable(file: name, reason: "the file is a symbolic link; batchgate never follows links, so it was moved to rejected/ as a link: drop the file itself")
        case S_IFIFO:
            return .unreadable(file: name, reason: "the file is a named pipe (FIFO), not a regular file")
        default:
            return .unreadable(file: name, reason: "the file is not a regular file")
        }
        let fd = Glibc.openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            return .unreadable(file: name, reason: "the file could not be opened: \(String(cString: strerror(errno))) (check the permissions of \(path))")
        }
        defer { System.close(fd) }
        var opened = stat()
        guard fstat(fd, &opened) == 0, (opened.st_mode & S_IFMT) == S_IFREG else {
            return .unreadable(file: name, reason: "the file is not a regular file")
        }
        let bytes: [UInt8]
        do {
            bytes = try System.readAll(fd, limit: checker.maximumSize, sizeHint: Int(opened.st_size), describing: path)
        } catch {
            return .unreadable(file: name, reason: "the file could not be read: \(String(cString: strerror(error.errno)))")
        }
        return checker.check(fileName: name, bytes: bytes, fileSize: Int(opened.st_size))
    }

    /// The first of `name`, `name.2`, `name.3`, … that neither the folder (as a manifest or a
    /// report) nor this batch has taken.
    private func freeName(_ name: String, in decision: Decision, reserved: inout Set<String>) -> String {
        let folder = folderFDs[decision]!
        var number = 1
        while true {
            let candidate = suffixedName(name, number)
            if !reserved.contains(candidate), !exists(folder, candidate), !exists(folder, candidate + ".report.json"),
               !exists(folder, candidate + ".report.txt") {
                reserved.insert(candidate)
                return candidate
            }
            number += 1
        }
    }

    private func exists(_ directory: Int32, _ name: String) -> Bool {
        var info = stat()
        return fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT
    }

    private func writeJournal(_ entries: [RouteEntry]) throws(SystemError) -> String {
        journalCounter += 1
        // A random id, never a pid alone (a container's daemon is pid 1 on every run), and
        // created with O_EXCL: an older journal is never replaced.
        let name = ".journal-\(RouteEntry.newID())-\(journalCounter).jsonl"
        var bytes: [UInt8] = []
        for entry in entries { bytes += entry.journalLine(); bytes.append(0x0A) }
        let path = layout.processing + "/" + name
        let fd: Int32
        do {
            fd = try System.createFile(in: processingFD, name, contents: bytes, describing: path)
        } catch {
            _ = unlinkat(processingFD, name, 0)  // no empty or torn journal left (a full disk)
            throw error
        }
        System.close(fd)
        return name
    }

    private func removeJournal(_ name: String) {
        if unlinkat(processingFD, name, 0) != 0 {
            log.warning("cannot remove the journal \(layout.processing)/\(name): \(String(cString: strerror(errno)))")
        }
    }

    /// The two report files under temporary dot-names in the outcome folder.
    private func writeReportDrafts(_ outcome: Outcome) throws(SystemError) {
        let entry = outcome.entry
        var report = outcome.report
        report.file = entry.finalName
        let extra = [("originalName", entry.name), ("receivedAt", entry.receivedAt), ("routedAt", entry.routedAt)]
            .map { (key: $0.0, value: $0.1) }
        let json = report.jsonLine(extra: extra) + [0x0A]
        var text = "received: \(entry.receivedAt) as \(entry.name)\nrouted:   \(entry.routedAt) to \(entry.decision.rawValue)/\n\n"
        text += report.text
        let folder = folderFDs[entry.decision]!
        let folderPath = layout.folder(for: entry.decision)
        for (name, bytes) in [(entry.reportJSONName, json), (entry.reportTextName, Array(text.utf8))] {
            let draft = "." + name + ".tmp"
            _ = unlinkat(folder, draft, 0)
            let fd = try System.createFile(in: folder, draft, contents: bytes, describing: folderPath + "/" + draft)
            System.close(fd)
        }
    }

    /// Gives the report drafts their names; a name already there (written before a crash) stays.
    private func publishReports(_ entry: RouteEntry) throws(SystemError) {
        let folder = folderFDs[entry.decision]!
        let folderPath = layout.folder(for: entry.decision)
        for name in [entry.reportJSONName, entry.reportTextName] {
            do {
                try System.renameNoReplace(from: folder, "." + name + ".tmp", to: folder, name, describing: folderPath + "/" + name)
            } catch where error.errno == EEXIST {
                _ = unlinkat(folder, "." + name + ".tmp", 0)
            }
        }
    }

    private func moveManifest(_ entry: RouteEntry, from directory: Int32) throws(SystemError) {
        try System.renameNoReplace(from: directory, entry.name, to: folderFDs[entry.decision]!, entry.finalName,
                                   describing: layout.processing + "/" + entry.name)
    }

    private func flushFilesystem() {
        guard syncToDisk else { return }
        do {
            try System.syncFilesystem(rootFD, describing: layout.root)
        } catch {
            log.error("cannot flush the state filesystem: \(error)")
        }
    }

    private func flushFolders(_ decisions: Set<Decision>, outbox flushOutbox: Bool) {
        guard syncToDisk else { return }
        for fd in decisions.compactMap({ folderFDs[$0] }) + [processingFD] {
            do {
                try System.fsync(fd, describing: layout.root)
            } catch {
                log.error("cannot flush a folder of \(layout.root): \(error)")
            }
        }
        if flushOutbox, let outbox {
            do {
                try outbox.flush()
            } catch {
                log.error("cannot flush \(outbox.folder): \(error)")
            }
        }
    }

    // MARK: Alerts

    /// The outbox entries of this route, one per sink that wants its decision.
    private func alertEntries(_ entry: RouteEntry, _ report: ManifestReport) -> [OutboxEntry] {
        guard outbox != nil, let alerts, !alerts.isEmpty else { return [] }
        return alerts.entries(for: entry, report: report, createdAt: System.wallClock())
    }

    private func writeAlertDrafts(_ entries: [OutboxEntry]) throws(SystemError) {
        guard let outbox else { return }
        for entry in entries { try outbox.writeDraft(entry) }
    }

    /// Publishes the alerts of a moved manifest. Returns those now published, for the senders,
    /// and false when one could not be (logged), so the journal is kept and a replay publishes it.
    private func publishAlerts(_ entries: [OutboxEntry], of route: RouteEntry) -> (published: [OutboxEntry], all: Bool) {
        guard let outbox else { return ([], true) }
        var all = true
        var published: [OutboxEntry] = []
        for entry in entries {
            do {
                if try outbox.publish(entry) { published.append(entry) }
            } catch {
                all = false
                log.error("cannot publish the alert \(entry.id) about \(route.name) in \(outbox.folder): \(error); it is tried again")
            }
        }
        return (published, all)
    }

    /// Appends the audit lines; false (logged) when they could not be written.
    private func appendAudit(_ outcomes: [Outcome]) -> Bool {
        do {
            try audit.append(outcomes.map { AuditLog.line(for: $0.entry, report: $0.report) }, sync: syncToDisk)
            return true
        } catch {
            log.error("cannot append to the audit log \(audit.path): \(error); the journal is kept to try again")
            return false
        }
    }
}
