#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import CSystem
import Dispatch
import Synchronization

/// The long-running service: watches the inbox, routes what arrives, and answers signals.
///
/// Everything mutable is touched only on `queue`, a serial queue: inotify events, scans, routing
/// batches, timers and signals all run there one at a time. A batch ends before a signal is
/// handled, so SIGTERM always finishes the manifests in hand. (Hence `@unchecked Sendable`.)
public final class Daemon: @unchecked Sendable {
    /// Reads the config and its alert secrets again for SIGHUP; throws a message for the log when
    /// they are bad.
    public typealias Reloader = @Sendable () throws -> (DaemonConfig, [String: SinkSecrets])

    private let queue = DispatchQueue(label: "batchgate.daemon")
    private var settings: DaemonConfig
    /// The alert sinks' secrets, by sink name.
    private var secrets: [String: SinkSecrets]
    private let reloader: Reloader?
    private let log: Logger
    private let notifier: SystemdNotifier
    private var router: Router!
    private var audit: AuditLog!
    private var outbox: Outbox!
    private var alerts: AlertDispatcher!
    private var watcher: InboxWatcher?
    /// What is known of the files in the inbox that are not whole yet.
    private var tracker: IntakeTracker
    /// Names routed lately, to tell a writer's phantom (an empty file made by opening the name
    /// again after the manifest was taken) from a manifest.
    /// Ten seconds: an SMB client sets the times right after its copy, and a phantom found once is
    /// kept parked (``parked``) however long it stays; a longer memory would only cost space in
    /// proportion to the rate of manifests.
    private var recentlyRouted = RecentNames(window: 10)
    /// Phantoms already logged, so each is logged once.
    private var parked = Set<String>()
    /// Names that wait because `processing/` holds the same name, logged once each.
    private var deferredLogged = Set<String>()
    /// Names found held open for writing at their claim, logged once each.
    private var heldLogged = Set<String>()
    /// Since when a held folder has been missing (a `mv accepted old; mkdir accepted` is two
    /// steps): work waits, and only a folder still gone after ``folderGrace`` stops the daemon.
    private var folderMissingSince: Double?
    private var pending: [String] = []
    private var pendingSet = Set<String>()
    private var drainScheduled = false
    private var routedSinceTrim = 0
    /// Set when a scan stopped at ``scanLimit`` names: the rest is listed once the queue drains.
    private var scanCut = false
    private var routedSinceScan = 0
    /// When a file whose name is not UTF-8, still changing, should be looked at again.
    private var rescanAt: Double?
    private var quietTimer: DispatchSourceTimer?
    private var recoveryScheduled = false
    /// How long until the next recovery when the last one left work: the quiet period at first,
    /// doubled after each that left work again (a full disk), up to a minute.
    private var recoveryDelay: Double?
    private var rescanTimer: DispatchSourceTimer?
    private var folderTimer: DispatchSourceTimer?
    private var watchdogTimer: DispatchSourceTimer?
    /// Advanced by every block the watchdog sends through `queue`: a queue that runs them is free.
    private let heartbeat = ProgressCounter()
    private var counts: [Decision: Int] = [:]
    private var stopping = false
    /// A reload is reading the config and catalog; another SIGHUP meanwhile sets `reloadAgain`.
    private var reloading = false
    private var reloadAgain = false
    /// The state root's lock, held for the life of the process.
    private var lockFD: Int32 = -1

    private let transport: any AlertTransport

    /// A daemon running on `settings`, its alert sinks' `secrets` read already; `transport` sends
    /// the alerts (libcurl unless a test gives another).
    public init(settings: DaemonConfig, secrets: [String: SinkSecrets], environment: [String: String], log: Logger,
                reloader: Reloader? = nil, transport: any AlertTransport = LibcurlAlertTransport()) {
        self.settings = settings
        self.secrets = secrets
        self.reloader = reloader
        self.transport = transport
        self.log = log
        notifier = SystemdNotifier(environment: environment)
        tracker = IntakeTracker(quietPeriod: settings.quietPeriod.seconds)
    }

    /// Prepares the folders, finishes what a crash left, looks at what is in the inbox and starts
    /// watching. Throws when the daemon cannot run (the caller exits with status 78).
    public func start() throws(StartupError) {
        // Signals blocked first: one that comes during recovery waits for waitForSignals().
        installSignalHandlers()
        try settings.layout.prepare()
        lockFD = try settings.layout.lock()
        try settings.layout.checkRenames()
        let checker: ManifestChecker
        do {
            checker = try settings.makeChecker()
        } catch {
            throw StartupError(error.description)
        }
        do {
            audit = try AuditLog(path: settings.layout.auditLog)
            outbox = try Outbox(layout: settings.layout)
            router = try Router(layout: settings.layout, checker: checker, syncToDisk: settings.fsync, log: log, audit: audit,
                                outbox: outbox, alerts: AlertPlanner(config: settings, layout: settings.layout))
            router.quietPeriod = settings.quietPeriod.seconds
            alerts = AlertDispatcher(outbox: outbox, config: settings, secrets: secrets, log: log, transport: transport)
        } catch {
            throw StartupError("cannot open the state folders: \(error)")
        }
        let failure: StartupError? = queue.sync {
            record(router.recover())
            if router.needsRecovery { scheduleRecovery() }
            // After recovery, which may have published alerts: the outbox as a whole is the list.
            alerts.resume()
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
            log.notice("watching \(settings.layout.inbox) (state in \(settings.layout.root); rescan every \(formatSeconds(settings.rescanInterval.seconds)), quiet period \(formatSeconds(settings.quietPeriod.seconds)), fsync \(settings.fsync ? "on" : "off"))")
            notifier.notify("READY=1\nSTATUS=\(status)")
            // After READY: the watchdog pings from another thread, and READY comes first.
            scheduleWatchdog()
            return nil
        }
        if let failure { throw failure }
    }

    private func watchInbox() throws(SystemError) -> InboxWatcher {
        try InboxWatcher(path: settings.layout.inbox, queue: queue) { [unowned self] events in
            self.handle(events)
        }
    }

    // MARK: Events

    private func handle(_ events: [InboxWatcher.Event]) {
        let now = System.monotonicClock()
        var rescan = false
        for event in events {
            switch event {
            case .file(let name, let signal):
                guard !DropFolderNames.isIgnored(name) else { continue }
                if signal == .gone {
                    parked.remove(name)
                    heldLogged.remove(name)
                }
                tracker.note(signal, name, now: now)
            case .created(let name):
                guard !DropFolderNames.isIgnored(name) else { continue }
                var info = stat()
                if fstatat(AT_FDCWD, settings.layout.inbox + "/" + name, &info, AT_SYMLINK_NOFOLLOW) == 0,
                   [S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK].contains(info.st_mode & S_IFMT) {
                    // Never written and closed: complete as soon as it exists.
                    enqueue(name)
                } else {
                    tracker.note(.changed, name, now: now)
                }
            case .unusableName:
                rescan = true
            case .overflow:
                log.warning("the inotify queue overflowed; rescanning \(settings.layout.inbox)")
                tracker.eventsLost(now: now)
                rescan = true
            case .inboxGone:
                // Moved away (a deletion is reported only once the folder is closed, which the
                // daemon never does): the next folder check takes whatever folder has the path.
                break
            }
        }
        if rescan { scanInbox() } else { admitReady() }
    }

    /// Queues the names that are whole now, and sets the timer for the next ones.
    private func admitReady() {
        let now = System.monotonicClock()
        for name in tracker.heldButQuiet(now: now) {
            // Counted as open, yet nothing happened for a quiet period: ask the kernel.
            switch router.writers(of: name) {
            case .free:
                tracker.released(name)
            case .held:
                tracker.probed(name, now: now)
            case .unknown:
                if let quiet = tracker.quietFor(name, now: now), quiet >= heldLimit {
                    tracker.released(name)
                    log.notice("\(name) counted as open for writing, but nothing happened to it for \(Int(quiet)) s and the kernel cannot say (inotify merges a writer's two closes into one): it is taken")
                } else {
                    tracker.probed(name, now: now)
                }
            }
        }
        for name in tracker.takeReady(now: now) { admit(name) }
        scheduleQuietCheck()
    }

    /// How long a file counted as held open, about which the kernel cannot say (a network
    /// filesystem, no CAP_LEASE), must be left alone before the count is taken to be wrong.
    private var heldLimit: Double { max(60, 10 * settings.quietPeriod.seconds) }

    private func admit(_ name: String) {
        if parked.contains(name) || recentlyRouted.contains(name, now: System.monotonicClock()) {
            var info = stat()
            if fstatat(AT_FDCWD, settings.layout.inbox + "/" + name, &info, AT_SYMLINK_NOFOLLOW) == 0,
               (info.st_mode & S_IFMT) == S_IFREG, info.st_size == 0 {
                if parked.insert(name).inserted {
                    log.notice("\(name) in the inbox is empty and has the name of a manifest routed moments ago: its writer opened the name again after the manifest was taken (as SMB clients do to set a file's times after copying). It is left in the inbox, not routed; delete it, or write a manifest into it")
                }
                return
            }
        }
        parked.remove(name)
        enqueue(name)
    }

    private func enqueue(_ name: String) {
        guard !stopping, pendingSet.insert(name).inserted else { return }
        pending.append(name)
        scheduleDrain()
    }

    private func scheduleDrain() {
        guard !drainScheduled else { return }
        drainScheduled = true
        // A separate block per batch, so a signal can be handled between batches.
        queue.async { [unowned self] in self.drainOnce() }
    }

    private func drainOnce() {
        drainScheduled = false
        guard !stopping, !pending.isEmpty else { return }
        guard checkFolders() else { return }
        let batch = Array(pending.prefix(Router.batchLimit))
        pending.removeFirst(batch.count)
        for name in batch { pendingSet.remove(name) }
        let result = router.route(batch)
        record(result.outcomes)
        alerts.add(result.outcomes.flatMap(\.alerts))
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
        notifier.notify("STATUS=\(status)")
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
            _ = batchgate_malloc_trim()
        }
    }

    private func waitAgain(_ names: [String], loggedIn logged: inout Set<String>, level: LogLevel, _ what: String) {
        guard !names.isEmpty else { return }
        let now = System.monotonicClock()
        for name in names { tracker.restart(name, now: now) }
        let new = names.filter { logged.insert($0).inserted }
        if !new.isEmpty { log.write([(level, "\(new.count) \(what): \(new.prefix(5).joined(separator: ", "))")]) }
    }

    /// Manifests routed in a row after which the freed memory is given back once the queue empties.
    static let trimAfter = 1_000

    /// The most names a scan of the inbox holds (queued, or waiting to be whole); the rest of the
    /// inbox is listed again when the queue has drained. An inbox of 50,000 files after an
    /// overflow then costs the memory of a few thousand names, not of all of them.
    static let scanLimit = 4_096

    /// Counts routed manifests and logs one line each (written together: a burst's log lines
    /// cost one write per batch, not one per manifest).
    private func record(_ outcomes: [Router.Outcome]) {
        var lines: [(LogLevel, String)] = []
        lines.reserveCapacity(outcomes.count)
        let now = System.monotonicClock()
        for outcome in outcomes {
            counts[outcome.entry.decision, default: 0] += 1
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

    private var status: String {
        let total = counts.values.reduce(0, +)
        return "routed \(total) (accepted \(counts[.accepted, default: 0]), needs-batch \(counts[.needsBatch, default: 0]), rejected \(counts[.rejected, default: 0])); \(pending.count) waiting"
    }

    // MARK: Folders

    /// Checks every folder held by descriptor, and the audit log, against its path before work:
    /// a folder replaced under its name (a monthly `mv accepted accepted-2026-11; mkdir accepted`)
    /// is opened again; one that is gone stops the daemon with a message, so that systemd starts it
    /// again and start-up makes the folder anew. False when the daemon is stopping.
    private func checkFolders() -> Bool {
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
                log.warning("\(audit.path) was deleted, moved or replaced while batchgate ran; a new one was opened at that path (rotate it with a SIGHUP to keep every line in one place)")
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

    // MARK: Scans

    /// Lists the inbox and tells the tracker what it saw: files that no event announced (written
    /// on another machine over NFS or SMB, present at start-up, lost in an overflow) are taken
    /// once two looks a quiet period apart saw them unchanged.
    private func scanInbox() {
        let inboxFD = Glibc.open(settings.layout.inbox, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard inboxFD >= 0 else {
            log.error("cannot scan the inbox: \(SystemError("open folder", settings.layout.inbox, errno: errno))")
            return
        }
        defer { System.close(inboxFD) }
        // Entries are looked at as they are read (an inbox after an overflow may hold tens of
        // thousands): only names to wait for are kept, and names that are not UTF-8.
        var unusable: [[UInt8]] = []
        var observations: [IntakeTracker.Observation] = []
        scanCut = false
        routedSinceScan = 0
        do {
            try System.forEachEntry(of: settings.layout.inbox) { entry in
                guard let name = entry.name else {
                    unusable.append(entry.bytes)
                    return true
                }
                guard !DropFolderNames.isIgnored(name), !pendingSet.contains(name) else { return true }
                var info = stat()
                guard fstatat(inboxFD, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return true }
                if (info.st_mode & S_IFMT) == S_IFDIR { return true }  // sub-folders are never touched
                let stamp = FileStamp(info)
                observations.append(.init(name: name, size: stamp.size, modified: stamp.modified, changed: stamp.changed))
                // Every scan stops at the limit (names queued plus names waiting); the same first
                // names come first again next time, so nothing is skipped for good.
                if pending.count + observations.count >= Self.scanLimit {
                    scanCut = true
                    return false
                }
                return true
            }
        } catch {
            log.error("cannot scan the inbox: \(error)")
            return
        }
        rescanAt = nil
        for bytes in unusable where !renameToUTF8(bytes, in: inboxFD) {
            rescanAt = System.monotonicClock() + settings.quietPeriod.seconds
        }
        tracker.look(observations, now: System.monotonicClock(), complete: !scanCut)
        admitReady()
    }

    /// A name that is not UTF-8 cannot be carried through reports and logs: the file is renamed
    /// within the inbox, each byte that is not UTF-8 written as `%XX`, and then waits as usual.
    /// Returns false when the file is still changing and must be looked at again.
    private func renameToUTF8(_ bytes: [UInt8], in inboxFD: Int32) -> Bool {
        let readable = String(decoding: bytes, as: UTF8.self)
        if DropFolderNames.isIgnored(readable) { return true }
        var info = stat()
        let path = bytes + [0]
        let found = path.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { fstatat(inboxFD, $0.baseAddress!, &info, AT_SYMLINK_NOFOLLOW) }
        }
        guard found == 0, (info.st_mode & S_IFMT) != S_IFDIR else { return true }
        let stamp = FileStamp(info)
        if System.wallClock() - Double(max(stamp.modified, stamp.changed)) / 1e9 < settings.quietPeriod.seconds { return false }
        let base = percentEncodingInvalidUTF8(bytes)
        for number in 1...100 {
            let name = suffixedName(base, number)
            do {
                try System.renameNoReplace(from: inboxFD, bytes: bytes, to: inboxFD, name, describing: settings.layout.inbox + "/" + base)
                log.notice("renamed \(name) in the inbox: its name was not UTF-8 (each such byte is now %XX)")
                return true
            } catch where error.errno == EEXIST {
                continue
            } catch {
                log.error("cannot rename the file \(base), whose name is not UTF-8: \(error)")
                return true
            }
        }
        return true
    }

    /// Sets the one timer that wakes the daemon when the next waiting file may be whole.
    private func scheduleQuietCheck() {
        var deadline = tracker.nextDeadline()
        if let rescanAt { deadline = min(deadline ?? rescanAt, rescanAt) }
        let timer: DispatchSourceTimer
        if let quietTimer {
            timer = quietTimer
        } else {
            // Strict: without it libdispatch may fire a one-shot timer later by a share of its
            // delay (up to 100 ms here on a 2 s quiet period), which every file written in place
            // would wait on top of the quiet period.
            timer = DispatchSource.makeTimerSource(flags: .strict, queue: queue)
            timer.setEventHandler { [unowned self] in self.quietCheck() }
            timer.schedule(deadline: .distantFuture, repeating: .never)
            timer.resume()
            quietTimer = timer
        }
        guard let deadline else {
            timer.schedule(deadline: .distantFuture, repeating: .never)
            return
        }
        // A little past the deadline, so the check sees the quiet period fully passed.
        let delay = max(0, deadline - System.monotonicClock()) + 0.005
        timer.schedule(deadline: .now() + delay, repeating: .never, leeway: .milliseconds(5))
    }

    private func quietCheck() {
        guard !stopping else { return }
        let now = System.monotonicClock()
        if tracker.needsLook(now: now) || rescanAt.map({ now >= $0 }) == true {
            scanInbox()
        } else {
            admitReady()
        }
    }

    /// Runs recovery once the quiet period has passed: a file that changed while it was routed
    /// waits in `processing/` for its writer to be done.
    private func scheduleRecovery() {
        guard !recoveryScheduled else { return }
        recoveryScheduled = true
        let delay = recoveryDelay ?? settings.quietPeriod.seconds
        recoveryDelay = min(60, max(delay, settings.quietPeriod.seconds) * 2)
        queue.asyncAfter(deadline: .now() + delay + 0.05) { [unowned self] in
            self.recoveryScheduled = false
            guard !self.stopping else { return }
            self.recover()
        }
    }

    private func recover() {
        guard checkFolders() else { return }
        let recovered = router.recover()
        record(recovered)
        alerts.add(recovered.flatMap(\.alerts))
        if router.needsRecovery {
            scheduleRecovery()
        } else {
            recoveryDelay = nil
        }
    }

    /// How often the held folders are compared with their paths when nothing else happens: an
    /// inbox deleted and made again raises no event in the new one (and inotify reports the old
    /// one's deletion only when its last descriptor closes), so only a look at the path finds it.
    /// Two system calls per folder.
    static let folderCheckInterval = 1.0

    /// How long a held folder may be missing before the daemon stops: long enough for `mv accepted
    /// accepted-2026-11; mkdir accepted` typed or scripted, short enough for systemd to put things
    /// right soon.
    static let folderGrace = 3.0

    private func scheduleFolderChecks() {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.milliseconds(Int(Self.folderCheckInterval * 1000))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(250))
        timer.setEventHandler { [unowned self] in
            guard !self.stopping else { return }
            _ = self.checkFolders()
        }
        timer.resume()
        folderTimer = timer
    }

    private func scheduleRescans() {
        rescanTimer?.cancel()
        rescanTimer = nil
        guard settings.rescanInterval > .zero else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.milliseconds(Int(settings.rescanInterval.seconds * 1000))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(500))
        timer.setEventHandler { [unowned self] in
            guard !self.stopping else { return }
            // Claimed files a failed batch left behind are retried too.
            self.recover()
            guard !self.stopping else { return }
            self.recentlyRouted.prune(now: System.monotonicClock())
            self.scanInbox()
        }
        timer.resume()
        rescanTimer = timer
    }

    /// Sends `WATCHDOG=1` only while the daemon gets on: its queue runs the heartbeat blocks the
    /// watchdog sends through it, or the router advances within a long batch (each file read and
    /// evaluated counts). A router stuck on one file, or a queue stuck anywhere, stops the pings,
    /// and systemd restarts the service; recovery then sets that file aside.
    private func scheduleWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "batchgate.watchdog"))
        // Half the notify interval: a short stall never costs a ping, a long one always does.
        let period = DispatchTimeInterval.milliseconds(max(1, Int(interval * 500)))
        let progress = router.progress
        let heartbeat = heartbeat
        let notifier = notifier
        let queue = queue
        let gate = Mutex(WatchdogGate())
        timer.schedule(deadline: .now(), repeating: period, leeway: .milliseconds(100))
        timer.setEventHandler {
            let beat = heartbeat.current, done = progress.current
            if gate.withLock({ $0.shouldPing(heartbeat: beat, progress: done) }) { notifier.notify("WATCHDOG=1") }
            queue.async { heartbeat.advance() }
        }
        timer.resume()
        watchdogTimer = timer
    }

    // MARK: Signals

    /// The signals the daemon acts on: SIGTERM and SIGINT stop it, SIGHUP reloads.
    static let handledSignals = [SIGTERM, SIGINT, SIGHUP]

    /// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it creates from
    /// then on, so that they stay pending until ``waitForSignals()`` takes them. Call it first
    /// thing in `main`, before any thread exists.
    ///
    /// Why not Dispatch signal sources: on Linux they read a signalfd while the signal's
    /// disposition is SIG_IGN, and `dispatchMain()` parks the main thread in `sigsuspend` with
    /// every signal unblocked; a SIGTERM delivered to that thread was dropped (24 times in 200
    /// starts measured here), and the daemon went on running.
    public static func blockHandledSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        for number in handledSignals { sigaddset(&set, number) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Takes SIGTERM, SIGINT and SIGHUP with `sigwait` on the calling thread (the main thread,
    /// after ``start()``), forever, and handles each on the daemon's queue: between batches, so
    /// SIGTERM always finishes the manifests in hand. A signal that came during start-up waits,
    /// blocked, until then.
    public func waitForSignals() -> Never {
        Self.blockHandledSignals()
        var set = sigset_t()
        sigemptyset(&set)
        for number in Self.handledSignals { sigaddset(&set, number) }
        while true {
            var number: Int32 = 0
            guard sigwait(&set, &number) == 0 else { continue }
            let received = number
            queue.async { [self] in
                if received == SIGHUP { reload() } else { stop() }
            }
        }
    }

    private func installSignalHandlers() {
        Self.blockHandledSignals()
        signal(SIGPIPE, SIG_IGN)
        // A lease taken to see whether a writer holds a file (System.isHeldForWriting) is broken
        // by a writer opening it in that instant, and the kernel then sends SIGIO, whose default
        // is to end the process.
        signal(SIGIO, SIG_IGN)
    }

    /// SIGTERM or SIGINT: the batch in hand is already finished (signals run between batches).
    private func stop() {
        guard !stopping else { return }
        stopping = true
        notifier.notify("STOPPING=1\nSTATUS=stopping; \(status)")
        watcher?.cancel()
        rescanTimer?.cancel()
        folderTimer?.cancel()
        watchdogTimer?.cancel()
        log.notice("stopping: \(status)")
        exit(0)
    }

    /// Stops on a problem the daemon cannot work around while it runs: exit status 1, so systemd
    /// (`Restart=on-failure`) starts it again.
    private func stop(failing reason: String) {
        guard !stopping else { return }
        stopping = true
        log.error(reason)
        notifier.notify("STOPPING=1\nSTATUS=failed: \(reason)")
        exit(1)
    }

    /// SIGHUP: reads the config and catalog again; a bad one is logged and the running one kept.
    /// The reading (a catalog may take seconds) runs off the daemon's queue, which goes on routing
    /// with the running configuration and feeding the watchdog meanwhile; a SIGHUP that comes
    /// during a reload makes one more once it is done.
    private func reload() {
        guard router != nil else { return }  // still starting: the config just read is current
        guard !reloading else {
            reloadAgain = true
            return
        }
        reloading = true
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(Int(now.tv_sec) * 1_000_000 + Int(now.tv_nsec) / 1000)")
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
            let read = Result { () throws -> (DaemonConfig, [String: SinkSecrets], ManifestChecker) in
                let (next, secrets) = try reloader()
                return (next, secrets, try next.makeChecker())
            }
            self.queue.async { self.apply(read) }
        }
    }

    private func finishReload() {
        reloading = false
        notifier.notify("READY=1\nSTATUS=\(status)")
        if reloadAgain {
            reloadAgain = false
            reload()
        }
    }

    private func apply(_ read: Result<(DaemonConfig, [String: SinkSecrets], ManifestChecker), any Error>) {
        defer { finishReload() }
        guard !stopping else { return }
        var next: DaemonConfig
        let nextSecrets: [String: SinkSecrets]
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
        // Those three stay as they were; everything else is taken from the file.
        (next.stateRoot, next.inbox, next.fsync) = (settings.stateRoot, settings.inbox, settings.fsync)
        router.checker = checker
        router.alerts = AlertPlanner(config: next, layout: settings.layout)
        router.quietPeriod = next.quietPeriod.seconds
        alerts.reload(next, secrets: nextSecrets)
        log.setLevel(next.log.level)
        let rescanChanged = next.rescanInterval != settings.rescanInterval
        tracker.setQuietPeriod(next.quietPeriod.seconds)
        settings = next
        secrets = nextSecrets
        if rescanChanged { scheduleRescans() }
        log.notice("reloaded the configuration and catalog (\(checker.catalog.itemCount) items, \(checker.catalog.packageCount) packages, \(next.alerts.sinks.count) alert sink(s))")
        scanInbox()
    }
}

/// Whether the watchdog may say the daemon is well: only when, since its last look, the daemon's
/// queue ran a heartbeat block (it is free) or the router advanced (it works through a long batch).
/// Pure, so the rule is tested without a clock.
struct WatchdogGate: Sendable {
    private var seen: (heartbeat: Int, progress: Int)?

    mutating func shouldPing(heartbeat: Int, progress: Int) -> Bool {
        defer { seen = (heartbeat, progress) }
        guard let seen else { return true }
        return heartbeat != seen.heartbeat || progress != seen.progress
    }
}

/// The bytes as UTF-8 text, each byte of an invalid sequence written as `%XX` (and `%` as `%25`,
/// so the encoding cannot be confused with a name that already held such text).
func percentEncodingInvalidUTF8(_ bytes: [UInt8]) -> String {
    var output: [UInt8] = []
    var index = 0
    func hex(_ byte: UInt8) -> [UInt8] { Array(String(format2(byte)).utf8) }
    while index < bytes.count {
        let byte = bytes[index]
        if byte < 0x80 {
            output += byte == UInt8(ascii: "%") ? Array("%25".utf8) : [byte]
            index += 1
            continue
        }
        // The longest valid sequence starting here, if any.
        var length = 0
        for candidate in [4, 3, 2] where index + candidate <= bytes.count {
            if String(validating: bytes[index..<(index + candidate)], as: UTF8.self) != nil { length = candidate; break }
        }
        if length > 0 {
            output += bytes[index..<(index + length)]
            index += length
        } else {
            output += Array("%".utf8) + hex(byte)
            index += 1
        }
    }
    return String(decoding: output, as: UTF8.self)
}

private func format2(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}

private func formatSeconds(_ seconds: Double) -> String {
    if seconds == 0 { return "off" }
    return seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
}
