#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateConfig
import BatchgateMetrc
import BatchgateSystem
import Dispatch
import Foundation
import Synchronization

/// The catalog the daemon runs on when it comes from Metrc: the cache in the state root, loaded at
/// start so a restart while Metrc is down still knows yesterday's catalog; synced on a thread of
/// its own at start and every `refresh`; looked up by label when a manifest names a tag it lacks;
/// the config's files laid over it. It also knows whether Metrc answers, and tells the daemon
/// when that changes (one event down, one back), so manifests wait rather than being rejected
/// for Metrc's silence.
public final class CatalogService: CatalogSource, Sendable {
    /// What the service needs from the config, in the units it works in.
    public struct Settings: Sendable {
        public var api: MetrcAPI
        /// Seconds between syncs.
        public var refresh: Double
        /// Seconds the first sync reaches back.
        public var history: Double
        /// Seconds the look-ups for one batch of manifests may take.
        public var lookupTimeout: Double
        /// The cache file (`<stateRoot>/catalog/metrc.json`).
        public var cachePath: String

        public init(api: MetrcAPI, refresh: Double, history: Double, lookupTimeout: Double, cachePath: String) {
            self.api = api
            self.refresh = refresh
            self.history = history
            self.lookupTimeout = lookupTimeout
            self.cachePath = cachePath
        }

        /// The settings `catalog.metrc` and its keys describe, the cache in `cachePath`.
        public init(config: DaemonConfig.Metrc, keys: DaemonConfig.MetrcKeys, cachePath: String) {
            let version: MetrcAPI.Version = config.apiVersion == .v1 ? .v1 : .v2
            self.init(api: MetrcAPI(server: config.server, licenseNumber: config.licenseNumber,
                                    vendorKey: keys.vendorKey.exposedValue, userKey: keys.userKey.exposedValue,
                                    version: version, requestsPerSecond: config.requestsPerSecond,
                                    concurrentRequests: config.concurrentRequests),
                      refresh: config.refresh.seconds, history: config.history.seconds,
                      lookupTimeout: config.lookupTimeout.seconds, cachePath: cachePath)
        }
    }

    /// Whether Metrc answers, as the last sync or look-up found.
    public enum Availability: Sendable, Equatable {
        /// Nothing asked yet since the start.
        case unknown
        case available
        /// Not answering since `since` (wall clock), for `reason`.
        case unavailable(since: Double, reason: String)
    }

    /// What the daemon hears from the service, on the service's threads.
    public enum Event: Sendable {
        /// A sync ended (whether or not every part was read).
        case synced(SyncReport)
        /// Metrc stopped answering (or refuses the keys): once per outage.
        case unavailable(reason: String)
        /// Metrc answers again after an outage that began at `since` (wall clock).
        case available(since: Double)
    }

    /// The cache, and what the service knows beside it, under one lock.
    private struct State {
        var snapshot: MetrcSnapshot
        /// The config's files, laid over Metrc's catalog.
        var overlay: Catalog
        /// `snapshot.catalog` with `overlay` laid over it, kept up to date as look-ups learn.
        var current: Catalog
        var availability: Availability = .unknown
        /// When Metrc was last asked anything while it was unavailable (monotonic).
        var lastProbe = -Double.infinity
        /// Packages looked up while a sync works on its own copy of the snapshot: applied to the
        /// copy once it is taken back, so that they are not lost.
        var learnedDuringSync: [(MetrcRecord<Catalog.Package>, Double)] = []
        var syncing = false
        /// Look-ups learned something not yet saved.
        var unsaved = false
        /// Asked for by a look-up of an item name (monotonic time of the ask).
        var itemsWanted: Double?
        /// When the items were last synced (monotonic).
        var itemsSyncedAt = -Double.infinity
        /// Counts the items syncs, so a look-up waiting for one knows when it is done.
        var itemSyncs = 0
        var itemsSyncFailure: String?
        var stopping = false

        /// Since when Metrc has not answered; nil when it answers.
        var since: Double? {
            if case .unavailable(let since, _) = availability { return since }
            return nil
        }
    }

    public let settings: Settings
    private let client: MetrcClient
    private let log: Logger
    private let events: @Sendable (Event) -> Void
    private let state: Mutex<State>
    private let wake = DispatchSemaphore(value: 0)
    private let clock: @Sendable () -> Double
    private let wallClock: @Sendable () -> Double

    /// How soon a look-up asks Metrc again while it is known not to answer: waiting manifests are
    /// evaluated again every recovery, and each must not cost a timeout.
    static let probeInterval = 15.0
    /// How soon after an items sync an unknown item name asks for another: a name that is simply
    /// wrong must not make every manifest wait for a sync.
    static let itemRefreshInterval = 60.0
    /// How soon a sync is tried again after one that could not reach Metrc.
    static let retryInterval = 30.0
    /// Four tries over about seven seconds: short enough for a look-up to learn within its time
    /// that Metrc is down, and for a sync of four parts to say so within half a minute.
    static let retry = MetrcClient.Retry(attempts: 4, firstDelay: 1, maximumDelay: 10)

    /// A service for `settings` over `transport`, the files' catalog `overlay` laid over Metrc's.
    /// Loads the cache (a cache that cannot be read is logged and replaced by the next sync).
    public init(settings: Settings, overlay: Catalog, transport: any MetrcTransport = LibcurlMetrcTransport(), log: Logger,
                clock: @escaping @Sendable () -> Double = System.monotonicClock,
                wallClock: @escaping @Sendable () -> Double = System.wallClock,
                events: @escaping @Sendable (Event) -> Void) {
        self.settings = settings
        self.log = log
        self.events = events
        self.clock = clock
        self.wallClock = wallClock
        client = MetrcClient(api: settings.api, transport: transport, retry: Self.retry, clock: clock)
        var snapshot = MetrcSnapshot(server: settings.api.server, licenseNumber: settings.api.licenseNumber)
        do {
            if let cached = try MetrcCacheFile.load(settings.cachePath) {
                if cached.server == settings.api.server && cached.licenseNumber == settings.api.licenseNumber {
                    snapshot = cached
                    log.notice("read the Metrc catalog cache \(settings.cachePath): \(cached.itemCount) items, \(cached.packageCount) packages")
                } else {
                    log.notice("the Metrc catalog cache \(settings.cachePath) is of \(cached.server) licence \(cached.licenseNumber), not the configured \(settings.api.server) licence \(settings.api.licenseNumber): it is replaced by a full sync")
                }
            }
        } catch {
            log.error("cannot use the Metrc catalog cache: \(error); a full sync replaces it")
        }
        var initial = State(snapshot: snapshot, overlay: overlay, current: snapshot.catalog.overlaid(by: overlay))
        if let outage = OutageMarker.read(OutageMarker.path(besides: settings.cachePath)) {
            // Announced by an earlier run: not again, but its end is, once Metrc answers.
            initial.availability = .unavailable(since: outage.since, reason: outage.reason)
            log.notice("Metrc did not answer when batchgate last ran (since \(Timestamp.iso8601(outage.since))); an alert says when it answers again")
        }
        state = Mutex(initial)
    }

    public var current: Catalog { state.withLock { $0.current } }

    /// Whether Metrc answers, as last seen.
    public var availability: Availability { state.withLock { $0.availability } }

    /// The cache as it stands (for `catalog show` and the status).
    public var snapshot: MetrcSnapshot { state.withLock { $0.snapshot } }

    /// Lays new files over Metrc's catalog (a reload read them again).
    public func setOverlay(_ overlay: Catalog) {
        state.withLock { state in
            state.overlay = overlay
            state.current = state.snapshot.catalog.overlaid(by: overlay)
        }
    }

    /// Starts the sync thread: a sync now, then every `refresh` (sooner after a failure).
    public func start() {
        let thread = Thread { [self] in syncLoop() }
        thread.name = "batchgate.catalog"
        thread.start()
    }

    /// Ends the sync thread after the sync in hand (the process is about to exit).
    public func stop() {
        state.withLock { $0.stopping = true }
        wake.signal()
    }

    // MARK: Syncing

    private func syncLoop() {
        var nextFull = clock()
        while true {
            let (stopping, itemsWanted, unsaved) = state.withLock { ($0.stopping, $0.itemsWanted, $0.unsaved) }
            if stopping { return }
            let now = clock()
            if now >= nextFull {
                let report = sync(CatalogPart.allCases)
                nextFull = clock() + (report.succeeded ? settings.refresh : min(settings.refresh, Self.retryInterval))
            } else if itemsWanted != nil {
                _ = sync([.items])
            } else if unsaved {
                save(state.withLock { $0.unsaved = false; return $0.snapshot })
            }
            let pending = state.withLock { $0.itemsWanted != nil || $0.unsaved || $0.stopping }
            if !pending {
                _ = wake.wait(timeout: .now() + max(0, nextFull - clock()))
            }
        }
    }

    /// One sync of `parts` on a copy of the snapshot, saved after each part, then taken back.
    @discardableResult
    private func sync(_ parts: [CatalogPart]) -> SyncReport {
        var copy = state.withLock { state in
            state.syncing = true
            if parts.contains(.items) { state.itemsWanted = nil }
            return state.snapshot
        }
        let sync = CatalogSync(client: client, history: settings.history, clock: wallClock)
        let report = sync.run(&copy, parts: parts) { [self] snapshot in save(snapshot) }
        let learnedLater = state.withLock { state in
            let learned = state.learnedDuringSync
            for (record, at) in learned { copy.learn(packages: [record], from: nil, at: at) }
            state.learnedDuringSync = []
            state.syncing = false
            state.snapshot = copy
            state.current = copy.catalog.overlaid(by: state.overlay)
            if parts.contains(.items) {
                state.itemsSyncedAt = clock()
                state.itemSyncs += 1
                state.itemsSyncFailure = report.parts.first { $0.part == .items }?.error.map(\.description)
            }
            return !learned.isEmpty
        }
        if learnedLater { save(copy) }
        logReport(report, parts: parts)
        events(.synced(report))
        if let reason = Self.unavailability(report) {
            markUnavailable(reason)
        } else if report.parts.contains(where: { $0.requests > 0 && $0.error == nil }) {
            markAvailable()
        }
        return report
    }

    /// Why a sync says Metrc cannot be used: it did not answer, or refused the keys. A part the
    /// user's key may not read (403) or a bad answer is an error of its own, logged, not an outage.
    static func unavailability(_ report: SyncReport) -> String? {
        for part in report.parts {
            guard let error = part.error else { continue }
            if error.isTransient { return error.description }
            if case .metrc(.unauthorized) = error { return error.description }
        }
        return nil
    }

    private func logReport(_ report: SyncReport, parts: [CatalogPart]) {
        let counts = state.withLock { "\($0.snapshot.itemCount) items, \($0.snapshot.packageCount) packages" }
        let learned = report.parts.map { "\($0.part.rawValue) \($0.records)" }.joined(separator: ", ")
        let rate = NumberText.fixed(report.requestsPerSecond, 1)
        if report.succeeded {
            log.info("synced the catalog from Metrc in \(NumberText.fixed(report.seconds, 1)) s (\(learned) records; \(report.requests) GETs, \(rate)/s): \(counts)")
        } else {
            let failures = report.parts.compactMap { part in part.error.map { "\(part.part.rawValue): \($0)" } }
            log.warning("the catalog sync from Metrc did not finish (\(failures.joined(separator: "; "))); what it read is kept, and the sync is tried again within \(Int(min(settings.refresh, Self.retryInterval))) s")
        }
        for part in report.parts where part.skippedCount > 0 {
            log.warning("Metrc's \(part.part.rawValue) held \(part.skippedCount) record(s) batchgate could not read, left out: \(part.skipped.prefix(3).joined(separator: "; "))")
        }
    }

    private func save(_ snapshot: MetrcSnapshot) {
        do {
            try MetrcCacheFile.save(snapshot, to: settings.cachePath)
        } catch {
            log.error("cannot save the Metrc catalog cache: \(error); the catalog in memory is used, and saving is tried again after the next sync")
        }
    }

    // MARK: Availability

    private func markUnavailable(_ reason: String) {
        let changed = state.withLock { state -> Bool in
            state.lastProbe = clock()
            if case .unavailable = state.availability {
                state.availability = .unavailable(since: state.since ?? wallClock(), reason: reason)
                return false
            }
            state.availability = .unavailable(since: wallClock(), reason: reason)
            return true
        }
        if changed {
            OutageMarker.write(OutageMarker.path(besides: settings.cachePath), since: state.withLock { $0.since } ?? wallClock(),
                               reason: reason, log: log)
            log.error("Metrc does not answer: \(reason); manifests that need it wait in processing/ and are decided once it answers")
            events(.unavailable(reason: reason))
        }
    }

    private func markAvailable() {
        let since: Double? = state.withLock { state in
            defer { state.availability = .available }
            return state.since
        }
        if let since {
            OutageMarker.remove(OutageMarker.path(besides: settings.cachePath), log: log)
            log.notice("Metrc answers again (it did not from \(Timestamp.iso8601(since)))")
            events(.available(since: since))
        }
    }

    // MARK: Look-ups

    public func lookUp(_ misses: CatalogMisses) -> LookupOutcome {
        let start = clock()
        let deadline = start + settings.lookupTimeout
        let (known, downFor) = state.withLock { state -> (Catalog, String?) in
            if case .unavailable(_, let reason) = state.availability, start - state.lastProbe < Self.probeInterval {
                return (state.current, reason)
            }
            if case .unavailable = state.availability { state.lastProbe = start }
            return (state.current, nil)
        }
        if let downFor { return .unavailable(downFor) }
        let tags = misses.packages.filter { known.package(tagged: $0) == nil }
        var failure: LookupFailure?
        if !tags.isEmpty {
            failure = lookUp(tags: tags, until: deadline)
        }
        if failure == nil, !misses.items.isEmpty {
            failure = refreshItems(asked: start, until: deadline)
        }
        if let failure {
            // Only an answer that never came marks Metrc unreachable; a slow one makes the
            // manifests wait for the next try without an alert.
            if failure.isOutage { markUnavailable(failure.reason) }
            return .unavailable(failure.reason)
        }
        if !tags.isEmpty { markAvailable() }
        return .answered(current)
    }

    /// Why a look-up did not answer, and whether that shows Metrc down (an error after every try)
    /// rather than slow (the deadline came first).
    private struct LookupFailure: Error {
        var reason: String
        var isOutage: Bool
    }

    /// Looks up `tags` by label on up to `concurrentRequests` threads; nil when Metrc answered for
    /// every one (found or not) before `deadline`, else why not.
    private func lookUp(tags: [String], until deadline: Double) -> LookupFailure? {
        let results = Mutex<(next: Int, done: Int, failure: String?)>((0, 0, nil))
        let finished = DispatchSemaphore(value: 0)
        let workers = min(tags.count, settings.api.concurrentRequests)
        for _ in 0..<workers {
            // Threads of their own: libcurl blocks, and a request still running at the deadline
            // goes on (and its answer is still learned) after the look-up has given up on it.
            let thread = Thread { [self] in
                // No new tag after the deadline: the manifests wait, and the next try asks for
                // what is still missing (what was answered meanwhile is learned).
                while clock() < deadline {
                    let index: Int? = results.withLock { $0.next < tags.count ? ($0.next, $0.next += 1).0 : nil }
                    guard let index else { break }
                    let failure = lookUp(tag: tags[index])
                    let allDone = results.withLock { result in
                        result.done += 1
                        if result.failure == nil { result.failure = failure }
                        return result.done == tags.count
                    }
                    if allDone { finished.signal() }
                }
            }
            thread.start()
        }
        let waited = max(0, deadline - clock())
        if finished.wait(timeout: .now() + waited) == .timedOut {
            let (done, failure) = results.withLock { ($0.done, $0.failure) }
            if let failure { return LookupFailure(reason: failure, isOutage: true) }
            return LookupFailure(reason: "Metrc answered \(done) of \(tags.count) look-up(s) by label within \(DurationText.format(.seconds(settings.lookupTimeout)))",
                                 isOutage: false)
        }
        return results.withLock { $0.failure }.map { LookupFailure(reason: $0, isOutage: true) }
    }

    /// Looks up one tag and learns it; nil when Metrc answered (found or not), else why not.
    private func lookUp(tag: String) -> String? {
        let endpoint = MetrcEndpoint.package(label: tag)
        let answer: MetrcClient.Answer
        do {
            answer = try client.get(endpoint)
        } catch {
            return error.description
        }
        guard answer.status != 404 else { return nil }
        let page: MetrcPage<Catalog.Package>
        do {
            page = try CatalogReader.readPackagePage(answer.body, endpoint: "GET \(endpoint.path(settings.api.version))")
        } catch {
            return error.description
        }
        let now = wallClock()
        state.withLock { state in
            for record in page.records {
                state.snapshot.learn(packages: [record], from: nil, at: now)
                if state.syncing { state.learnedDuringSync.append((record, now)) }
                if state.overlay.package(tagged: record.entry.tag) == nil { state.current.insert(record.entry) }
            }
            state.unsaved = true
        }
        wake.signal()
        return nil
    }

    /// Asks the sync thread for a sync of the items, unless one ended lately, and waits for it
    /// until `deadline`; nil when the items are as fresh as Metrc can make them, else why not.
    private func refreshItems(asked: Double, until deadline: Double) -> LookupFailure? {
        let before: Int? = state.withLock { state in
            guard asked - state.itemsSyncedAt >= Self.itemRefreshInterval else { return nil }
            if state.itemsWanted == nil { state.itemsWanted = asked }
            return state.itemSyncs
        }
        guard let before else { return nil }
        wake.signal()
        // Rare (an item name the cache lacks, at most once a minute): a short poll is simpler than
        // a condition shared with the sync thread.
        while clock() < deadline {
            let (syncs, failure) = state.withLock { ($0.itemSyncs, $0.itemsSyncFailure) }
            if syncs > before { return failure.map { LookupFailure(reason: $0, isOutage: true) } }
            MetrcClient.sleepSeconds(0.05)
        }
        // Most often a long sync still under way (the first one reads a year): not an outage.
        return LookupFailure(reason: "the sync of Metrc's items did not end within \(DurationText.format(.seconds(settings.lookupTimeout)))",
                             isOutage: false)
    }
}

/// `unreachable` beside the cache: written when an outage is announced, removed when its end is,
/// so that a restart during an outage neither announces it again nor leaves it without an end.
/// Advisory: a file a crash cut short reads as an outage since it was last changed.
enum OutageMarker {
    static func path(besides cachePath: String) -> String {
        let folder = cachePath.contains("/") ? String(cachePath[..<cachePath.lastIndex(of: "/")!]) : "."
        return folder + "/unreachable"
    }

    /// The outage an earlier run announced and did not see end; nil when none.
    static func read(_ path: String) -> (since: Double, reason: String)? {
        guard let bytes = try? RegularFile.read(path, limit: 64 << 10) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", maxSplits: 1)
        let since = lines.first.flatMap { Double($0) }
            ?? (try? System.linkStatus(path)).map { Double($0.st_mtim.tv_sec) } ?? System.wallClock()
        return (since, lines.count > 1 ? String(lines[1].filter { !$0.isNewline }) : "not known")
    }

    static func write(_ path: String, since: Double, reason: String, log: Logger) {
        let (folder, name) = (String(path[..<path.lastIndex(of: "/")!]), "unreachable")
        do throws(SystemError) {
            let directory = try System.openDirectory(folder)
            defer { System.close(directory) }
            try System.unlinkIfPresent(in: directory, name, describing: path)
            let text = "\(since)\n\(reason.filter { !$0.isNewline })\n"
            System.close(try System.createFile(in: directory, name, contents: Array(text.utf8), describing: path))
        } catch {
            log.warning("cannot write \(path), which tells the next start that Metrc's outage was announced: \(error)")
        }
    }

    static func remove(_ path: String, log: Logger) {
        do throws(SystemError) {
            let folder = String(path[..<path.lastIndex(of: "/")!])
            let directory = try System.openDirectory(folder)
            defer { System.close(directory) }
            try System.unlinkIfPresent(in: directory, "unreachable", describing: path)
        } catch {
            log.warning("cannot remove \(path): \(error); the next start may announce Metrc's return once more")
        }
    }
}
