#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import Dispatch
import Synchronization
import BatchgateSystem
import BatchgateConfig
import BatchgateAlerts
import BatchgateCatalog

/// The long-running service: watches the inbox, routes what arrives, and answers signals.
/// This file holds its state, start-up, routing batches, folder checks, stop and reload; the
/// intake is in `Intake/Daemon+Intake.swift`, timers and signals next to this file.
///
/// Everything mutable is touched only on `queue`, a serial queue: inotify events, scans, routing
/// batches, timers and signals all run there one at a time. A batch ends before a signal is
/// handled, so SIGTERM always finishes the manifests in hand. (Hence `@unchecked Sendable`.)
/// Its state is internal rather than private only so that its extensions in the other files
/// reach it; nothing outside the daemon's files touches it.
public final class Daemon: @unchecked Sendable {
    /// Reads the config and its alert secrets again for SIGHUP; throws a message for the log when
    /// they are bad.
    public typealias Reloader = @Sendable () throws -> (DaemonConfig, ConfigSecrets)

    let queue = DispatchQueue(label: "batchgate.daemon")
    var settings: DaemonConfig
    /// The alert sinks' secrets and the Metrc keys.
    var secrets: ConfigSecrets
    let reloader: Reloader?
    let log: Logger
    let notifier: SystemdNotifier
    var router: Router!
    var audit: AuditLog!
    var outbox: Outbox!
    /// The live catalog, synced from Metrc; nil when the catalog comes from files alone.
    var catalog: CatalogService?
    var alerts: AlertDispatcher!
    var watcher: InboxWatcher?
    /// What is known of the files in the inbox that are not whole yet.
    var tracker: IntakeTracker
    /// Names routed lately, to tell a writer's phantom (an empty file made by opening the name
    /// again after the manifest was taken) from a manifest.
    /// Ten seconds: an SMB client sets the times right after its copy, and a phantom found once is
    /// kept parked (``parked``) however long it stays; a longer memory would only cost space in
    /// proportion to the rate of manifests.
    var recentlyRouted = RecentNames(window: 10)
    /// Phantoms already logged, so each is logged once.
    var parked = Set<String>()
    /// Names that wait because `processing/` holds the same name, logged once each.
    var deferredLogged = Set<String>()
    /// Names found held open for writing at their claim, logged once each.
    var heldLogged = Set<String>()
    /// Since when a held folder has been missing (a `mv accepted old; mkdir accepted` is two
    /// steps): work waits, and only a folder still gone after ``folderGrace`` stops the daemon.
    var folderMissingSince: Double?
    /// Names queued for routing, in order, and the same names as a set (to queue each once).
    var pending: [String] = []
    var pendingSet = Set<String>()
    var drainScheduled = false
    var routedSinceTrim = 0
    /// Set when a scan stopped at ``InboxScan/limit`` names: the rest is listed once the queue drains.
    var scanCut = false
    var routedSinceScan = 0
    /// When a file whose name is not UTF-8, still changing, should be looked at again.
    var rescanAt: Double?
    /// Files whose name is not UTF-8 and for which every name tried was taken, logged once each.
    var renameGiveUpLogged = Set<[UInt8]>()
    var quietTimer: DispatchSourceTimer?
    var recoveryScheduled = false
    /// How long until the next recovery when the last one left work: the quiet period at first,
    /// doubled after each that left work again (a full disk), up to a minute.
    var recoveryDelay: Double?
    var rescanTimer: DispatchSourceTimer?
    var folderTimer: DispatchSourceTimer?
    var watchdogTimer: DispatchSourceTimer?
    /// Advanced by every block the watchdog sends through `queue`: a queue that runs them is free.
    let heartbeat = ProgressCounter()
    var counts: [Decision: Int] = [:]
    var stopping = false
    /// A reload is reading the config and catalog; another SIGHUP meanwhile sets `reloadAgain`.
    var reloading = false
    var reloadAgain = false
    /// The state root's lock, held for the life of the process.
    var lockFD: Int32 = -1
    /// What the metrics file counts, and its writer (`Metrics/`).
    var metrics: DaemonMetrics
    /// The last `STATUS=` text sent, so that a refresh for the alerts' sake sends only a change.
    var sentStatus: String?
    /// Set while a refresh of `STATUS=` for the alerts' sake waits on `queue`: the senders' changes
    /// in between need no other (``alertCountsChanged()``).
    let statusRefreshQueued = Atomic<Bool>(false)

    let transport: any AlertTransport

    /// A daemon running on `settings`, its alert sinks' `secrets` read already; `transport` sends
    /// the alerts (libcurl unless a test gives another); `version` is what the metrics file names.
    public init(settings: DaemonConfig, secrets: ConfigSecrets, environment: [String: String], log: Logger,
                reloader: Reloader? = nil, transport: any AlertTransport = LibcurlAlertTransport(), version: String = "unknown") {
        self.settings = settings
        self.secrets = secrets
        self.reloader = reloader
        self.transport = transport
        self.log = log
        notifier = SystemdNotifier(environment: environment)
        tracker = IntakeTracker(quietPeriod: settings.quietPeriod.seconds)
        metrics = DaemonMetrics(version: version, startTime: System.wallClock())
    }

    /// Prepares the folders, finishes what a crash left, looks at what is in the inbox and starts
    /// watching. Throws when the daemon cannot run (the caller exits with status 78).
    public func start() throws(StartupError) {
        // Signals blocked first: one that comes during recovery waits for waitForSignals().
        Self.blockHandledSignals()
        Self.ignoreSignalsThatWouldEndTheProcess()
        try settings.layout.prepare()
        lockFD = try settings.layout.lock()
        try settings.layout.checkRenames()
        var checker: ManifestChecker
        do {
            checker = try settings.makeChecker()
        } catch {
            throw StartupError(error.description)
        }
        // Before recovery: manifests left in processing/ are decided with the cached catalog (and
        // look-ups), and the first sync starts at once, alongside.
        catalog = try makeCatalogService(files: checker.catalog)
        checker = liveChecker(checker)
        do {
            audit = try AuditLog(path: settings.layout.auditLog)
            if audit.cutAtOpen > 0 {
                log.warning("\(audit.path) ended in part of a line (\(audit.cutAtOpen) bytes), left by a stop in the middle of a write; cut it off: recovery writes that manifest's line again")
            }
            outbox = try Outbox(layout: settings.layout)
            router = try Router(layout: settings.layout, checker: checker, syncToDisk: settings.fsync, log: log, audit: audit,
                                outbox: outbox, alerts: AlertPlanner(config: settings, layout: settings.layout))
            router.quietPeriod = settings.quietPeriod.seconds
            router.catalogSource = catalog
            alerts = AlertDispatcher(outbox: outbox, config: settings, secrets: secrets.sinks, log: log, transport: transport,
                                     onChange: { [weak self] in self?.alertCountsChanged() })
        } catch {
            throw StartupError("cannot open the state folders: \(error)")
        }
        let failure: StartupError? = queue.sync {
            // On the queue, so that its first events are handled after this start-up block.
            catalog?.start()
            record(router.recover())
            if router.needsRecovery { scheduleRecovery() }
            // After recovery, which may have published alerts: the outbox as a whole is the list.
            alerts.resume()
            // From now on the router hands over what each batch publishes, as soon as it is durable.
            router.alertsPublished = { [unowned self] in self.alerts.add($0) }
            do {
                watcher = try watchInbox()
            } catch {
                return StartupError("cannot watch the inbox \(settings.layout.inbox): \(error)")
            }
            // What is in the inbox now waits a quiet period like anything else: a writer may be
            // at it (a restart while a scanner writes).
            scanInbox()
            scheduleRescans()
            scheduleFolderChecks()
            log.notice("watching \(settings.layout.inbox) (state in \(settings.layout.root); rescan every \(settings.rescanInterval == .zero ? "off" : DurationText.format(settings.rescanInterval)), quiet period \(DurationText.format(settings.quietPeriod)), fsync \(settings.fsync ? "on" : "off"))")
            sendStatus(after: "READY=1")
            // After READY: the watchdog pings from another thread, and READY comes first.
            scheduleWatchdog()
            startMetrics()
            return nil
        }
        if let failure { throw failure }
    }

    func scheduleDrain() {
        guard !drainScheduled else { return }
        drainScheduled = true
        // A separate block per batch, so a signal can be handled between batches.
        queue.async { [unowned self] in self.drainOnce() }
    }

    func drainOnce() {
        drainScheduled = false
        guard !stopping, !pending.isEmpty else { return }
        guard checkFolders() else { return }
        let batch = Array(pending.prefix(Router.batchLimit))
        pending.removeFirst(batch.count)
        for name in batch { pendingSet.remove(name) }
        let result = router.route(batch)
        record(result.outcomes)
        metrics.arrivals.claimed(Set(batch).subtracting(result.deferred).subtracting(result.held))
        // Deferred (processing/ holds the same name) or held open by a writer the watcher never
        // saw open it (it opened it before batchgate started): each waits a quiet period again,
        // like a file being written, and is logged once.
        waitAgain(result.deferred, loggedIn: &deferredLogged, level: .warning,
                  "file(s) wait in the inbox because processing/ holds the same name")
        waitAgain(result.held, loggedIn: &heldLogged, level: .info, "file(s) are still open for writing and wait")
        if !result.deferred.isEmpty || !result.held.isEmpty {
            scheduleQuietCheck()
        }
        if router.needsRecovery { scheduleRecovery() }
        sendStatus()
        routedSinceTrim += batch.count
        routedSinceScan += result.outcomes.count
        if pending.isEmpty && scanCut {
            // The last scan stopped at its limit: list the rest now that the queue is empty,
            // unless the last part routed nothing (every name deferred), which would only loop.
            scanCut = false
            if routedSinceScan > 0 { scanInbox() }
        }
        if !pending.isEmpty {
            scheduleDrain()
        } else if routedSinceTrim >= Self.trimAfter {
            // A backlog is done: hand the memory it took back to the system (glibc keeps freed
            // memory of every thread's arena otherwise, and a resident size that only grows
            // looks like a leak to whoever watches it).
            routedSinceTrim = 0
            System.releaseFreedMemory()
        }
    }

    /// Manifests routed in a row after which the freed memory is given back once the queue empties.
    static let trimAfter = 1_000

    /// Counts routed manifests and logs one line each (written together: a burst's log lines
    /// cost one write per batch, not one per manifest).
    func record(_ outcomes: [Router.Outcome]) {
        var lines: [(LogLevel, String)] = []
        lines.reserveCapacity(outcomes.count)
        let now = System.monotonicClock()
        for outcome in outcomes {
            counts[outcome.entry.decision, default: 0] += 1
            metrics.routed(outcome.entry.name, report: outcome.report, now: now)
            let entry = outcome.entry
            recentlyRouted.insert(entry.name, now: now)
            deferredLogged.remove(entry.name)
            heldLogged.remove(entry.name)
            let renamed = entry.finalName == entry.name ? "" : " as \(entry.finalName)"
            let level: LogLevel = entry.decision == .accepted ? .info : .notice
            lines.append((level, "routed \(entry.name) to \(entry.decision.rawValue)/\(renamed): \(outcome.report.summary)"))
        }
        log.write(lines)
    }

    /// Sends `STATUS=` with the ``status`` as it is now, after `message` (`READY=1`…) when given.
    func sendStatus(after message: String? = nil) {
        let text = status
        sentStatus = text
        notifier.notify((message.map { $0 + "\n" } ?? "") + "STATUS=" + text)
    }

    /// Called from the alert senders' queues whenever a sink's count of alerts waiting or dead
    /// changes: asks `queue` for one refresh of `STATUS=`, a short while later so that a burst of
    /// changes (thousands of alerts a second) costs one line, not one each. A change while one
    /// refresh waits is seen by it.
    func alertCountsChanged() {
        guard notifier.isActive,
              statusRefreshQueued.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        queue.asyncAfter(deadline: .now() + Self.statusRefreshDelay) { [weak self] in
            guard let self else { return }
            statusRefreshQueued.store(false, ordering: .releasing)
            // Before the start is done (no watcher yet), READY=1 carries the counts as they are then.
            guard !stopping, watcher != nil else { return }
            let text = status
            guard text != sentStatus else { return }
            sentStatus = text
            notifier.notify("STATUS=" + text)
        }
    }

    /// How long a refresh of `STATUS=` for the alerts' sake waits for more changes: at most about
    /// four lines a second from the alerts however fast they come and go, and late by no more
    /// than a person would notice.
    static let statusRefreshDelay = 0.25

    var status: String {
        let total = counts.values.reduce(0, +)
        return "routed \(total) (accepted \(counts[.accepted, default: 0]), needs-batch \(counts[.needsBatch, default: 0]), rejected \(counts[.rejected, default: 0])); \(pending.count) waiting" + alertStatus + catalogStatus
    }

    /// The alerts part of the status line: what waits to be sent and what was given up, over every
    /// sink (`batchgate status` tells them apart); nothing when no sink is configured.
    var alertStatus: String {
        guard let alerts else { return "" }
        let sinks = alerts.statistics()
        guard !sinks.isEmpty else { return "" }
        let pending = sinks.reduce(0) { $0 + $1.waiting }, dead = sinks.reduce(0) { $0 + $1.deadLetters }
        return "; alerts \(pending) pending, \(dead) dead"
    }

    // MARK: Folders

    /// Checks every folder held by descriptor, and the audit log, against its path before work:
    /// a folder replaced under its name (a monthly `mv accepted accepted-2026-11; mkdir accepted`)
    /// is opened again; one that is gone stops the daemon with a message, so that systemd starts it
    /// again and start-up makes the folder anew. False when the daemon is stopping.
    func checkFolders() -> Bool {
        do {
            let reopened: [String]
            do {
                reopened = try router.checkFolders() + outbox.checkFolders()
            } catch {
                // Gone, or not a folder: give an operator's two-step swap a moment.
                let now = System.monotonicClock()
                let since = folderMissingSince ?? now
                folderMissingSince = since
                guard now - since >= Self.folderGrace else { return false }
                throw error
            }
            if folderMissingSince != nil {
                folderMissingSince = nil
                if !pending.isEmpty { scheduleDrain() }
            }
            for path in reopened {
                log.warning("\(path) is now another folder than the one batchgate had open (moved away and made again?); reopened it: from now on files go into the folder at that path")
            }
            if try audit.followPath() {
                log.warning("\(audit.path) was deleted, moved or replaced while batchgate ran; a new one was opened at that path (rotate it with a SIGUSR1 after the rename to keep every line in one place)")
            }
            if reopened.contains(settings.layout.inbox) {
                watcher?.cancel()
                watcher = try watchInbox()
                // Names of the old inbox mean nothing in the new one: look at what is there now,
                // and let every file there wait its quiet period.
                tracker = IntakeTracker(quietPeriod: settings.quietPeriod.seconds)
                pending.removeAll()
                pendingSet.removeAll()
                parked.removeAll()
                scanInbox()
            }
            return true
        } catch {
            stop(failing: "\(error); batchgate stops so that it can start again with its folders in place (start-up makes missing ones)")
            return false
        }
    }

    /// SIGTERM or SIGINT: the batch in hand is already finished (signals run between batches).
    func stop() {
        guard !stopping else { return }
        stopping = true
        notifier.notify("STOPPING=1\nSTATUS=stopping; \(status)")
        watcher?.cancel()
        rescanTimer?.cancel()
        folderTimer?.cancel()
        watchdogTimer?.cancel()
        catalog?.stop()
        writeMetrics()
        log.notice("stopping: \(status)")
        System.exit(0)
    }

    /// Stops on a problem the daemon cannot work around while it runs: exit status 1, so systemd
    /// (`Restart=on-failure`) starts it again.
    func stop(failing reason: String) {
        guard !stopping else { return }
        stopping = true
        log.error(reason)
        notifier.notify("STOPPING=1\nSTATUS=failed: \(reason)")
        writeMetrics()
        System.exit(1)
    }

    /// SIGHUP: reads the config and catalog again; a bad one is logged and the running one kept.
    /// It reopens the audit log too, as SIGUSR1 does alone, so that a logrotate set up to
    /// reload (`systemctl reload batchgate`) still rotates it.
    /// The reading (a catalog may take seconds) runs off the daemon's queue, which goes on routing
    /// with the running configuration and feeding the watchdog meanwhile; a SIGHUP that comes
    /// during a reload makes one more once it is done.
    func reload() {
        guard router != nil else { return }  // still starting: the config just read is current
        guard !reloading else {
            reloadAgain = true
            return
        }
        reloading = true
        notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(System.monotonicMicroseconds())")
        var reopened = true
        do {
            try audit.reopen()
        } catch {
            reopened = false
            log.error("cannot reopen the audit log: \(error); the lines go on into the file open until now")
        }
        guard let reloader else {
            if reopened { log.notice("reopened the audit log (no config file to reload)") }
            finishReload()
            return
        }
        DispatchQueue.global().async { [unowned self] in
            let read = Result { () throws -> (DaemonConfig, ConfigSecrets, ManifestChecker) in
                let (next, secrets) = try reloader()
                return (next, secrets, try next.makeChecker())
            }
            self.queue.async { self.apply(read) }
        }
    }

    func finishReload() {
        reloading = false
        sendStatus(after: "READY=1")
        if reloadAgain {
            reloadAgain = false
            reload()
        }
    }

    func apply(_ read: Result<(DaemonConfig, ConfigSecrets, ManifestChecker), any Error>) {
        defer { finishReload() }
        guard !stopping else { return }
        var next: DaemonConfig
        var nextSecrets: ConfigSecrets
        let checker: ManifestChecker
        do {
            (next, nextSecrets, checker) = try read.get()
        } catch {
            log.error("reload failed, keeping the running configuration: \(error)")
            return
        }
        if next.layout != settings.layout || next.fsync != settings.fsync {
            log.warning("the state root, inbox and fsync settings take effect only after a restart")
        }
        if next.catalog.metrc != settings.catalog.metrc || nextSecrets.metrc != secrets.metrc {
            log.warning("changes to catalog.metrc (and its keys) take effect only after a restart")
        }
        // Those stay as they were; everything else is taken from the file.
        (next.stateRoot, next.inbox, next.fsync) = (settings.stateRoot, settings.inbox, settings.fsync)
        (next.catalog.metrc, nextSecrets.metrc) = (settings.catalog.metrc, secrets.metrc)
        router.checker = liveChecker(checker)
        router.alerts = AlertPlanner(config: next, layout: settings.layout)
        router.quietPeriod = next.quietPeriod.seconds
        alerts.reload(next, secrets: nextSecrets.sinks)
        log.setLevel(next.log.level)
        let rescanChanged = next.rescanInterval != settings.rescanInterval
        tracker.setQuietPeriod(next.quietPeriod.seconds)
        settings = next
        secrets = nextSecrets
        if rescanChanged { scheduleRescans() }
        startMetrics()
        let live = router.checker.catalog
        log.notice("reloaded the configuration and catalog (\(live.itemCount) items, \(live.packageCount) packages\(catalog == nil ? "" : " with Metrc's"), \(next.alerts.sinks.count) alert sink(s))")
        scanInbox()
    }
}
