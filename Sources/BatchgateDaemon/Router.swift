#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import Synchronization

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
        /// The manifest as it was read (see ``Claim``).
        var stamp: FileStamp?
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
    private let rootFolder: HeldFolder
    private let inboxFolder: HeldFolder
    private let processingFolder: HeldFolder
    private let outcomeFolders: [Decision: HeldFolder]
    private var rootFD: Int32 { rootFolder.fd }
    private var inboxFD: Int32 { inboxFolder.fd }
    private var processingFD: Int32 { processingFolder.fd }
    private func folderFD(_ decision: Decision) -> Int32 { outcomeFolders[decision]!.fd }
    private var journalCounter = 0
    /// Whether a lease can tell that a writer still holds an inbox file (local filesystems only).
    private let leasesWork: Bool
    /// Set once the kernel refused a lease for want of permission (logged once).
    private let leaseRefusalLogged = Atomic<Bool>(false)
    /// Seconds a claimed file must have been left alone before recovery evaluates it (config
    /// `quietPeriod`); replaced on reload.
    var quietPeriod: Double = 2
    /// Set when a file changed while it was being routed: it waits in `processing/`, and
    /// ``recover()`` should run once the quiet period has passed.
    private(set) var needsRecovery = false
    /// Names of the files that changed while they were routed: recovery leaves each alone until
    /// it has not changed for the quiet period.
    private var changing = Set<String>()
    /// Counts files read and evaluated, reports written and manifests moved: what the watchdog
    /// looks at to tell a router making progress from one that is stuck.
    let progress = ProgressCounter()
    /// Names of the files being evaluated, kept in `processing/` while they are, so that a file
    /// whose evaluation took the process down is known at the next start (``recover()``).
    private let evaluating: EvaluationMarker

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
        rootFolder = try HeldFolder(layout.root, followsLinks: true)
        inboxFolder = try HeldFolder(layout.inbox)
        processingFolder = try HeldFolder(layout.processing)
        var folders: [Decision: HeldFolder] = [:]
        for decision in Decision.allCases { folders[decision] = try HeldFolder(layout.folder(for: decision)) }
        outcomeFolders = folders
        leasesWork = System.leasesAreLocal(inboxFolder.fd)
        evaluating = try EvaluationMarker(in: rootFolder, describing: layout.root)
    }

    /// Checks every folder the router holds against its path (see ``HeldFolder``). Returns the
    /// paths of the folders opened again because another folder now has their name; throws when
    /// one is gone.
    func checkFolders() throws(HeldFolder.Problem) -> [String] {
        var reopened: [String] = []
        for folder in [rootFolder, inboxFolder, processingFolder] + Decision.allCases.map({ outcomeFolders[$0]! }) {
            if try folder.check() { reopened.append(folder.path) }
        }
        return reopened
    }

    // MARK: Routing

    /// What became of a batch of inbox names.
    public struct BatchResult: Sendable {
        public var outcomes: [Outcome] = []
        /// Names left in the inbox because `processing/` holds the same name; try again later.
        public var deferred: [String] = []
        /// Names left in the inbox because a process holds the file open for writing: not whole
        /// yet; the caller waits for them again.
        public var held: [String] = []
    }

    /// Claims and routes these inbox names as one batch. Names already gone are skipped.
    public func route(_ names: [String]) -> BatchResult {
        var result = BatchResult()
        var seen = Set<String>()
        let unique = names.filter { seen.insert($0).inserted }
        // A crash while these are read and evaluated is pinned on them at the next start.
        evaluating.begin(unique, attempt: 1)
        // Claimed and read on several cores: each file's claim and read are its own.
        let claims = ParallelMap.map(unique.count) { index in claim(unique[index]) }
        evaluating.end()
        var claimed: [Claim] = []
        for (name, claim) in zip(unique, claims) {
            switch claim {
            case .claimed(let claim):
                claimed.append(claim)
            case .gone:
                continue  // taken already, or removed by its writer
            case .held:
                result.held.append(name)
            case .changing:
                needsRecovery = true
                changing.insert(name)
                log.notice("\(name) kept changing while it was read; it waits in processing/ and is read again once it has been left alone for \(quietPeriod) s")
            case .failed(let error) where error.errno == EEXIST:
                result.deferred.append(name)
            case .failed(let error):
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
        /// The file as it was read (nil when it was not a regular file read whole): checked again
        /// just before the move, so a file that changed meanwhile is not moved with a stale report.
        var stamp: FileStamp?
        /// Whether the file's own name (and its reports' names) were free in its outcome folder
        /// when it was read: looked up on the worker, so that naming the batch mostly need not.
        var ownNameFree: Bool
    }

    /// What claiming one inbox name came to.
    private enum ClaimResult {
        case claimed(Claim)
        /// No longer in the inbox.
        case gone
        /// A process holds it open for writing: left in the inbox.
        case held
        /// Claimed, but it changed while it was read: left in `processing/` for recovery.
        case changing
        case failed(SystemError)
    }

    /// Renames one file from the inbox into `processing/` and evaluates it, unless a process
    /// still holds it open for writing. Safe to run for several files at once.
    private func claim(_ name: String) -> ClaimResult {
        if writers(of: name) == .held { return .held }
        do {
            try System.renameNoReplace(from: inboxFD, name, to: processingFD, name, describing: layout.inbox + "/" + name)
        } catch where error.errno == ENOENT {
            return .gone
        } catch {
            return .failed(error)
        }
        guard let claim = claimed(name, receivedAt: Timestamp.now()) else { return .changing }
        return .claimed(claim)
    }

    /// Whether a process holds the inbox file `name` open for writing, as far as the kernel says
    /// (``System/writers(in:_:)``); unknown on filesystems where leases mean something else.
    func writers(of name: String) -> System.WriterCheck {
        guard leasesWork else { return .unknown(errno: EOPNOTSUPP) }
        let check = System.writers(in: inboxFD, name)
        if case .unknown(let error) = check, error == EACCES || error == EPERM,
           leaseRefusalLogged.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            log.warning("cannot ask the kernel whether a writer still holds \(name) open: \(String(cString: strerror(error))) (the service is not its owner and lacks CAP_LEASE); files of other users are judged by the quiet period alone")
        }
        return check
    }

    /// A claimed file evaluated; nil when it kept changing while it was read. Safe to run for
    /// several files at once.
    private func claimed(_ name: String, receivedAt: String, report given: ManifestReport? = nil) -> Claim? {
        let report: ManifestReport
        var stamp: FileStamp?
        if let given {
            report = given
        } else {
            guard case .read(let read, let readStamp) = evaluate(in: processingFD, name, folder: layout.processing) else { return nil }
            report = read
            stamp = readStamp
        }
        progress.advance()
        return Claim(name: name, receivedAt: receivedAt, report: report, stamp: stamp,
                     ownNameFree: isFree(suffixedName(name, 1), in: report.decision))
    }

    /// Routes claimed and evaluated files (steps 2 to 7). What could not be (a full disk, a file
    /// that changed) stays in `processing/`, and ``needsRecovery`` says so.
    private func process(_ claimed: [Claim]) -> [Outcome] {
        let moved = route(claimed)
        if moved.count < claimed.count { needsRecovery = true }
        return moved
    }

    private func route(_ claimed: [Claim]) -> [Outcome] {
        guard !claimed.isEmpty else { return [] }
        var reserved: [Decision: Set<String>] = [:]
        var planned: [Outcome] = []
        for claim in claimed {
            let decision = claim.report.decision
            let finalName = freeName(claim.name, in: decision, reserved: &reserved[decision, default: []], ownNameFree: claim.ownNameFree)
            let entry = RouteEntry(id: RouteEntry.newID(), name: claim.name, decision: decision, finalName: finalName,
                                   receivedAt: claim.receivedAt, routedAt: Timestamp.now())
            planned.append(Outcome(entry: entry, report: claim.report, alerts: alertEntries(entry, claim.report), stamp: claim.stamp))
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
        progress.advance()
        guard flushFilesystem(keeping: written.count) else { return [] }
        var moved: [Outcome] = []
        var published = true
        var changed = false
        let moves = ParallelMap.map(written.count) { index in moveIfUnchanged(written[index]) }
        for (outcome, move) in zip(written, moves) {
            switch move {
            case .moved:
                moved.append(outcome)
            case .changed:
                // Its writer was still at it: the report may not be the file's. The journal
                // stays, and recovery reads it again once it is left alone.
                changed = true
                needsRecovery = true
                changing.insert(outcome.entry.name)
                log.notice("\(outcome.entry.name) changed while it was being routed; it waits in processing/ and is read again once it has been left alone for \(quietPeriod) s")
                continue
            case .failed(let error):
                log.error("cannot move \(outcome.entry.name) to \(outcome.entry.decision.rawValue)/: \(error); it stays in processing/ and is tried again")
                continue
            }
            let done = publishAlerts(outcome.alerts, of: outcome.entry)
            moved[moved.count - 1].alerts = done.published
            published = done.all && published
        }
        progress.advance()
        flushFolders(Set(moved.map(\.entry.decision)), outbox: moved.contains { !$0.alerts.isEmpty })
        // The journal goes only once everything it names is done, audit line included; a kept
        // journal records which of its routes are audited, so a later replay never audits one twice.
        if appendAudit(moved) {
            if moved.count == planned.count && published && !changed {
                removeJournal(journal)
            } else {
                markAudited(moved.map(\.entry.id), in: journal)
            }
        }
        return moved
    }

    private enum MoveResult {
        case moved
        case changed
        case failed(SystemError)
    }

    /// Moves a manifest into its outcome folder, unless it is no longer the file that was read.
    private func moveIfUnchanged(_ outcome: Outcome) -> MoveResult {
        if let stamp = outcome.stamp {
            guard let now = try? System.lstatAt(processingFD, outcome.entry.name), FileStamp(now) == stamp else { return .changed }
        }
        do {
            try moveManifest(outcome.entry, from: processingFD)
            return .moved
        } catch {
            return .failed(error)
        }
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
        needsRecovery = false
        var outcomes: [Outcome] = []
        var journaled = Set<String>()
        for draft in entries where draft.hasPrefix(Self.journalDraftPrefix + ".journal-") {
            _ = unlinkat(processingFD, draft, 0)  // a replacement a crash cut short: the journal stands
        }
        // Files whose evaluation was under way when an earlier run died.
        let suspects = evaluating.read()
        evaluating.end()
        let journals = entries.filter { $0.hasPrefix(".journal-") }.sorted()
        // The ids audited just before a crash, read once (not once per entry) from the log's tail;
        // a kept journal also records the routes it saw audited.
        var audited = journals.isEmpty ? [] : audit.recentIDs()
        for journal in journals {
            let replayed = replay(journal: journal, audited: &audited, suspects: suspects)
            guard let names = replayed.names else {
                // A journal that cannot be read may hold any file here: none is a leftover now.
                return outcomes + replayed.done
            }
            // Every name a journal holds is its to finish, done or not: never routed anew.
            journaled.formUnion(names)
            outcomes += replayed.done
        }
        var leftovers: [String] = []
        for name in entries where !name.hasPrefix(".") && !journaled.contains(name) {
            if sameFile(inboxFD, name, processingFD, name) {
                // A claim by link and unlink (a filesystem without RENAME_NOREPLACE) cut short:
                // the claim is done, and the inbox name is the same file's second name.
                _ = unlinkat(inboxFD, name, 0)
            }
            if isStillChanging(name) {
                needsRecovery = true  // its writer may still be at it
                continue
            }
            leftovers.append(name)
        }
        leftovers.sort()
        if !leftovers.isEmpty {
            log.notice("finishing \(leftovers.count) manifest(s) left in processing/ by an earlier run")
            func receivedAt(_ name: String) -> String {
                let changed = (try? System.lstatAt(processingFD, name)).map { Double($0.st_ctim.tv_sec) } ?? System.wallClock()
                return Timestamp.iso8601(changed)
            }
            // A file that was being evaluated when a run died is evaluated again alone, so that a
            // second death is pinned on it; after that it is not evaluated again but rejected, so
            // one file cannot keep the service from starting.
            let suspected = leftovers.filter { suspects[$0] != nil }
            for name in suspected {
                guard let claim = guardedClaim(name, receivedAt: receivedAt(name), suspects: suspects) else {
                    changing.insert(name)
                    needsRecovery = true
                    continue
                }
                outcomes += process([claim])
            }
            let rest = leftovers.filter { suspects[$0] == nil }
            // In batches of the usual size, so a large pile keeps journals and memory small.
            for start in stride(from: 0, to: rest.count, by: Self.batchLimit) {
                let batch = Array(rest[start..<min(start + Self.batchLimit, rest.count)])
                evaluating.begin(batch, attempt: 1)
                let claims = ParallelMap.map(batch.count) { index in claimed(batch[index], receivedAt: receivedAt(batch[index])) }
                evaluating.end()
                for (name, claim) in zip(batch, claims) where claim == nil {
                    changing.insert(name)
                    needsRecovery = true
                }
                outcomes += process(claims.compactMap { $0 })
            }
        }
        return outcomes
    }

    /// The rejection of a file that was being evaluated each of the last two times the daemon
    /// died: it is not evaluated a third time.
    static func quarantined(_ name: String) -> ManifestReport {
        .unreadable(file: name, reason: "batchgate stopped twice while evaluating this file (the second time it was evaluated alone), so it was not evaluated again: one file must not keep the service from running. Check the file (its size, its structure); if it is a real manifest, split it, or report it with the journal of those stops")
    }

    /// One suspected file claimed: evaluated alone under the marker, or rejected unread when it was
    /// already suspected a second time.
    private func guardedClaim(_ name: String, receivedAt: String, suspects: [String: Int]) -> Claim? {
        let attempts = suspects[name] ?? 0
        if attempts >= 2 {
            log.error("\(name) was being evaluated each of the last two times batchgate stopped unexpectedly; it is moved to rejected/ without being evaluated again")
            return claimed(name, receivedAt: receivedAt, report: Self.quarantined(name))
        }
        log.warning("\(name) was being evaluated when batchgate last stopped unexpectedly; it is evaluated again, alone")
        evaluating.begin([name], attempt: attempts + 1)
        defer { evaluating.end() }
        return claimed(name, receivedAt: receivedAt)
    }

    /// Whether a file in `processing/` that changed while it was routed changed again within the
    /// quiet period: its writer may still be at it, so recovery leaves it for later.
    private func isStillChanging(_ name: String) -> Bool {
        guard changing.contains(name) else { return false }
        guard let info = try? System.lstatAt(processingFD, name) else {
            changing.remove(name)
            return false
        }
        let stamp = FileStamp(info)
        if System.wallClock() - Double(max(stamp.modified, stamp.changed)) / 1e9 < quietPeriod { return true }
        changing.remove(name)
        return false
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

    /// Completes the routes of one journal, writing only what is missing. `names` are the files
    /// the journal holds (nil when it could not be read: then no file of `processing/` may be
    /// taken for a leftover). A journal left unfinished sets ``needsRecovery``.
    private func replay(journal: String, audited: inout Set<String>, suspects: [String: Int]) -> (done: [Outcome], names: [String]?) {
        let replayed = replayRoutes(journal: journal, audited: &audited, suspects: suspects)
        if !replayed.finished { needsRecovery = true }
        return (replayed.done, replayed.names)
    }

    private func replayRoutes(journal: String, audited: inout Set<String>, suspects: [String: Int])
        -> (done: [Outcome], names: [String]?, finished: Bool) {
        let path = layout.processing + "/" + journal
        let bytes: [UInt8]
        do {
            let fd = try System.retrying("open", path) { Glibc.openat(processingFD, journal, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
            defer { System.close(fd) }
            bytes = try System.readAll(fd, describing: path)
        } catch {
            // Never taken for empty: its files would be routed again as leftovers under new ids.
            log.error("cannot read the journal \(path): \(error); it and the files in processing/ wait for the next try")
            return ([], nil, false)
        }
        let lines = bytes.split(separator: 0x0A)
        let routes = lines.compactMap { RouteEntry(journalLine: $0) }
        audited.formUnion(lines.flatMap { RouteEntry.auditedIDs(journalLine: $0) })
        // A route already audited is finished (a journal is kept until all its routes are):
        // never touched again, and a later file of the same name in processing/ is not its.
        let unfinished = routes.filter { !audited.contains($0.id) }
        if unfinished.contains(where: { isStillChanging($0.name) }) {
            // A file of it changed within the quiet period (it changed before its move): its
            // writer may still be at it, so the journal waits.
            return ([], unfinished.map(\.name), false)
        }
        log.notice("replaying the journal \(journal): \(unfinished.count) manifest(s) were being routed when the last run stopped")

        var complete = true
        var renamed = false
        var pending: [(outcome: Outcome, inProcessing: Bool, reports: ReportWork)] = []
        // New names are chosen around every name this journal already holds.
        var reserved: [Decision: Set<String>] = [:]
        for route in unfinished { reserved[route.decision, default: []].formUnion(reservedNames(route.finalName)) }
        for var entry in unfinished {
            var target = folderFD(entry.decision)
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
            let evaluation: Evaluation
            if stillInProcessing && (suspects[entry.name] ?? 0) >= 2 {
                log.error("\(entry.name) was being evaluated each of the last two times batchgate stopped unexpectedly; it is moved to rejected/ without being evaluated again")
                evaluation = .read(Self.quarantined(entry.name), nil)
            } else {
                evaluating.begin([entry.name], attempt: (suspects[entry.name] ?? 0) + 1)
                evaluation = evaluate(in: source, sourceName, folder: sourceFolder)
                evaluating.end()
            }
            progress.advance()
            guard case .read(var report, let stamp) = evaluation else {
                changing.insert(entry.name)
                log.notice("\(entry.name) kept changing while it was read; \(journal) is replayed once it has been left alone")
                return ([], unfinished.map(\.name), false)
            }
            report.file = entry.name
            let inProcessingNow = stillInProcessing && !inTarget
            if inProcessingNow && report.decision != entry.decision {
                // Read again, the file says something else than when it was journaled (it
                // changed before its move, or the catalog did): it goes where its report says,
                // and what the route began in the other folder goes.
                removeOwnReports(of: entry, in: target)
                let planned = entry.decision
                entry.decision = report.decision
                entry.finalName = freeName(entry.name, in: entry.decision, reserved: &reserved[entry.decision, default: []])
                target = folderFD(entry.decision)
                log.warning("\(entry.name) was journaled for \(planned.rawValue)/ but now reads as \(entry.decision.rawValue); it goes to \(entry.decision.rawValue)/ as \(entry.finalName)")
                renamed = true
            }
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
                do {
                    let drafts = try outbox.drafts(ofRoute: entry.id)
                    if inProcessingNow {
                        // Not moved: the config in force decides; drafts it would not write go.
                        for alert in alertEntries(entry, report) {
                            if try !outbox.isWaiting(alert) { alerts.append(alert) }
                        }
                        for draft in drafts where !alerts.contains(where: { $0.id == draft.id }) { try outbox.dropDraft(draft) }
                    } else {
                        // Moved: the drafts on disk are the alerts owed, whatever the config says now
                        // (the senders dead-letter those for sinks that are gone).
                        alerts = drafts
                    }
                } catch {
                    // Taking "no draft" for an answer would lose the alerts owed: the journal waits.
                    log.error("cannot read the alerts of \(entry.name) in \(outbox.folder): \(error); \(journal) is replayed at the next try")
                    return ([], unfinished.map(\.name), false)
                }
            }
            pending.append((Outcome(entry: entry, report: report, alerts: alerts, stamp: inProcessingNow ? stamp : nil), inProcessingNow, reports))
        }
        if renamed {
            // New names are journaled before any file is written under them, so that a crash
            // now finds them again instead of taking yet another name. The journal is replaced
            // in one rename: two journals of one route would route and audit it twice.
            do {
                try replaceJournal(journal, with: pending.map(\.outcome.entry))
            } catch {
                log.error("cannot rewrite the routing journal \(journal): \(error); it is replayed again later")
                return ([], unfinished.map(\.name), false)
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
            guard flushFilesystem(keeping: written.filter(\.inProcessing).count) else { return ([], unfinished.map(\.name), false) }
        }
        var done: [Outcome] = []
        for item in written {
            if item.inProcessing {
                switch moveIfUnchanged(item.outcome) {
                case .moved:
                    break
                case .changed:
                    // Its writer is at it again: read again once it is left alone.
                    complete = false
                    changing.insert(item.outcome.entry.name)
                    log.notice("\(item.outcome.entry.name) changed while it was being routed; it waits in processing/ and is read again once it has been left alone for \(quietPeriod) s")
                    continue
                case .failed(let error):
                    complete = false
                    log.error("cannot finish routing \(item.outcome.entry.name) from \(journal): \(error)")
                    continue
                }
            }
            done.append(item.outcome)
            let published = publishAlerts(item.outcome.alerts, of: item.outcome.entry)
            done[done.count - 1].alerts = published.published
            if !published.all { complete = false }
        }
        flushFolders(Set(done.map(\.entry.decision)), outbox: done.contains { !$0.alerts.isEmpty })
        let audits = appendAudit(done.filter { !audited.contains($0.entry.id) })
        if audits { audited.formUnion(done.map(\.entry.id)) }
        if complete && audits {
            removeJournal(journal)
        } else if audits {
            markAudited(done.map(\.entry.id), in: journal)
        }
        return (done, unfinished.map(\.name), complete && audits)
    }

    /// True when the two names are one file (same device and inode).
    private func sameFile(_ directoryA: Int32, _ nameA: String, _ directoryB: Int32, _ nameB: String) -> Bool {
        var a = stat(), b = stat()
        guard fstatat(directoryA, nameA, &a, AT_SYMLINK_NOFOLLOW) == 0, fstatat(directoryB, nameB, &b, AT_SYMLINK_NOFOLLOW) == 0
        else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    // MARK: Steps

    /// What reading one file came to.
    enum Evaluation {
        /// Read and evaluated; the stamp of the file as read, when it is a regular file.
        case read(ManifestReport, FileStamp?)
        /// It changed under every one of a few reads: its writer is still at it.
        case changing
    }

    /// How many times a file that changes while it is read is read again before it is left to
    /// wait: a writer that appends a last line just then is caught by the second read.
    static let readAttempts = 3

    /// Reads and checks one file, never following a link and never blocking on a FIFO, and only
    /// when it stayed the same while it was read (size, modification and change times of the open
    /// descriptor before and after).
    private func evaluate(in directory: Int32, _ name: String, folder: String) -> Evaluation {
        let path = folder + "/" + name
        let info: stat
        do {
            info = try System.lstatAt(directory, name, in: folder + "/")
        } catch {
            return .read(.unreadable(file: name, reason: "the file could not be read: \(error)"), nil)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            break
        case S_IFLNK:
            return .read(.unreadable(file: name, reason: "the file is a symbolic link; batchgate never follows links, so it was moved to rejected/ as a link: drop the file itself"), nil)
        case S_IFIFO:
            return .read(.unreadable(file: name, reason: "the file is a named pipe (FIFO), not a regular file"), nil)
        default:
            return .read(.unreadable(file: name, reason: "the file is not a regular file"), nil)
        }
        let fd = Glibc.openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            return .read(.unreadable(file: name, reason: "the file could not be opened: \(String(cString: strerror(errno))) (check the permissions of \(path))"), nil)
        }
        defer { System.close(fd) }
        var opened = stat()
        guard fstat(fd, &opened) == 0, (opened.st_mode & S_IFMT) == S_IFREG else {
            return .read(.unreadable(file: name, reason: "the file is not a regular file"), nil)
        }
        if opened.st_nlink > 1 {
            // Another name could change the file after the decision, or be the real file of a
            // writer outside the inbox; a manifest is judged only when it is its own file.
            return .read(.unreadable(file: name, reason: "the file has \(opened.st_nlink) names (hard links): another name could change it after it was checked, so batchgate does not evaluate it; drop a copy (cp), not a link (ln)"), nil)
        }
        for _ in 1...Self.readAttempts {
            let before = FileStamp(opened)
            let bytes: [UInt8]
            do {
                guard lseek(fd, 0, SEEK_SET) == 0 else {
                    return .read(.unreadable(file: name, reason: "the file could not be read: \(String(cString: strerror(errno)))"), nil)
                }
                bytes = try System.readAll(fd, limit: checker.maximumSize, sizeHint: Int(opened.st_size), describing: path)
            } catch {
                return .read(.unreadable(file: name, reason: "the file could not be read: \(String(cString: strerror(error.errno)))"), nil)
            }
            guard fstat(fd, &opened) == 0 else {
                return .read(.unreadable(file: name, reason: "the file could not be read: \(String(cString: strerror(errno)))"), nil)
            }
            let after = FileStamp(opened)
            // Unchanged, and what was read is the whole file (or the start of one over the limit).
            if after == before && (bytes.count == Int(after.size) || bytes.count > checker.maximumSize) {
                return .read(checker.check(fileName: name, bytes: bytes, fileSize: Int(opened.st_size)), after)
            }
        }
        return .changing
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
        let folder = folderFD(decision)
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

    /// Records in a journal that is kept that these routes of it are audited: a replay, however
    /// much later and however long the audit log has grown, then never audits them again.
    private func markAudited(_ ids: [String], in journal: String) {
        guard !ids.isEmpty else { return }
        let path = layout.processing + "/" + journal
        var bytes: [UInt8] = []
        for id in ids { bytes += RouteEntry.auditedLine(id); bytes.append(0x0A) }
        do {
            let fd = try System.retrying("open", path) { openat(processingFD, journal, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW) }
            defer { System.close(fd) }
            try System.writeAll(fd, bytes, describing: path)
            if syncToDisk { try System.fsync(fd, describing: path) }
        } catch {
            // The audit log's tail still tells a replay soon after; only a journal kept very long
            // could then be audited twice.
            log.warning("cannot record in \(path) which of its routes are audited: \(error)")
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
        let folder = folderFD(entry.decision)
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
        let folder = folderFD(entry.decision)
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
        for head in Self.reportHeads(entry) {
            if reportState(head, in: folder) == .ours { _ = unlinkat(folder, head.name, 0) }
            // A draft of ``rewriteReports(_:)`` that a crash left: a dot-name only recovery writes.
            _ = unlinkat(folder, "." + head.name + ".tmp", 0)
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
        try System.renameNoReplace(from: directory, entry.name, to: folderFD(entry.decision), entry.finalName,
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
        for fd in decisions.compactMap({ outcomeFolders[$0]?.fd }) + [processingFD] {
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
        guard !outcomes.isEmpty else { return true }
        do {
            // Checked before each batch too (the daemon stops when it cannot be reopened); here
            // for a change in the middle of a batch.
            if try audit.followPath() {
                log.warning("\(audit.path) was deleted, moved or replaced while batchgate ran; a new one was opened at that path (rotate it with a SIGHUP to keep every line in one place)")
            }
            try audit.append(outcomes.map { AuditLog.line(for: $0.entry, report: $0.report) }, sync: syncToDisk)
            return true
        } catch {
            log.error("cannot append to the audit log \(audit.path): \(error); the journal is kept to try again")
            return false
        }
    }
}
