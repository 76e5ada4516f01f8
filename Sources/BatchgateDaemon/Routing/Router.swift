#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import Synchronization
import BatchgateSystem
import BatchgateConfig
import BatchgateAlerts
import BatchgateCatalog
import Dispatch

// The order of the steps below is the crash-safety protocol (docs/routing.md): a change to it, or
// to what a step makes durable, needs `make crash-rounds` as well as the tests.

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
///
/// Routing a batch is "write a journal (steps 1-3), then finish it" (``finish(_:journal:replaying:audited:leftUndone:)``,
/// steps 4-7); recovery is "read the journal, observe the disk, then finish it" with the same
/// steps: ``RecoveryPlan`` decides from what it observes which of them each route still needs.
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
final class Router {
    /// A routed manifest and its report.
    struct Outcome: Sendable {
        var entry: JournalEntry
        var report: ManifestReport
        /// The alerts published for it, for the senders.
        var alerts: [OutboxEntry] = []
        /// The manifest as it was read (see ``Claim``).
        var stamp: FileStamp?
    }

    let layout: StateLayout
    /// Replaced on reload (new catalog or rules).
    var checker: ManifestChecker
    /// Seconds since 1970 now: the day `date-future` compares with is read from it once per
    /// batch (``prepareChecker()``). Tests set a fixed one.
    var wallClock: () -> Double = System.wallClock
    /// The live catalog (Metrc's), when there is one: read before each batch, and asked for what
    /// a manifest needed and it lacked before the manifest is decided.
    var catalogSource: (any CatalogSource)?
    /// Manifests that wait in `processing/` because Metrc did not answer the look-ups they need,
    /// by name, with why: evaluated again at each recovery, never rejected for Metrc's silence.
    private(set) var waitingForCatalog: [String: String] = [:]
    var waitingCount: Int { waitingForCatalog.count }
    /// Flush to disk before going on (config `fsync`).
    let syncToDisk: Bool
    /// Which sinks hear about what; nil or empty when no alert is configured. Replaced on reload.
    var alerts: AlertPlanner?
    /// Takes each batch's published alerts right after the outbox folder is flushed (step 6),
    /// before the audit line and the journal's removal: a file's alert leaves without waiting for
    /// the bookkeeping of its batch. Nil until the senders run;
    /// until then, a listing of the outbox hands them what was published.
    var alertsPublished: (([OutboxEntry]) -> Void)?
    private let outbox: Outbox?
    private let log: Logger
    private let audit: AuditLog
    private let folders: RoutingFolders
    private let journals: Journal
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
    static let batchLimit = 256

    init(layout: StateLayout, checker: ManifestChecker, syncToDisk: Bool, log: Logger, audit: AuditLog,
                outbox: Outbox? = nil, alerts: AlertPlanner? = nil) throws(SystemError) {
        self.layout = layout
        self.outbox = outbox
        self.alerts = alerts
        self.checker = checker
        self.syncToDisk = syncToDisk
        self.log = log
        self.audit = audit
        folders = try RoutingFolders(layout: layout)
        journals = Journal(folder: folders.processing, syncToDisk: syncToDisk, log: log)
        leasesWork = System.leasesAreLocal(folders.inbox.fd)
        evaluating = try EvaluationMarker(in: folders.root, describing: layout.root)
    }

    /// Checks every folder the router holds against its path (see ``HeldFolder``). Returns the
    /// paths of the folders opened again because another folder now has their name; throws when
    /// one is gone.
    func checkFolders() throws(HeldFolder.Problem) -> [String] {
        var reopened: [String] = []
        for folder in folders.all {
            if try folder.check() { reopened.append(folder.path) }
        }
        return reopened
    }

    // MARK: Routing: claim, evaluate, journal, then finish

    /// What became of a batch of inbox names.
    struct BatchResult: Sendable {
        var outcomes: [Outcome] = []
        /// Names left in the inbox because `processing/` holds the same name; try again later.
        var deferred: [String] = []
        /// Names left in the inbox because a process holds the file open for writing: not whole
        /// yet; the caller waits for them again.
        var held: [String] = []
    }

    /// Claims and routes these inbox names as one batch. Names already gone are skipped.
    func route(_ names: [String]) -> BatchResult {
        var result = BatchResult()
        prepareChecker()
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
        /// just before the move, so a file that changed meanwhile, or another file put under its
        /// name before the claim, is not moved with a stale report.
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

    /// Step 1 and 2 for one file: renames it from the inbox into `processing/` and evaluates it,
    /// unless a process still holds it open for writing. Safe to run for several files at once.
    private func claim(_ name: String) -> ClaimResult {
        // The descriptor the lease was asked through is the one the file is read through.
        let asked = openAskingWriters(name)
        if asked.check == .held { return .held }
        do {
            try folders.claim(name)
        } catch {
            if let fd = asked.fd { System.close(fd) }
            return error.errno == ENOENT ? .gone : .failed(error)
        }
        // Read through the descriptor the lease was asked on, though a writer may have put another
        // file under the name before the claim: the read's stamp tells (see
        // ``Evaluation/of(opened:_:in:checker:)``), so no look at both files is made for each claim.
        guard let claim = claimed(name, receivedAt: Timestamp.now(), opened: asked.fd) else {
            return .changing
        }
        return .claimed(claim)
    }

    /// Whether a process holds the inbox file `name` open for writing, as far as the kernel says
    /// (``System/openAskingWriters(in:_:)``); unknown on filesystems where leases mean something else.
    func writers(of name: String) -> System.WriterCheck {
        let asked = openAskingWriters(name)
        if let fd = asked.fd { System.close(fd) }
        return asked.check
    }

    /// Opens the inbox file `name` and asks the kernel about its writers
    /// (``System/openAskingWriters(in:_:)``); the first refusal for want of permission is logged.
    /// Without leases (a network filesystem) nothing is opened: the answer is unknown.
    private func openAskingWriters(_ name: String) -> (check: System.WriterCheck, fd: Int32?) {
        guard leasesWork else { return (.unknown(errno: EOPNOTSUPP), nil) }
        let asked = System.openAskingWriters(in: folders.inbox.fd, name)
        if case .unknown(let error) = asked.check, error == EACCES || error == EPERM,
           leaseRefusalLogged.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            log.warning("cannot ask the kernel whether a writer still holds \(name) open: \(String(cString: strerror(error))) (the service is not its owner and lacks CAP_LEASE); files of other users are judged by the quiet period alone")
        }
        return asked
    }

    /// A claimed file evaluated; nil when it kept changing while it was read. `opened` is a
    /// descriptor of it opened before the claim, read instead of opening it again (and closed);
    /// `given` a report decided without reading it. Safe to run for several files at once.
    private func claimed(_ name: String, receivedAt: String, opened: Int32? = nil, report given: ManifestReport? = nil) -> Claim? {
        let report: ManifestReport
        var stamp: FileStamp?
        if let given {
            report = given
        } else {
            let evaluation = opened.map { Evaluation.of(opened: $0, name, in: folders.processing, checker: checker) }
                ?? Evaluation.of(name, in: folders.processing, checker: checker)
            guard case .read(let read, let readStamp) = evaluation else { return nil }
            report = read
            stamp = readStamp
        }
        progress.advance()
        return Claim(name: name, receivedAt: receivedAt, report: report, stamp: stamp,
                     ownNameFree: folders.isFree(suffixedName(name, 1), in: report.decision))
    }

    /// Routes claimed and evaluated files: names them and writes their journal (step 3), then
    /// finishes it (steps 4 to 7). What could not be routed (a full disk, a file that changed)
    /// stays in `processing/`, and ``needsRecovery`` says so.
    private func process(_ evaluated: [Claim]) -> [Outcome] {
        let claimed = lookUpMisses(evaluated)
        guard !claimed.isEmpty else { return [] }
        var reserved: [Decision: Set<String>] = [:]
        var routes: [PendingRoute] = []
        // The routes of a batch are journaled, and so routed, at one instant, with ids drawn at once.
        let ids = JournalEntry.newIDs(claimed.count)
        let routedAt = Timestamp.now()
        for (claim, id) in zip(claimed, ids) {
            let decision = claim.report.decision
            let finalName = folders.freeName(claim.name, in: decision, reserved: &reserved[decision, default: []], ownNameFree: claim.ownNameFree)
            let entry = JournalEntry(id: id, name: claim.name, decision: decision, finalName: finalName,
                                     receivedAt: claim.receivedAt, routedAt: routedAt)
            let outcome = Outcome(entry: entry, report: claim.report, alerts: alertEntries(entry, claim.report), stamp: claim.stamp)
            routes.append(PendingRoute(outcome: outcome, reports: .create, moves: true))
        }
        let journal: String
        do {
            journalCounter += 1
            journal = try journals.write(routes.map(\.outcome.entry), counter: journalCounter)
        } catch {
            log.error("cannot write the routing journal: \(error); \(routes.count) manifest(s) stay in processing/ and are tried again")
            needsRecovery = true
            return []
        }
        var audited = Set<String>()
        let finished = finish(routes, journal: journal, replaying: false, audited: &audited)
        if finished.done.count < claimed.count { needsRecovery = true }
        return finished.done
    }

    // MARK: The live catalog

    /// Readies the checker for a batch: today (the latest date anywhere on Earth, for
    /// `date-future`), and the live catalog as it stands now (a sync may have learned since the
    /// last batch). A reload replaces the checker between batches, so both are set at each.
    private func prepareChecker() {
        checker.today = Timestamp.latestDateOnEarth(at: wallClock())
        guard let catalogSource else { return }
        checker.catalog = catalogSource.current
    }

    /// Claims whose manifests needed what the catalog lacked, looked up once for all of them and
    /// evaluated again; those that could not be decided because Metrc did not answer stay in
    /// `processing/` (``waitingForCatalog``) and are left out. Without a live catalog, or with
    /// nothing lacking, the claims as they are.
    private func lookUpMisses(_ claims: [Claim]) -> [Claim] {
        // Those that waited already are logged once, when they began to.
        let waitedBefore = Set(claims.map(\.name).filter { waitingForCatalog[$0] != nil })
        for claim in claims { waitingForCatalog[claim.name] = nil }
        guard let catalogSource else { return claims }
        let lacking = claims.filter { !$0.report.catalogMisses.isEmpty }
        guard !lacking.isEmpty else { return claims }
        var misses = CatalogMisses()
        for claim in lacking { misses.formUnion(claim.report.catalogMisses) }
        let decided = claims.filter { $0.report.catalogMisses.isEmpty }
        switch lookUpReportingProgress(catalogSource, misses) {
        case .answered(let catalog):
            checker.catalog = catalog
            let names = lacking.map(\.name)
            evaluating.begin(names, attempt: 1)
            let again = ParallelMap.map(lacking.count) { index in claimed(lacking[index].name, receivedAt: lacking[index].receivedAt) }
            evaluating.end()
            for (name, claim) in zip(names, again) where claim == nil {
                changing.insert(name)
                needsRecovery = true
            }
            return decided + again.compactMap { $0 }
        case .unavailable(let reason):
            let fresh = lacking.filter { !waitedBefore.contains($0.name) }
            for claim in lacking { waitingForCatalog[claim.name] = reason }
            needsRecovery = true
            if !fresh.isEmpty {
                let named = fresh.prefix(5).map(\.name).joined(separator: ", ") + (fresh.count > 5 ? " and \(fresh.count - 5) more" : "")
                log.warning("\(fresh.count) manifest(s) wait in processing/ because they need Metrc, which does not answer (\(reason)): \(named); they are decided once it answers, never rejected for it")
            }
            return decided
        }
    }

    /// The look-up, on another thread, while this one tells the watchdog that the router is not
    /// stuck: the look-up is bounded by the configured time, which may pass the watchdog's. (The
    /// look-up only waits there; its GETs run on threads of the catalog's own.)
    private func lookUpReportingProgress(_ source: any CatalogSource, _ misses: CatalogMisses) -> LookupOutcome {
        let outcome = Mutex<LookupOutcome?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            outcome.withLock { $0 = source.lookUp(misses) }
            done.signal()
        }
        while done.wait(timeout: .now() + 1) == .timedOut { progress.advance() }
        return outcome.withLock { $0! }
    }

    // MARK: Finishing a journal: steps 4 to 7, for a fresh batch and a replay alike

    /// A journaled route on its way through steps 4 to 7.
    private struct PendingRoute {
        var outcome: Outcome
        /// What step 4 does about its reports.
        var reports: ReportFiles.Work
        /// Its manifest is in `processing/`: its alerts are written as drafts in step 4 and it
        /// moves in step 6. False for a manifest a crash left moved already.
        var moves: Bool
    }

    /// Steps 4 to 7 for the routes of one journal, in this order: reports and alert drafts;
    /// one flush of the filesystem (with fsync off, none: each route moves right after its own
    /// reports and drafts); the moves, the alerts published and the folders flushed; the
    /// audit lines (for routes not in `audited`, which gains them) and the journal removed, or
    /// kept with the routes it saw audited when any route is not done or `leftUndone` routes
    /// were left out. Returns the routes done, and whether the journal is finished.
    private func finish(_ routes: [PendingRoute], journal: String, replaying: Bool, audited: inout Set<String>,
                        leftUndone: Int = 0) -> (done: [Outcome], finished: Bool) {
        func failed(_ route: PendingRoute, _ step: String, _ error: SystemError) {
            if replaying {
                log.error("cannot finish routing \(route.outcome.entry.name) from \(journal): \(error)")
            } else {
                log.error("cannot \(step) of \(route.outcome.entry.name): \(error); it stays in processing/ and is tried again")
            }
        }
        // Step 4 for each route on several cores (each file its own): its reports, and the alert
        // drafts of a manifest that moves. With fsync on, step 5 flushes what all of them wrote
        // before any manifest moves, so step 6 waits for every route. With fsync off nothing is
        // flushed, and what a crash of the process can see (the page cache outlives it) is each
        // route's own order, reports and drafts before the move: so each route is moved by the
        // worker that wrote its reports, right after. The kernel takes one lock for the whole
        // filesystem in every rename between folders; moved in a step of their own, the workers
        // would mostly wait for one another there, while this way one worker's move overlaps
        // another's writing.
        let movesWithReports = !syncToDisk
        let steps = ParallelMap.map(routes.count) { index in
            let route = routes[index]
            let failure = writeReportsAndDrafts(route)
            return (failure: failure, move: movesWithReports && failure == nil ? move(route) : nil)
        }
        var written: [PendingRoute] = []
        var movedWithReports: [MoveResult] = []
        for (route, step) in zip(routes, steps) {
            switch step.failure {
            case nil:
                written.append(route)
                if let move = step.move { movedWithReports.append(move) }
            case .reportNameTaken?:
                let entry = route.outcome.entry
                log.warning("a file took a report name of \(entry.finalName) in \(entry.decision.rawValue)/ while it was being routed; \(entry.name) stays in processing/ and takes another name when processing/ is next recovered (at the next rescan or start)")
            case .reports(let error)?:
                failed(route, "write the reports", error)
            case .alerts(let error)?:
                failed(route, "write the alerts", error)
            }
        }
        progress.advance()
        let moves: [MoveResult]
        if movesWithReports {
            moves = movedWithReports
        } else {
            // Step 5: one flush makes every report and draft durable before any manifest moves.
            if written.contains(where: { $0.reports != .keep || ($0.moves && !$0.outcome.alerts.isEmpty) }) {
                guard flushFilesystem(keeping: written.filter(\.moves).count) else { return ([], false) }
            }
            // Step 6: the moves.
            moves = ParallelMap.map(written.count) { index in move(written[index]) }
        }
        // Step 6, then: the alerts of each moved manifest published.
        var done: [Outcome] = []
        var allPublished = true
        for (route, move) in zip(written, moves) {
            let entry = route.outcome.entry
            switch move {
            case .moved:
                break
            case .changed:
                // Its writer was still at it: the report may not be the file's. The journal
                // stays, and recovery reads it again once it is left alone.
                needsRecovery = true
                changing.insert(entry.name)
                log.notice("\(entry.name) changed while it was being routed; it waits in processing/ and is read again once it has been left alone for \(quietPeriod) s")
                continue
            case .failed(let error):
                if replaying {
                    failed(route, "move", error)
                } else {
                    log.error("cannot move \(entry.name) to \(entry.decision.rawValue)/: \(error); it stays in processing/ and is tried again")
                }
                continue
            }
            var outcome = route.outcome
            let published = publishAlerts(outcome.alerts, of: entry)
            outcome.alerts = published.published
            allPublished = allPublished && published.all
            done.append(outcome)
        }
        progress.advance()
        flushFolders(Set(done.map(\.entry.decision)), outbox: done.contains { !$0.alerts.isEmpty })
        alertsPublished?(done.flatMap(\.alerts))
        // Step 7: the journal goes only once everything it names is done, audit line included; a
        // kept journal records which of its routes are audited, so a later replay never audits
        // one twice.
        let audits = appendAudit(done.filter { !audited.contains($0.entry.id) })
        if audits { audited.formUnion(done.map(\.entry.id)) }
        let complete = done.count == routes.count && leftUndone == 0 && allPublished
        if audits {
            if complete {
                journals.remove(journal)
            } else {
                markAudited(done.map(\.entry.id), in: journal)
            }
        }
        return (done, complete && audits)
    }

    /// Why step 4 left a route out.
    private enum ReportFailure {
        /// A file took a report's name since the route was named.
        case reportNameTaken
        case reports(SystemError)
        case alerts(SystemError)
    }

    /// Step 4 for one route: its reports, then the alert drafts of a manifest that moves. Safe to
    /// run for several routes at once.
    private func writeReportsAndDrafts(_ route: PendingRoute) -> ReportFailure? {
        let entry = route.outcome.entry
        do {
            try ReportFiles.write(route.reports, entry, route.outcome.report, in: folders.outcome(entry.decision))
        } catch where error.errno == EEXIST && route.reports == .create {
            return .reportNameTaken
        } catch {
            return .reports(error)
        }
        guard route.moves else { return nil }
        do {
            try writeAlertDrafts(route.outcome.alerts)
        } catch {
            return .alerts(error)
        }
        return nil
    }

    private enum MoveResult {
        case moved
        case changed
        case failed(SystemError)
    }

    /// Step 6 for one route: its manifest moved into its outcome folder, unless a crash left it
    /// moved already. Safe to run for several routes at once.
    private func move(_ route: PendingRoute) -> MoveResult {
        route.moves ? moveIfUnchanged(route.outcome) : .moved
    }

    /// Moves a manifest into its outcome folder, unless it is no longer the file that was read.
    private func moveIfUnchanged(_ outcome: Outcome) -> MoveResult {
        if let stamp = outcome.stamp {
            guard let now = try? System.lstatAt(folders.processing.fd, outcome.entry.name), FileStamp(now) == stamp else { return .changed }
        }
        do {
            try folders.move(outcome.entry)
            return .moved
        } catch {
            return .failed(error)
        }
    }

    /// Step 5: makes the reports and drafts written so far durable before any manifest moves.
    /// False (logged) when the flush failed: the manifests then stay in `processing/`, never moved
    /// beside reports that may not be on the disk, and their journal is replayed later.
    private func flushFilesystem(keeping count: Int) -> Bool {
        guard syncToDisk else { return true }
        do {
            try folders.flushFilesystem()
            return true
        } catch {
            log.error("cannot flush the state filesystem: \(error); \(count) manifest(s) stay in processing/ and are tried again")
            return false
        }
    }

    /// Step 6: makes the moves (and the published alerts) durable. A failure is logged with the
    /// folder that failed; the journal still goes only after the audit lines.
    private func flushFolders(_ decisions: Set<Decision>, outbox flushOutbox: Bool) {
        guard syncToDisk else { return }
        for failure in folders.flushFolders(decisions) {
            log.error("cannot flush the folder \(failure.path): \(failure)")
        }
        if flushOutbox, let outbox {
            do {
                try outbox.flush()
            } catch {
                log.error("cannot flush \(outbox.folder): \(error)")
            }
        }
    }

    /// Records in a kept journal which of its routes are audited (``Journal/markAudited(_:in:)``).
    private func markAudited(_ ids: [String], in journal: String) {
        do {
            try journals.markAudited(ids, in: journal)
        } catch {
            // The audit log's tail still tells a replay soon after; only a journal kept very long
            // could then be audited twice.
            log.warning("cannot record in \(layout.processing)/\(journal) which of its routes are audited: \(error)")
        }
    }

    // MARK: Recovery: read the journal, observe the disk, then finish it

    /// Finishes what a crash left: first every journal in `processing/`, then claimed files that
    /// no journal names. Returns the manifests routed.
    func recover() -> [Outcome] {
        let entries: [String]
        do {
            entries = try System.listDirectory(layout.processing).compactMap(\.name)
        } catch {
            log.error("cannot list \(layout.processing): \(error)")
            return []
        }
        needsRecovery = false
        prepareChecker()
        let present = Set(entries)
        var outcomes: [Outcome] = []
        var journaled = Set<String>()
        for replacement in entries where replacement.hasPrefix(Journal.replacementPrefix + Journal.namePrefix) {
            // A replacement a crash cut short: the journal it was to replace stands.
            journals.remove(replacement, because: "it is tried again at the next recovery")
        }
        // Files whose evaluation was under way when an earlier run died.
        let suspects = evaluating.read()
        evaluating.end()
        let journalNames = entries.filter { $0.hasPrefix(Journal.namePrefix) }.sorted()
        // The ids audited just before a crash, read once (not once per entry) from the log's tail;
        // a kept journal also records the routes it saw audited.
        var audited = journalNames.isEmpty ? [] : audit.recentIDs()
        for journal in journalNames {
            let replayed = replay(journal: journal, audited: &audited, suspects: suspects)
            guard let names = replayed.names else {
                // A journal that cannot be read may hold any file here: none is a leftover now.
                return outcomes + replayed.done
            }
            // Every name a journal holds is its to finish, done or not: never routed anew.
            journaled.formUnion(names)
            outcomes += replayed.done
        }
        // A waiting manifest taken out of processing/ by hand waits no more. (A journaled route
        // may wait with its manifest moved already: its journal still names it.)
        waitingForCatalog = waitingForCatalog.filter { present.contains($0.key) || journaled.contains($0.key) }
        var leftovers: [String] = []
        for name in entries where !name.hasPrefix(".") && !journaled.contains(name) {
            if folders.sameFile(folders.inbox, name, folders.processing, name) {
                // A claim by link and unlink (a filesystem without RENAME_NOREPLACE) cut short:
                // the claim is done, and the inbox name is the same file's second name.
                do {
                    try System.unlinkIfPresent(in: folders.inbox.fd, name, describing: layout.inbox + "/" + name)
                } catch {
                    // Left, the second name makes the file read as hard-linked (rejected), so it
                    // waits for the next recovery instead.
                    log.warning("cannot remove \(layout.inbox)/\(name), a second name of \(layout.processing)/\(name) that a claim cut short left: \(error); it is tried again at the next recovery")
                    needsRecovery = true
                    continue
                }
            }
            if isStillChanging(name) {
                needsRecovery = true  // its writer may still be at it
                continue
            }
            leftovers.append(name)
        }
        leftovers.sort()
        // Those waiting for Metrc are known to be here: only the others are news.
        let unexpected = leftovers.filter { waitingForCatalog[$0] == nil }.count
        if unexpected > 0 {
            log.notice("finishing \(unexpected) manifest(s) left in processing/ by an earlier run")
        }
        if !leftovers.isEmpty {
            func receivedAt(_ name: String) -> String {
                let changed = (try? System.lstatAt(folders.processing.fd, name)).map { Double($0.st_ctim.tv_sec) } ?? System.wallClock()
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

    /// The report rejecting `name` unread, logged, when it was being evaluated the last two times
    /// the daemon died; nil when it may be evaluated (again).
    private func setAside(_ name: String, suspects: [String: Int]) -> ManifestReport? {
        guard (suspects[name] ?? 0) >= 2 else { return nil }
        log.error("\(name) was being evaluated each of the last two times batchgate stopped unexpectedly; it is moved to rejected/ without being evaluated again")
        return Self.quarantined(name)
    }

    /// One suspected file claimed: evaluated alone under the marker, or rejected unread when it was
    /// already suspected a second time.
    private func guardedClaim(_ name: String, receivedAt: String, suspects: [String: Int]) -> Claim? {
        let attempts = suspects[name] ?? 0
        if let report = setAside(name, suspects: suspects) { return claimed(name, receivedAt: receivedAt, report: report) }
        log.warning("\(name) was being evaluated when batchgate last stopped unexpectedly; it is evaluated again, alone")
        evaluating.begin([name], attempt: attempts + 1)
        defer { evaluating.end() }
        return claimed(name, receivedAt: receivedAt)
    }

    /// Whether a file in `processing/` that changed while it was routed changed again within the
    /// quiet period: its writer may still be at it, so recovery leaves it for later.
    private func isStillChanging(_ name: String) -> Bool {
        guard changing.contains(name) else { return false }
        guard let info = try? System.lstatAt(folders.processing.fd, name) else {
            changing.remove(name)
            return false
        }
        let stamp = FileStamp(info)
        if System.wallClock() - Double(max(stamp.modified, stamp.changed)) / 1e9 < quietPeriod { return true }
        changing.remove(name)
        return false
    }

    /// What is on disk for one journaled route (the input of ``RecoveryPlan``).
    private func observe(_ entry: JournalEntry) -> Observation {
        let outcomeFolder = folders.outcome(entry.decision)
        let inProcessing = folders.exists(folders.processing, entry.name)
        let atFinalName = folders.exists(outcomeFolder, entry.finalName)
        return Observation(
            inProcessing: inProcessing, atFinalName: atFinalName,
            sameFile: inProcessing && atFinalName && folders.sameFile(folders.processing, entry.name, outcomeFolder, entry.finalName),
            reports: ReportFiles.states(of: entry, in: outcomeFolder))
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
        let read: (entries: [JournalEntry], audited: [String])
        do {
            read = try journals.read(journal)
        } catch {
            // Never taken for empty: its files would be routed again as leftovers under new ids.
            log.error("cannot read the journal \(layout.processing)/\(journal): \(error); it and the files in processing/ wait for the next try")
            return ([], nil, false)
        }
        audited.formUnion(read.audited)
        // A route already audited is finished (a journal is kept until all its routes are):
        // never touched again, and a later file of the same name in processing/ is not its.
        let unfinished = read.entries.filter { !audited.contains($0.id) }
        let names = unfinished.map(\.name)
        if unfinished.contains(where: { isStillChanging($0.name) }) {
            // A file of it changed within the quiet period (it changed before its move): its
            // writer may still be at it, so the journal waits.
            return ([], names, false)
        }
        log.notice("replaying the journal \(journal): \(unfinished.count) manifest(s) were being routed when the last run stopped")

        // Routes skipped this time (a second name that could not be removed, a look-up Metrc did
        // not answer): still owed, so a rewritten journal keeps them, or their files would be
        // taken for leftovers next time.
        var undone: [JournalEntry] = []
        var rereads: [Reread] = []
        for entry in unfinished {
            let observation = observe(entry)
            let place = RecoveryPlan.place(of: observation)
            switch place {
            case .missing:
                log.warning("\(entry.name) named in \(journal) is neither in processing/ nor in \(entry.decision.rawValue)/ as \(entry.finalName); skipped")
                continue
            case .movedLeavingSecondName:
                // A crash between link and unlink of the fallback move: the move is done.
                do {
                    try System.unlinkIfPresent(in: folders.processing.fd, entry.name, describing: layout.processing + "/" + entry.name)
                } catch {
                    log.warning("cannot remove \(layout.processing)/\(entry.name), a second name of \(entry.decision.rawValue)/\(entry.finalName) that a move cut short left: \(error); \(journal) is replayed again later")
                    undone.append(entry)
                    continue
                }
            case .moved, .waiting:
                break
            }
            guard let reread = readAgain(entry, observation, suspects: suspects, journal: journal) else { return ([], names, false) }
            rereads.append(reread)
        }
        guard let lookedUp = lookUpMisses(of: rereads, suspects: suspects, journal: journal) else { return ([], names, false) }
        undone += lookedUp.waiting

        var routes: [PendingRoute] = []
        var renamed = false
        // New names are chosen around every name this journal already holds.
        var reserved: [Decision: Set<String>] = [:]
        for entry in unfinished { reserved[entry.decision, default: []].formUnion(folders.reservedNames(entry.finalName)) }
        for reread in lookedUp.decided {
            var entry = reread.entry
            let report = reread.report
            let plan = RecoveryPlan(reread.observation, journaled: entry.decision, readAs: report.decision)
            if !plan.renaming.isEmpty {
                takeNewName(&entry, as: plan, reserved: &reserved)
                renamed = true
            }
            if !plan.moves && report.decision != entry.decision {
                // Moved, it stays where it was routed; read again now (the catalog or the rules
                // changed since), it reads otherwise, and a report written now says both.
                log.warning("\(entry.name) was routed to \(entry.decision.rawValue)/ as \(entry.finalName) before the last run stopped; read again at recovery it reads as \(report.decision.rawValue) (the catalog or the rules changed since): it stays in \(entry.decision.rawValue)/\(plan.reports == .createMissing ? ", and the reports written again for it say so" : "")")
            }
            let alerts: [OutboxEntry]
            do {
                alerts = try replayedAlerts(entry, report, plan: plan)
            } catch {
                // Taking "no draft" for an answer would lose the alerts owed: the journal waits.
                log.error("cannot read the alerts of \(entry.name) in \(outbox?.folder ?? layout.outbox): \(error); \(journal) is replayed at the next try")
                return ([], names, false)
            }
            routes.append(PendingRoute(outcome: Outcome(entry: entry, report: report, alerts: alerts, stamp: plan.moves ? reread.stamp : nil),
                                       reports: plan.reports, moves: plan.moves))
        }
        if renamed {
            // New names are journaled before any file is written under them, so that a crash
            // now finds them again instead of taking yet another name. The journal is replaced
            // in one rename: two journals of one route would route and audit it twice.
            do {
                try journals.replace(journal, with: routes.map(\.outcome.entry) + undone)
            } catch {
                log.error("cannot rewrite the routing journal \(journal): \(error); it is replayed again later")
                return ([], names, false)
            }
        }
        let finished = finish(routes, journal: journal, replaying: true, audited: &audited, leftUndone: undone.count)
        return (finished.done, names, finished.finished)
    }

    /// A journaled route whose manifest is read again at recovery.
    private struct Reread {
        var entry: JournalEntry
        var observation: Observation
        /// What the manifest reads as now.
        var report: ManifestReport
        /// The manifest as it was read, when it is a regular file.
        var stamp: FileStamp?
    }

    /// Reads a journaled route's manifest again: from `processing/` while it waits there (or
    /// rejects it unread when it was being evaluated the last two times the daemon died), else
    /// the moved file (its reports may have to be created again). Nil (logged) when it kept
    /// changing while it was read: the journal then waits.
    private func readAgain(_ entry: JournalEntry, _ observation: Observation, suspects: [String: Int], journal: String) -> Reread? {
        let waiting = RecoveryPlan.place(of: observation) == .waiting
        let evaluation: Evaluation
        if waiting, let report = setAside(entry.name, suspects: suspects) {
            evaluation = .read(report, nil)
        } else {
            evaluating.begin([entry.name], attempt: (suspects[entry.name] ?? 0) + 1)
            evaluation = waiting
                ? Evaluation.of(entry.name, in: folders.processing, checker: checker)
                : Evaluation.of(entry.finalName, in: folders.outcome(entry.decision), checker: checker)
            evaluating.end()
        }
        progress.advance()
        guard case .read(var report, let stamp) = evaluation else {
            changing.insert(entry.name)
            log.notice("\(entry.name) kept changing while it was read; \(journal) is replayed once it has been left alone")
            return nil
        }
        report.file = entry.name
        return Reread(entry: entry, observation: observation, report: report, stamp: stamp)
    }

    /// The journaled routes whose manifests needed what the live catalog lacks, looked up once
    /// for all of them and read again, as a batch does (``lookUpMisses(_:)``): the decision was
    /// journaled with what Metrc answered then, and a crash may have come before the catalog kept
    /// it. When Metrc does not answer, those routes wait (``waitingForCatalog``; their journal is
    /// kept), never decided from a catalog that lacks what they need. Nil when a manifest kept
    /// changing while it was read again: the journal then waits.
    private func lookUpMisses(of rereads: [Reread], suspects: [String: Int], journal: String)
        -> (decided: [Reread], waiting: [JournalEntry])? {
        // Those that waited already are logged once, when they began to.
        let waitedBefore = Set(rereads.map(\.entry.name).filter { waitingForCatalog[$0] != nil })
        for reread in rereads { waitingForCatalog[reread.entry.name] = nil }
        let lacking = rereads.filter { !$0.report.catalogMisses.isEmpty }
        guard let catalogSource, !lacking.isEmpty else { return (rereads, []) }
        var misses = CatalogMisses()
        for reread in lacking { misses.formUnion(reread.report.catalogMisses) }
        let decided = rereads.filter { $0.report.catalogMisses.isEmpty }
        switch lookUpReportingProgress(catalogSource, misses) {
        case .answered(let catalog):
            checker.catalog = catalog
            var again: [Reread] = []
            for reread in lacking {
                guard let read = readAgain(reread.entry, reread.observation, suspects: suspects, journal: journal) else { return nil }
                again.append(read)
            }
            return (decided + again, [])
        case .unavailable(let reason):
            for reread in lacking { waitingForCatalog[reread.entry.name] = reason }
            let fresh = lacking.filter { !waitedBefore.contains($0.entry.name) }
            if !fresh.isEmpty {
                let named = fresh.prefix(5).map(\.entry.name).joined(separator: ", ") + (fresh.count > 5 ? " and \(fresh.count - 5) more" : "")
                log.warning("\(fresh.count) manifest(s) of \(journal) wait because they need Metrc, which does not answer (\(reason)): \(named); they are decided once it answers, never rejected for it")
            }
            return (decided, lacking.map(\.entry))
        }
    }

    /// Gives a waiting route the new final name its plan calls for, in the folder the plan says,
    /// after removing what it began under the old name.
    private func takeNewName(_ entry: inout JournalEntry, as plan: RecoveryPlan, reserved: inout [Decision: Set<String>]) {
        let journaled = entry
        do {
            try ReportFiles.removeOwn(of: journaled, in: folders.outcome(journaled.decision))
        } catch {
            // Left, such a report is a stray file beside no manifest: never read, never routed.
            log.warning("cannot remove a report \(journaled.name) began as \(journaled.decision.rawValue)/\(journaled.finalName): \(error)")
        }
        entry.decision = plan.decision
        entry.finalName = folders.freeName(entry.name, in: entry.decision, reserved: &reserved[entry.decision, default: []])
        for reason in plan.renaming {
            switch reason {
            case .finalNameTaken:
                log.warning("\(journaled.decision.rawValue)/ holds another file named as \(entry.name) was to be; it goes in as \(entry.finalName)")
            case .decisionChanged:
                log.warning("\(entry.name) was journaled for \(journaled.decision.rawValue)/ but now reads as \(entry.decision.rawValue); it goes to \(entry.decision.rawValue)/ as \(entry.finalName)")
            case .foreignReport where plan.renaming == [.foreignReport]:
                log.warning("\(journaled.decision.rawValue)/ holds another file at a report name of \(journaled.finalName); \(entry.name) goes in as \(entry.finalName)")
            case .foreignReport:
                break  // said by the reason above
            }
        }
    }

    // MARK: Alerts

    /// The outbox entries of this route, one per sink that wants its decision.
    private func alertEntries(_ entry: JournalEntry, _ report: ManifestReport) -> [OutboxEntry] {
        guard outbox != nil, let alerts, !alerts.isEmpty else { return [] }
        return alerts.entries(for: entry.routed, report: report, createdAt: System.wallClock())
    }

    /// The alerts a replayed route owes. Drafts are written before the move and published after
    /// it. Still in `processing/`, a draft may never have reached the disk: the config in force
    /// plans them again (senders never saw them), and drafts it would not write go. Moved, the
    /// drafts on disk are the alerts owed, whatever the config says now (the senders dead-letter
    /// those for sinks that are gone); no draft means published already.
    private func replayedAlerts(_ entry: JournalEntry, _ report: ManifestReport, plan: RecoveryPlan) throws(SystemError) -> [OutboxEntry] {
        guard let outbox else { return [] }
        let drafts = try outbox.drafts(ofRoute: entry.id)
        guard plan.moves else { return drafts }
        var alerts: [OutboxEntry] = []
        for alert in alertEntries(entry, report) where try !outbox.isWaiting(alert) { alerts.append(alert) }
        for draft in drafts where !alerts.contains(where: { $0.id == draft.id }) { try outbox.dropDraft(draft) }
        return alerts
    }

    private func writeAlertDrafts(_ entries: [OutboxEntry]) throws(SystemError) {
        guard let outbox else { return }
        for entry in entries { try outbox.writeDraft(entry) }
    }

    /// Publishes the alerts of a moved manifest. Returns those now published, for the senders,
    /// and false when one could not be (logged), so the journal is kept and a replay publishes it.
    private func publishAlerts(_ entries: [OutboxEntry], of route: JournalEntry) -> (published: [OutboxEntry], all: Bool) {
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

    // MARK: Audit

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
