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
/// 3. a journal listing those routes is written into `processing/` (and flushed, with fsync on);
/// 4. the reports are created under their final names in the outcome folders (never replacing a
///    name), and the alerts as drafts in `outbox/`;
/// 5. one flush of the filesystem makes the reports and the alerts durable (`syncfs`);
/// 6. the manifests move and the alerts are published (senders see them from then on); the
///    folders are flushed;
/// 7. the audit lines are appended and flushed, and the journal is removed.
/// So a manifest in an outcome folder always has its two complete reports beside it, and a report
/// whose manifest is still in `processing/` may be unfinished: recovery replays any journal left
/// in `processing/`, writing again such a report when it is provably its own (empty, or starting
/// with the route's own header) and choosing another name when it is not, and then routes claimed
/// files that no journal names. Each manifest costs two renames (claim and move), two files
/// created and one read.
///
/// Not thread-safe: one router is used from one queue. Within a batch it reads, evaluates and
/// writes reports on several cores (``ParallelMap``); everything whose order matters stays on the
/// calling thread.
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
        var seen = Set<String>()
        let unique = names.filter { seen.insert($0).inserted }
        // Claimed and read on several cores: each file's claim and read are its own.
        let claims = ParallelMap.map(unique.count) { index in claim(unique[index]) }
        var claimed: [Claim] = []
        for (name, claim) in zip(unique, claims) {
            switch claim {
            case .success(let claim?):
                claimed.append(claim)
            case .success(nil):
                continue  // taken already, or removed by its writer
            case .failure(let error) where error.errno == EEXIST:
                result.deferred.append(name)
            case .failure(let error):
                log.error("cannot claim \(name) from the inbox: \(error); it stays there and is tried again at the next scan")
            }
        }
        result.outcomes = process(claimed)
        return result
    }

    /// A claimed file in `processing/`, read and evaluated.
    private struct Claim {
        var name: String
        var receivedAt: String
        var report: ManifestReport
        /// Whether the file's own name (and its reports' names) were free in its outcome folder
        /// when it was read: looked up on the worker, so that naming the batch mostly need not.
        var ownNameFree: Bool
    }

    /// Renames one file from the inbox into `processing/` (nil when it is gone) and evaluates it.
    /// Safe to run for several files at once.
    private func claim(_ name: String) -> Result<Claim?, SystemError> {
        do {
            try System.renameNoReplace(from: inboxFD, name, to: processingFD, name, describing: layout.inbox + "/" + name)
        } catch where error.errno == ENOENT {
            return .success(nil)
        } catch {
            return .failure(error)
        }
        let receivedAt = Timestamp.now()
        return .success(claimed(name, receivedAt: receivedAt))
    }

    /// A claimed file evaluated. Safe to run for several files at once.
    private func claimed(_ name: String, receivedAt: String) -> Claim {
        let report = evaluate(in: processingFD, name, folder: layout.processing)
        return Claim(name: name, receivedAt: receivedAt, report: report,
                     ownNameFree: isFree(suffixedName(name, 1), in: report.decision))
    }

    /// Routes claimed and evaluated files (steps 2 to 7).
    private func process(_ claimed: [Claim]) -> [Outcome] {
        guard !claimed.isEmpty else { return [] }
        var reserved: [Decision: Set<String>] = [:]
        var planned: [Outcome] = []
        for claim in claimed {
            let decision = claim.report.decision
            let finalName = freeName(claim.name, in: decision, reserved: &reserved[decision, default: []], ownNameFree: claim.ownNameFree)
            let entry = RouteEntry(id: RouteEntry.newID(), name: claim.name, decision: decision, finalName: finalName,
                                   receivedAt: claim.receivedAt, routedAt: Timestamp.now())
            planned.append(Outcome(entry: entry, report: claim.report, alerts: alertEntries(entry, claim.report)))
        }
        let journal: String
        do {
            journal = try writeJournal(planned.map(\.entry))
        } catch {
            log.error("cannot write the routing journal: \(error); \(planned.count) manifest(s) stay in processing/ and are tried again")
            return []
        }
        // The reports on several cores (each file its own), then the alert drafts.
        let reports = ParallelMap.map(planned.count) { index in
            Result { () throws(SystemError) in try createReports(planned[index]) }
        }
        var written: [Outcome] = []
        for (outcome, created) in zip(planned, reports) {
            do {
                try created.get()
            } catch where error.errno == EEXIST {
                log.warning("a file took a report name of \(outcome.entry.finalName) in \(outcome.entry.decision.rawValue)/ while it was being routed; \(outcome.entry.name) stays in processing/ and takes another name when processing/ is next recovered (at the next rescan or start)")
                continue
            } catch {
                log.error("cannot write the reports of \(outcome.entry.name): \(error); it stays in processing/ and is tried again")
                continue
            }
            do {
                try writeAlertDrafts(outcome.alerts)
                written.append(outcome)
            } catch {
                log.error("cannot write the alerts of \(outcome.entry.name): \(error); it stays in processing/ and is tried again")
            }
        }
        guard flushFilesystem(keeping: written.count) else { return [] }
        var moved: [Outcome] = []
        var published = true
        let moves = ParallelMap.map(written.count) { index in
            Result { () throws(SystemError) in try moveManifest(written[index].entry, from: processingFD) }
        }
        for (outcome, move) in zip(written, moves) {
            do {
                try move.get()
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
        for draft in entries where draft.hasPrefix(Self.journalDraftPrefix + ".journal-") {
            _ = unlinkat(processingFD, draft, 0)  // a replacement a crash cut short: the journal stands
        }
        let journals = entries.filter { $0.hasPrefix(".journal-") }.sorted()
        // The ids already audited, read once (not once per entry) from the log's tail.
        var audited = journals.isEmpty ? [] : audit.recentIDs()
        for journal in journals {
            let replayed = replay(journal: journal, audited: &audited)
            // Every name a journal holds is its to finish, done or not: never routed anew.
            journaled.formUnion(replayed.names)
            outcomes += replayed.done
        }
        let leftovers = entries.filter { !$0.hasPrefix(".") && !journaled.contains($0) }.sorted()
        if !leftovers.isEmpty {
            log.notice("finishing \(leftovers.count) manifest(s) left in processing/ by an earlier run")
            // In batches of the usual size, so a large pile keeps journals and memory small.
            for start in stride(from: 0, to: leftovers.count, by: Self.batchLimit) {
                let batch = Array(leftovers[start..<min(start + Self.batchLimit, leftovers.count)])
                let claims = ParallelMap.map(batch.count) { index in
                    let name = batch[index]
                    let changed = (try? System.lstatAt(processingFD, name)).map { Double($0.st_ctim.tv_sec) } ?? System.wallClock()
                    return claimed(name, receivedAt: Timestamp.iso8601(changed))
                }
                outcomes += process(claims)
            }
        }
        return outcomes
    }

    /// What a replay does about the reports of one route.
    private enum ReportWork {
        /// Both are in place beside a moved manifest.
        case keep
        /// The manifest moved but a report is missing: create what is missing.
        case createMissing
        /// The manifest was not moved: write both again, replacing what this route began.
        case rewrite
    }

    /// Completes the routes of one journal, writing only what is missing.
    private func replay(journal: String, audited: inout Set<String>) -> (done: [Outcome], names: [String]) {
        let path = layout.processing + "/" + journal
        let fd = Glibc.openat(processingFD, journal, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            log.error("cannot open the journal \(path): \(SystemError("open", path, errno: errno))")
            return ([], [])
        }
        let bytes = (try? System.readAll(fd, describing: path)) ?? []
        System.close(fd)
        let routes = bytes.split(separator: 0x0A).compactMap { RouteEntry(journalLine: $0) }
        // A route already audited is finished (a journal is kept until all its routes are):
        // never touched again, and a later file of the same name in processing/ is not its.
        let unfinished = routes.filter { !audited.contains($0.id) }
        log.notice("replaying the journal \(journal): \(unfinished.count) manifest(s) were being routed when the last run stopped")

        var complete = true
        var renamed = false
        var pending: [(outcome: Outcome, inProcessing: Bool, reports: ReportWork)] = []
        // New names are chosen around every name this journal already holds.
        var reserved: [Decision: Set<String>] = [:]
        for route in unfinished { reserved[route.decision, default: []].formUnion(reservedNames(route.finalName)) }
        for var entry in unfinished {
            let target = folderFDs[entry.decision]!
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
                    // Another file took the name meanwhile: ours gets the next free one, and the
                    // reports it may have begun under the old name go.
                    removeOwnReports(of: entry, in: target)
                    entry.finalName = freeName(entry.name, in: entry.decision, reserved: &reserved[entry.decision, default: []])
                    log.warning("\(entry.decision.rawValue)/ holds another file named as \(entry.name) was to be; it goes in as \(entry.finalName)")
                    inTarget = false
                    renamed = true
                }
            }
            let stillInProcessing = exists(processingFD, entry.name)
            let source = stillInProcessing ? processingFD : target
            let sourceName = stillInProcessing ? entry.name : entry.finalName
            let sourceFolder = stillInProcessing ? layout.processing : layout.folder(for: entry.decision)
            var report = evaluate(in: source, sourceName, folder: sourceFolder)
            report.file = entry.name
            let inProcessingNow = stillInProcessing && !inTarget
            let reports: ReportWork
            if inProcessingNow {
                // Not moved: its reports may be unfinished. Those this route began are written
                // again; a file of someone else's at a report name makes the route take another name.
                let states = Self.reportHeads(entry).map { reportState($0, in: target) }
                if states.contains(.foreign) {
                    removeOwnReports(of: entry, in: target)
                    let taken = entry.finalName
                    entry.finalName = freeName(entry.name, in: entry.decision, reserved: &reserved[entry.decision, default: []])
                    log.warning("\(entry.decision.rawValue)/ holds another file at a report name of \(taken); \(entry.name) goes in as \(entry.finalName)")
                    renamed = true
                }
                reports = .rewrite
            } else {
                let present = exists(target, entry.reportJSONName) && exists(target, entry.reportTextName)
                reports = present ? .keep : .createMissing
            }
            // Alerts: drafts are written before the move and published after it. Still in
            // processing/, a draft may never have reached the disk: write it again (senders never
            // saw it). Moved, a draft left is published; no draft means published already.
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
            pending.append((Outcome(entry: entry, report: report, alerts: alerts), inProcessingNow, reports))
        }
        if renamed {
            // New names are journaled before any file is written under them, so that a crash
            // now finds them again instead of taking yet another name. The journal is replaced
            // in one rename: two journals of one route would route and audit it twice.
            do {
                try replaceJournal(journal, with: pending.map(\.outcome.entry))
            } catch {
                log.error("cannot rewrite the routing journal \(journal): \(error); it is replayed again later")
                return ([], unfinished.map(\.name))
            }
        }
        // Reports and drafts first, one flush for all of them, then the moves.
        var written: [(outcome: Outcome, inProcessing: Bool, reports: ReportWork)] = []
        for item in pending {
            do {
                switch item.reports {
                case .keep: break
                case .createMissing: try createReports(item.outcome, skippingExisting: true)
                case .rewrite: try rewriteReports(item.outcome)
                }
                if item.inProcessing { try writeAlertDrafts(item.outcome.alerts) }
                written.append(item)
            } catch {
                complete = false
                log.error("cannot finish routing \(item.outcome.entry.name) from \(journal): \(error)")
            }
        }
        if written.contains(where: { $0.reports != .keep || ($0.inProcessing && !$0.outcome.alerts.isEmpty) }) {
            guard flushFilesystem(keeping: written.filter(\.inProcessing).count) else { return ([], unfinished.map(\.name)) }
        }
        var done: [Outcome] = []
        for item in written {
            do {
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
        if audits { audited.formUnion(done.map(\.entry.id)) }
        if complete && audits { removeJournal(journal) }
        return (done, unfinished.map(\.name))
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
    /// report) nor this batch has taken. `ownNameFree`, when known, is what the folder said of
    /// `name` itself (looked up by the worker that read the file), so it is not asked again.
    private func freeName(_ name: String, in decision: Decision, reserved: inout Set<String>, ownNameFree: Bool? = nil) -> String {
        var number = 1
        while true {
            let candidate = suffixedName(name, number)
            if reserved.isDisjoint(with: reservedNames(candidate)),
               (number == 1 ? ownNameFree : nil) ?? isFree(candidate, in: decision) {
                reserved.formUnion(reservedNames(candidate))
                return candidate
            }
            number += 1
        }
    }

    /// The names a route under `finalName` takes in its folder: the manifest's and its reports'.
    /// A batch reserves all three, so that no manifest of it is named like another one's report.
    private func reservedNames(_ finalName: String) -> Set<String> {
        [finalName, finalName + ".report.json", finalName + ".report.txt"]
    }

    /// Whether neither a manifest nor a report of this name is in the outcome folder.
    private func isFree(_ name: String, in decision: Decision) -> Bool {
        let folder = folderFDs[decision]!
        return reservedNames(name).allSatisfy { !exists(folder, $0) }
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
        // createFile leaves no empty or torn journal behind (a full disk).
        let fd = try System.createFile(in: processingFD, name, contents: bytes, describing: path)
        defer { System.close(fd) }
        if syncToDisk {
            // Durable before any report is created under a name it reserves: a power cut must not
            // leave reports that no journal explains.
            do {
                try System.fsync(fd, describing: path)
                try System.fsync(processingFD, describing: layout.processing)
            } catch {
                _ = unlinkat(processingFD, name, 0)
                throw error
            }
        }
        return name
    }

    /// Replaces a journal's routes in one step: the new lines go to a temporary file (a name
    /// recovery does not read as a journal), flushed, then renamed over the journal.
    private func replaceJournal(_ name: String, with entries: [RouteEntry]) throws(SystemError) {
        let temporary = Self.journalDraftPrefix + name
        _ = unlinkat(processingFD, temporary, 0)
        var bytes: [UInt8] = []
        for entry in entries { bytes += entry.journalLine(); bytes.append(0x0A) }
        let path = layout.processing + "/" + temporary
        let fd = try System.createFile(in: processingFD, temporary, contents: bytes, describing: path)
        defer { System.close(fd) }
        do {
            if syncToDisk { try System.fsync(fd, describing: path) }
            try System.retrying("rename", path) { renameat(processingFD, temporary, processingFD, name) }
            if syncToDisk { try System.fsync(processingFD, describing: layout.processing) }
        } catch {
            _ = unlinkat(processingFD, temporary, 0)
            throw error
        }
    }

    /// The prefix of a journal being replaced; one left by a crash is removed by recovery.
    static let journalDraftPrefix = ".new"

    private func removeJournal(_ name: String) {
        if unlinkat(processingFD, name, 0) != 0 {
            log.warning("cannot remove the journal \(layout.processing)/\(name): \(String(cString: strerror(errno)))")
        }
    }

    /// One report file of a route: its name in the outcome folder and its bytes.
    struct ReportFile {
        var name: String
        var bytes: [UInt8]
    }

    /// The JSON and text reports of a route, in the order of ``reportHeads(_:)``.
    static func reportFiles(_ entry: RouteEntry, _ report: ManifestReport) -> [ReportFile] {
        var report = report
        report.file = entry.finalName
        let json = report.jsonLine(extra: reportExtras(entry)) + [0x0A]
        let text = Array((textReportHeader(entry) + "\n" + report.text).utf8)
        return [ReportFile(name: entry.reportJSONName, bytes: json), ReportFile(name: entry.reportTextName, bytes: text)]
    }

    /// What every report of a route starts with, by file name: made only of its journal entry
    /// (names, decision and times), never of the evaluation, so that recovery recognises a report
    /// the route began even if the catalog changed meanwhile.
    static func reportHeads(_ entry: RouteEntry) -> [(name: String, header: [UInt8])] {
        var json = JSONWriter()
        json.beginObject()
        json.key("file"); json.string(entry.finalName)
        for field in reportExtras(entry) { json.key(field.key); json.string(field.value) }
        return [(entry.reportJSONName, json.bytes), (entry.reportTextName, Array(textReportHeader(entry).utf8))]
    }

    /// The fields the JSON report adds to `check`'s, right after `file`.
    private static func reportExtras(_ entry: RouteEntry) -> [(key: String, value: String)] {
        [("originalName", entry.name), ("receivedAt", entry.receivedAt), ("routedAt", entry.routedAt)]
    }

    private static func textReportHeader(_ entry: RouteEntry) -> String {
        "received: \(entry.receivedAt) as \(entry.name)\nrouted:   \(entry.routedAt) to \(entry.decision.rawValue)/\n"
    }

    private func reportFiles(_ entry: RouteEntry, _ report: ManifestReport) -> [ReportFile] {
        Self.reportFiles(entry, report)
    }

    /// Creates the two reports under their final names, never replacing a name (EEXIST when one
    /// is taken). A failure leaves neither behind.
    private func createReports(_ outcome: Outcome, skippingExisting: Bool = false) throws(SystemError) {
        let entry = outcome.entry
        let folder = folderFDs[entry.decision]!
        let folderPath = layout.folder(for: entry.decision)
        var created: [String] = []
        for file in reportFiles(entry, outcome.report) {
            do {
                System.close(try System.createFile(in: folder, file.name, contents: file.bytes, describing: folderPath + "/" + file.name))
                created.append(file.name)
            } catch where skippingExisting && error.errno == EEXIST {
                continue
            } catch {
                for name in created { _ = unlinkat(folder, name, 0) }
                throw error
            }
        }
    }

    /// Writes both reports again through a temporary name, replacing what is there (recovery,
    /// for a route whose manifest never moved: its reports, if any, are its own and may be torn).
    private func rewriteReports(_ outcome: Outcome) throws(SystemError) {
        let entry = outcome.entry
        let folder = folderFDs[entry.decision]!
        let folderPath = layout.folder(for: entry.decision)
        for file in reportFiles(entry, outcome.report) {
            let draft = "." + file.name + ".tmp"
            _ = unlinkat(folder, draft, 0)  // an earlier try's, or an older version's draft
            System.close(try System.createFile(in: folder, draft, contents: file.bytes, describing: folderPath + "/" + draft))
            try System.retrying("rename", folderPath + "/" + file.name) { renameat(folder, draft, folder, file.name) }
        }
    }

    /// Removes the reports at this route's current final name that are provably its own (a route
    /// that must take another name leaves nothing behind under the old one).
    private func removeOwnReports(of entry: RouteEntry, in folder: Int32) {
        for head in Self.reportHeads(entry) where reportState(head, in: folder) == .ours {
            _ = unlinkat(folder, head.name, 0)
        }
    }

    /// Whose file sits at a report's name.
    enum ReportState: Equatable {
        case absent
        /// Empty, or starting with this route's header (or with a part of it: a torn write).
        case ours
        /// Anything else: never replaced.
        case foreign
    }

    private func reportState(_ file: (name: String, header: [UInt8]), in folder: Int32) -> ReportState {
        let fd = Glibc.openat(folder, file.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return errno == ENOENT ? .absent : .foreign }
        defer { System.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
              let start = try? System.readAll(fd, limit: file.header.count, describing: file.name)
        else { return .foreign }
        let compared = min(start.count, file.header.count)
        return start[..<compared].elementsEqual(file.header[..<compared]) ? .ours : .foreign
    }

    private func moveManifest(_ entry: RouteEntry, from directory: Int32) throws(SystemError) {
        try System.renameNoReplace(from: directory, entry.name, to: folderFDs[entry.decision]!, entry.finalName,
                                   describing: layout.processing + "/" + entry.name)
    }

    /// Makes the reports and drafts written so far durable before any manifest moves. False
    /// (logged) when the flush failed: the manifests then stay in `processing/`, never moved beside
    /// reports that may not be on the disk, and their journal is replayed later.
    private func flushFilesystem(keeping count: Int) -> Bool {
        guard syncToDisk else { return true }
        do {
            try System.syncFilesystem(rootFD, describing: layout.root)
            return true
        } catch {
            log.error("cannot flush the state filesystem: \(error); \(count) manifest(s) stay in processing/ and are tried again")
            return false
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
