#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import CSystem
import Dispatch

/// What the daemon needs to run, resolved from the config file (or `--root` defaults).
public struct DaemonSettings: Sendable, Equatable {
    public var layout: StateLayout
    /// Seconds between periodic rescans of the inbox; 0 turns them off.
    public var rescanInterval: Double
    /// Seconds a scanned file's size and mtime must stay the same before it is taken.
    public var settleTime: Double
    public var maxManifestSize: Int
    public var syncToDisk: Bool
    public var itemsFile: String?
    public var packagesFile: String?
    public var sameFormSteps: [String]
    public var logLevel: LogLevel
    /// The alert sinks, secrets resolved; none by default.
    public var alerts: AlertSettings

    public init(layout: StateLayout, rescanInterval: Double = 30, settleTime: Double = 2,
                maxManifestSize: Int = TextInput.defaultMaximumSize, syncToDisk: Bool = true,
                itemsFile: String? = nil, packagesFile: String? = nil,
                sameFormSteps: [String] = RuleSettings.defaultNonFormChangingSteps, logLevel: LogLevel = .info,
                alerts: AlertSettings = AlertSettings()) {
        self.layout = layout
        self.rescanInterval = rescanInterval
        self.settleTime = settleTime
        self.maxManifestSize = maxManifestSize
        self.syncToDisk = syncToDisk
        self.itemsFile = itemsFile
        self.packagesFile = packagesFile
        self.sameFormSteps = sameFormSteps
        self.logLevel = logLevel
        self.alerts = alerts
    }

    /// The checker these settings describe, with the catalog files loaded.
    func makeChecker() throws(CatalogFiles.LoadError) -> ManifestChecker {
        let catalog = try CatalogFiles.load(items: itemsFile, packages: packagesFile)
        return ManifestChecker(catalog: catalog, settings: RuleSettings(nonFormChangingSteps: sameFormSteps),
                               maximumSize: maxManifestSize)
    }
}

/// The long-running service: watches the inbox, routes what arrives, and answers signals.
///
/// Everything mutable is touched only on `queue`, a serial queue: inotify events, scans, routing
/// batches, timers and signals all run there one at a time. A batch ends before a signal is
/// handled, so SIGTERM always finishes the manifests in hand. (Hence `@unchecked Sendable`.)
public final class Daemon: @unchecked Sendable {
    /// Reads the config again for SIGHUP; throws a message for the log when it is bad.
    public typealias Reloader = @Sendable () throws -> DaemonSettings

    private let queue = DispatchQueue(label: "batchgate.daemon")
    private var settings: DaemonSettings
    private let reloader: Reloader?
    private let log: Logger
    private let notifier: SystemdNotifier
    private var router: Router!
    private var audit: AuditLog!
    private var alerts: AlertDispatcher!
    private var watcher: InboxWatcher?
    private var tracker: SettleTracker
    private var pending: [String] = []
    private var pendingSet = Set<String>()
    private var drainScheduled = false
    private var routedSinceTrim = 0
    /// Set when a scan stopped at ``scanLimit`` names: the rest is listed once the queue drains.
    private var scanCut = false
    private var routedSinceScan = 0
    private var settleCheckScheduled = false
    private var rescanTimer: DispatchSourceTimer?
    private var watchdogTimer: DispatchSourceTimer?
    private var counts: [Decision: Int] = [:]
    private var stopping = false
    /// The state root's lock, held for the life of the process.
    private var lockFD: Int32 = -1

    private let transport: any AlertTransport

    /// A daemon with these settings; `transport` sends the alerts (libcurl unless a test gives another).
    public init(settings: DaemonSettings, environment: [String: String], log: Logger, reloader: Reloader? = nil,
                transport: any AlertTransport = LibcurlAlertTransport()) {
        self.settings = settings
        self.reloader = reloader
        self.transport = transport
        self.log = log
        notifier = SystemdNotifier(environment: environment)
        tracker = SettleTracker(settleTime: settings.settleTime)
    }

    /// Prepares the folders, finishes what a crash left, takes what is in the inbox and starts
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
            let outbox = try Outbox(layout: settings.layout)
            router = try Router(layout: settings.layout, checker: checker, syncToDisk: settings.syncToDisk, log: log, audit: audit,
                                outbox: outbox, alerts: AlertPlanner(settings: settings.alerts, layout: settings.layout))
            alerts = AlertDispatcher(outbox: outbox, settings: settings.alerts, log: log, transport: transport)
        } catch {
            throw StartupError("cannot open the state folders: \(error)")
        }
        let failure: StartupError? = queue.sync {
            record(router.recover())
            // After recovery, which may have published alerts: the outbox as a whole is the list.
            alerts.resume()
            do {
                watcher = try InboxWatcher(path: settings.layout.inbox, queue: queue) { [unowned self] events in
                    self.handle(events)
                }
            } catch {
                return StartupError("cannot watch the inbox \(settings.layout.inbox): \(error)")
            }
            scanInbox(takeSettledOnly: false)
            scheduleRescans()
            scheduleWatchdog()
            log.notice("watching \(settings.layout.inbox) (state in \(settings.layout.root); rescan every \(formatSeconds(settings.rescanInterval)), settle \(formatSeconds(settings.settleTime)), fsync \(settings.syncToDisk ? "on" : "off"))")
            notifier.notify("READY=1\nSTATUS=\(status)")
            return nil
        }
        if let failure { throw failure }
    }

    // MARK: Events

    private func handle(_ events: [InboxWatcher.Event]) {
        for event in events {
            switch event {
            case .arrived(let name):
                guard !DropFolderNames.isIgnored(name) else { continue }
                var info = stat()
                if fstatat(AT_FDCWD, settings.layout.inbox + "/" + name, &info, AT_SYMLINK_NOFOLLOW) == 0,
                   (info.st_mode & S_IFMT) == S_IFREG, info.st_size == 0 {
                    // Some writers create a file, close it empty (or move it in empty, as
                    // Foundation's atomic writes do) and open it again to fill it: an empty file
                    // waits for the settle time like a scanned one.
                    scheduleSettleCheck()
                    continue
                }
                tracker.forget(name)
                enqueue(name)
            case .created(let name):
                // Only what is never closed after writing is taken on creation.
                var info = stat()
                if !DropFolderNames.isIgnored(name),
                   fstatat(AT_FDCWD, settings.layout.inbox + "/" + name, &info, AT_SYMLINK_NOFOLLOW) == 0,
                   [S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK].contains(info.st_mode & S_IFMT) {
                    enqueue(name)
                }
            case .unusableName:
                scanInbox(takeSettledOnly: true)
            case .overflow:
                log.warning("the inotify queue overflowed; rescanning \(settings.layout.inbox)")
                scanInbox(takeSettledOnly: false)
            case .inboxGone:
                log.error("the inbox \(settings.layout.inbox) was deleted or moved away; restart batchgate once it is back")
                notifier.notify("STATUS=inbox \(settings.layout.inbox) is gone")
            }
        }
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
        let batch = Array(pending.prefix(Router.batchLimit))
        pending.removeFirst(batch.count)
        for name in batch { pendingSet.remove(name) }
        let result = router.route(batch)
        record(result.outcomes)
        alerts.add(result.outcomes.flatMap(\.alerts))
        if !result.deferred.isEmpty {
            log.warning("\(result.deferred.count) file(s) wait in the inbox because processing/ holds the same name: \(result.deferred.prefix(5).joined(separator: ", "))")
        }
        notifier.notify("STATUS=\(status)")
        routedSinceTrim += batch.count
        routedSinceScan += result.outcomes.count
        if pending.isEmpty && scanCut {
            // The last scan stopped at its limit: list the rest now that the queue is empty,
            // unless the last part routed nothing (every name deferred), which would only loop.
            scanCut = false
            if routedSinceScan > 0 { scanInbox(takeSettledOnly: false) }
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

    /// Manifests routed in a row after which the freed memory is given back once the queue empties.
    static let trimAfter = 1_000

    /// The most names a scan of the inbox holds (queued, or waiting to settle); the rest of the
    /// inbox is listed again when the queue has drained. An inbox of 50,000 files after an
    /// overflow then costs the memory of a few thousand names, not of all of them.
    static let scanLimit = 4_096

    /// Counts routed manifests and logs one line each (written together: a burst's log lines
    /// cost one write per batch, not one per manifest).
    private func record(_ outcomes: [Router.Outcome]) {
        var lines: [(LogLevel, String)] = []
        lines.reserveCapacity(outcomes.count)
        for outcome in outcomes {
            counts[outcome.entry.decision, default: 0] += 1
            let entry = outcome.entry
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

    // MARK: Scans

    /// Lists the inbox. Files announced by inotify are taken at once; files only a scan finds are
    /// taken once settled, except at start-up and after an overflow, when everything that is not
    /// still changing is taken.
    private func scanInbox(takeSettledOnly: Bool) {
        let inboxFD = Glibc.open(settings.layout.inbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard inboxFD >= 0 else {
            log.error("cannot scan the inbox: \(SystemError("open folder", settings.layout.inbox, errno: errno))")
            return
        }
        defer { System.close(inboxFD) }
        // Entries are looked at as they are read (an inbox after an overflow may hold tens of
        // thousands): only names to wait for are kept, and names that are not UTF-8.
        var unusable: [[UInt8]] = []
        var observations: [SettleTracker.Observation] = []
        let wallNow = System.wallClock()
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
                let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
                // At start-up and after an overflow, a file whose mtime is older than the settle
                // time is complete unless it is growing; the rest wait for a second look.
                if !takeSettledOnly && wallNow - Double(modified) / 1e9 >= settings.settleTime {
                    enqueue(name)
                } else {
                    observations.append(.init(name: name, size: Int64(info.st_size), modified: modified))
                }
                // Every scan stops at the limit (names queued plus names waiting to settle); the
                // same first names come first again next time, so nothing is skipped for good.
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
        var stillChanging = false
        for bytes in unusable where !renameToUTF8(bytes, in: inboxFD) { stillChanging = true }
        let settled = tracker.scan(observations, now: System.monotonicClock())
        if takeSettledOnly { for name in settled { enqueue(name) } }
        if tracker.isWaiting || stillChanging { scheduleSettleCheck() }
    }

    /// A name that is not UTF-8 cannot be carried through reports and logs: the file is renamed
    /// within the inbox, each byte that is not UTF-8 written as `%XX`, and then routed as usual.
    /// Returns false when the file is still changing and must be looked at again.
    private func renameToUTF8(_ bytes: [UInt8], in inboxFD: Int32) -> Bool {
        let readable = String(decoding: bytes, as: UTF8.self)
        if DropFolderNames.isIgnored(readable) { return true }
        // Renaming announces the file as complete, so a file still changing waits to settle.
        var info = stat()
        let path = bytes + [0]
        let found = path.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { fstatat(inboxFD, $0.baseAddress!, &info, AT_SYMLINK_NOFOLLOW) }
        }
        guard found == 0, (info.st_mode & S_IFMT) != S_IFDIR else { return true }
        if System.wallClock() - Double(info.st_mtim.tv_sec) < settings.settleTime { return false }
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

    private func scheduleSettleCheck() {
        guard !settleCheckScheduled else { return }
        settleCheckScheduled = true
        let delay = max(0.1, settings.settleTime / 2)
        queue.asyncAfter(deadline: .now() + delay) { [unowned self] in
            self.settleCheckScheduled = false
            guard !self.stopping else { return }
            self.scanInbox(takeSettledOnly: true)
        }
    }

    private func scheduleRescans() {
        rescanTimer?.cancel()
        rescanTimer = nil
        guard settings.rescanInterval > 0 else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.milliseconds(Int(settings.rescanInterval * 1000))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(500))
        timer.setEventHandler { [unowned self] in
            guard !self.stopping else { return }
            // Claimed files a failed batch left behind are retried too.
            let recovered = self.router.recover()
            self.record(recovered)
            self.alerts.add(recovered.flatMap(\.alerts))
            self.scanInbox(takeSettledOnly: true)
        }
        timer.resume()
        rescanTimer = timer
    }

    private func scheduleWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let period = DispatchTimeInterval.milliseconds(max(1, Int(interval * 1000)))
        timer.schedule(deadline: .now(), repeating: period, leeway: .milliseconds(100))
        timer.setEventHandler { [unowned self] in self.notifier.notify("WATCHDOG=1") }
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
    }

    /// SIGTERM or SIGINT: the batch in hand is already finished (signals run between batches).
    private func stop() {
        guard !stopping else { return }
        stopping = true
        notifier.notify("STOPPING=1\nSTATUS=stopping; \(status)")
        watcher?.cancel()
        rescanTimer?.cancel()
        watchdogTimer?.cancel()
        log.notice("stopping: \(status)")
        exit(0)
    }

    /// SIGHUP: reads the config and catalog again; a bad one is logged and the running one kept.
    private func reload() {
        guard router != nil else { return }  // still starting: the config just read is current
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(Int(now.tv_sec) * 1_000_000 + Int(now.tv_nsec) / 1000)")
        defer { notifier.notify("READY=1\nSTATUS=\(status)") }
        do {
            try audit.reopen()
        } catch {
            log.error("cannot reopen the audit log: \(error)")
        }
        guard let reloader else {
            log.notice("reopened the audit log (no config file to reload)")
            return
        }
        let next: DaemonSettings
        let checker: ManifestChecker
        do {
            next = try reloader()
            checker = try next.makeChecker()
        } catch {
            log.error("reload failed, keeping the running configuration: \(error)")
            return
        }
        if next.layout != settings.layout || next.syncToDisk != settings.syncToDisk {
            log.warning("the state root, inbox and fsync settings take effect only after a restart")
        }
        router.checker = checker
        router.alerts = AlertPlanner(settings: next.alerts, layout: settings.layout)
        alerts.reload(next.alerts)
        settings.alerts = next.alerts
        log.setLevel(next.logLevel)
        let rescanChanged = next.rescanInterval != settings.rescanInterval
        tracker = SettleTracker(settleTime: next.settleTime)
        settings.rescanInterval = next.rescanInterval
        settings.settleTime = next.settleTime
        settings.maxManifestSize = next.maxManifestSize
        settings.itemsFile = next.itemsFile
        settings.packagesFile = next.packagesFile
        settings.sameFormSteps = next.sameFormSteps
        settings.logLevel = next.logLevel
        if rescanChanged { scheduleRescans() }
        log.notice("reloaded the configuration and catalog (\(checker.catalog.itemCount) items, \(checker.catalog.packageCount) packages, \(next.alerts.sinks.count) alert sink(s))")
        scanInbox(takeSettledOnly: true)
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
