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
        /// When a look-up last failed or went unanswered (monotonic): look-ups then wait
        /// ``probeInterval`` before asking again, so waiting manifests, evaluated again at every
        /// recovery, do not each cost a timeout, and a hanging Metrc does not gather threads.
        var lastLookupFailure = -Double.infinity
        /// Why, for the manifests that wait meanwhile.
        var lookupFailureReason = ""
        /// Look-ups in a row that timed out without a single answer: two make an outage.
        var silentLookups = 0
        /// Look-ups by label sent and not yet answered (one may outlive its look-up's deadline): no
        /// new look-up starts while any is, so a slow Metrc never gathers threads.
        var lookupsInFlight = 0
        /// Packages looked up while a sync works on its own copy of the snapshot: applied to the
        /// copy whenever it is published, so that they are not lost.
        var learnedDuringSync: [(MetrcRecord<Catalog.Package>, Double)] = []
        var syncing = false
        /// Look-ups learned something not yet saved.
        var unsaved = false
        /// A look-up asked for an items sync that begins after this time (monotonic).
        var itemsWanted: Double?
        /// When the last items sync began (monotonic), and its error when it did not read every
        /// window: what a look-up waiting for an items sync begun after its ask reads.
        var lastItemsSync: (began: Double, error: MetrcPullError?) = (-Double.infinity, nil)
        /// Tags Metrc answered it does not have (404, or 401 for another facility's package), with
        /// when: asked again within ``notFoundInterval`` they are answered as unknown at once, so a
        /// manifest naming hundreds of wrong tags costs their GETs once, not at every recovery,
        /// and never starves the look-ups of the manifests waiting beside it.
        var tagsNotFound: [String: Double] = [:]
        /// Item names an items sync that began after they were asked for did not find, with when:
        /// asked again within ``itemRefreshInterval`` they are answered as unknown at once.
        var itemsNotFound: [String: Double] = [:]
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
    /// How long a tag Metrc said it does not have is taken at its word.
    static let notFoundInterval = 600.0
    /// How soon a sync is tried again after one that could not reach Metrc.
    static let retryInterval = 30.0
    /// libcurl with timeouts that let Metrc's silence be told within a look-up's time: a page of
    /// 20 records comes well within 30 s, and a connection within 5 s or not at all.
    public static let transport = LibcurlMetrcTransport(connectTimeout: .seconds(5), timeout: .seconds(30))
    /// Four tries over about seven seconds: short enough for a look-up to learn within its time
    /// that Metrc is down, and for a sync of four parts to say so within half a minute.
    public static let retry = MetrcClient.Retry(attempts: 4, firstDelay: 1, maximumDelay: 10)

    /// A service for `settings` over `transport`, the files' catalog `overlay` laid over Metrc's.
    /// Loads the cache (a cache that cannot be read is logged and replaced by the next sync).
    public init(settings: Settings, overlay: Catalog, transport: any MetrcTransport = CatalogService.transport, log: Logger,
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
        var olderVersion = false
        do {
            if let contents = try MetrcCacheFile.read(settings.cachePath) {
                let cached = contents.snapshot
                if cached.server == settings.api.server && cached.licenseNumber == settings.api.licenseNumber {
                    snapshot = cached
                    log.notice("read the Metrc catalog cache \(settings.cachePath): \(cached.itemCount) items, \(cached.packageCount) packages")
                    if contents.isOlderVersion {
                        olderVersion = true
                        log.notice("the Metrc catalog cache \(settings.cachePath) is a cache of version \(contents.version): kept for categories; a full sync refills quantities and states")
                    }
                } else {
                    log.notice("the Metrc catalog cache \(settings.cachePath) is of \(cached.server) licence \(cached.licenseNumber), not the configured \(settings.api.server) licence \(settings.api.licenseNumber): it is replaced by a full sync")
                }
            }
        } catch {
            log.error("cannot use the Metrc catalog cache: \(error); a full sync replaces it")
        }
        var initial = State(snapshot: snapshot, overlay: overlay, current: snapshot.catalog.overlaid(by: overlay))
        // Saved in this version after the first sync even if it learns nothing: the next start
        // then reads the parts that sync marked rather than syncing everything again.
        initial.unsaved = olderVersion
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

    /// When the catalog was last synced whole (wall clock): the oldest of its parts' last syncs,
    /// since a catalog is only as current as its stalest part; nil until every part has been synced
    /// once (by this run or, through the cache, an earlier one).
    public var syncedAt: Double? {
        state.withLock { state in
            let times = CatalogPart.allCases.map { state.snapshot.parts[$0]?.syncedAt }
            return times.contains(nil) ? nil : times.compactMap { $0 }.min()
        }
    }

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
            if clock() >= nextFull {
                let report = sync(CatalogPart.allCases)
                // Soon again after Metrc did not answer; at the usual pace after a refusal (401,
                // 403) or a bad answer, which asking sooner would not change.
                let soon = report.unreachable || report.parts.contains { $0.error?.isTransient == true }
                nextFull = clock() + (report.succeeded || !soon ? settings.refresh : min(settings.refresh, Self.retryInterval))
            } else if itemsWanted != nil {
                sync([.items])
            } else if unsaved {
                save(state.withLock { $0.unsaved = false; return $0.snapshot })
            }
            let pending = state.withLock { $0.itemsWanted != nil || $0.unsaved || $0.stopping }
            if !pending {
                _ = wake.wait(timeout: .now() + max(0, nextFull - clock()))
            }
        }
    }

    /// One sync of `parts` on a copy of the snapshot, saved and published after each part (a
    /// long first sync serves look-ups and manifests part by part), then taken back.
    @discardableResult
    private func sync(_ parts: [CatalogPart]) -> SyncReport {
        var copy = state.withLock { state in
            state.syncing = true
            return state.snapshot
        }
        let sync = CatalogSync(client: client, history: settings.history, clock: wallClock)
        var partBegan = clock()
        let report = sync.run(&copy, parts: parts, save: { [self] snapshot in save(snapshot) }) { [self] part, snapshot in
            let began = partBegan
            partBegan = clock()
            state.withLock { state in
                publish(snapshot, into: &state)
                if part.part == .items { recordItemsSync(part, began: began, in: &state) }
            }
        }
        let learnedLater = state.withLock { state in
            let learned = !state.learnedDuringSync.isEmpty
            publish(copy, into: &state)
            state.learnedDuringSync = []
            state.syncing = false
            return learned
        }
        if learnedLater { save(state.withLock { $0.snapshot }) }
        logReport(report, parts: parts)
        events(.synced(report))
        if report.unreachable || Self.keysRefused(report) {
            markUnavailable(report.firstError?.description ?? "no answer")
        } else if report.parts.contains(where: { $0.requests > 0 && $0.error == nil }) {
            markAvailable()
        }
        return report
    }

    /// Makes `snapshot` (a sync's copy) the one look-ups and manifests see, with what look-ups
    /// learned since the sync took its copy.
    private func publish(_ snapshot: MetrcSnapshot, into state: inout State) {
        var published = snapshot
        for (record, at) in state.learnedDuringSync { published.learn(packages: [record], from: nil, at: at) }
        state.snapshot = published
        state.current = published.catalog.overlaid(by: state.overlay)
    }

    /// What an items sync that began at `began` says to the look-ups waiting for one.
    private func recordItemsSync(_ part: SyncReport.PartReport, began: Double, in state: inout State) {
        // One sync at a time, on one thread: each begins after the last.
        state.lastItemsSync = (began, part.error)
        if let wanted = state.itemsWanted, began >= wanted { state.itemsWanted = nil }
    }

    /// Whether every part Metrc answered refused the keys (401): the account cannot be used at
    /// all, which is an outage for the manifests as much as silence is. A 403 on one part (a
    /// permission the user lacks) or records that moved while paged are not: they are logged.
    static func keysRefused(_ report: SyncReport) -> Bool {
        !report.parts.isEmpty && report.parts.allSatisfy { part in
            if case .metrc(.unauthorized)? = part.error { return true }
            return false
        }
    }

    private func logReport(_ report: SyncReport, parts: [CatalogPart]) {
        let counts = state.withLock { "\($0.snapshot.itemCount) items, \($0.snapshot.packageCount) packages" }
        let learned = report.parts.map { "\($0.part.rawValue) \($0.records)" }.joined(separator: ", ")
        let rate = NumberText.fixed(report.requestsPerSecond, 1)
        if report.succeeded {
            log.info("synced the catalog from Metrc in \(NumberText.fixed(report.seconds, 1)) s (\(learned) records; \(report.requests) GETs, \(rate)/s): \(counts)")
        } else {
            let failures = report.parts.compactMap { part in part.error.map { "\(part.part.rawValue): \($0)" } }
                + report.untried.map { "\($0.rawValue): not tried" }
            log.warning("the catalog sync from Metrc did not finish (\(failures.joined(separator: "; "))); what it read is kept, and it is tried again at the next sync")
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

    /// Metrc does not answer (or refuses the keys): the state, the log line and the event change
    /// together under the lock, so that a look-up's thread and the sync's cannot interleave
    /// "down" and "back" out of order.
    private func markUnavailable(_ reason: String) {
        state.withLock { state in
            if case .unavailable(let since, _) = state.availability {
                state.availability = .unavailable(since: since, reason: reason)
                return
            }
            state.availability = .unavailable(since: wallClock(), reason: reason)
            log.error("Metrc does not answer: \(reason); manifests that need it wait in processing/ and are decided once it answers")
            events(.unavailable(reason: reason))
        }
    }

    private func markAvailable() {
        state.withLock { state in
            let since = state.since
            state.availability = .available
            state.silentLookups = 0
            guard let since else { return }
            log.notice("Metrc answers again (it did not from \(Timestamp.iso8601(since)))")
            events(.available(since: since))
        }
    }

    /// The daemon announced the outage that began at `since` (its alert is in the outbox): a
    /// restart meanwhile must not announce it again, and must announce its end.
    public func outageAnnounced(since: Double, reason: String) {
        OutageMarker.write(OutageMarker.path(besides: settings.cachePath), since: since, reason: reason, log: log)
    }

    /// The daemon announced the outage's end.
    public func outageEndAnnounced() {
        OutageMarker.remove(OutageMarker.path(besides: settings.cachePath), log: log)
    }

    // MARK: Look-ups

    public func lookUp(_ misses: CatalogMisses) -> LookupOutcome {
        let start = clock()
        let deadline = start + settings.lookupTimeout
        let (known, notFound) = state.withLock { state in
            state.tagsNotFound = state.tagsNotFound.filter { start - $0.value < Self.notFoundInterval }
            return (state.current, Set(state.tagsNotFound.keys))
        }
        let tags = misses.packages.filter { known.package(tagged: $0) == nil && !notFound.contains($0) }
        let items = misses.items.filter { known.category(ofItem: $0) == nil }
        guard !tags.isEmpty || !items.isEmpty else { return .answered(known) }
        let gate: String? = state.withLock { state in
            if start - state.lastLookupFailure < Self.probeInterval { return state.lookupFailureReason }
            if !tags.isEmpty && state.lookupsInFlight > 0 { return "earlier look-ups by label are still waiting for Metrc's answer" }
            return nil
        }
        if let gate { return .unavailable(gate) }
        if !tags.isEmpty, let failure = lookUp(tags: tags, until: deadline) {
            return .unavailable(failed(failure))
        }
        if !items.isEmpty, let failure = refreshItems(items, asked: start, until: deadline) {
            return .unavailable(failed(failure))
        }
        return .answered(current)
    }

    /// Records a look-up that did not get its answers: look-ups wait ``probeInterval`` before
    /// asking again, and Metrc is marked unavailable when it did not answer at all (an error
    /// after every try, or a second look-up in a row that timed out without one answer).
    private func failed(_ failure: LookupFailure) -> String {
        let outage = state.withLock { state -> Bool in
            state.lastLookupFailure = clock()
            state.lookupFailureReason = failure.reason
            switch failure.kind {
            case .unreachable:
                return true
            case .silent:
                state.silentLookups += 1
                return state.silentLookups >= 2
            case .slow, .refused:
                return false
            }
        }
        if outage { markUnavailable(failure.reason) }
        return failure.reason
    }

    /// Why a look-up did not get its answers.
    private struct LookupFailure: Error {
        enum Kind {
            /// An error after every try: Metrc does not answer.
            case unreachable
            /// The deadline came before any answer.
            case silent
            /// The deadline came after some answers: Metrc is slow, not down.
            case slow
            /// Metrc answered, but not with something usable (the keys, a permission, a bad
            /// answer): the manifests wait, and the log says why; not an outage.
            case refused
        }

        var reason: String
        var kind: Kind
    }

    /// Looks up `tags` by label on up to `concurrentRequests` threads; nil when Metrc answered for
    /// every one (found or not) before `deadline`, else why not.
    private func lookUp(tags: [String], until deadline: Double) -> LookupFailure? {
        let results = Mutex<(next: Int, done: Int, failure: LookupFailure?)>((0, 0, nil))
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
                    // Counted until answered, before the last answer is signalled: a look-up
                    // right after this one must not find it still in flight.
                    state.withLock { $0.lookupsInFlight += 1 }
                    let failure = lookUp(tag: tags[index])
                    state.withLock { $0.lookupsInFlight -= 1 }
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
            if let failure { return failure }
            let reason = "Metrc answered \(done) of \(tags.count) look-up(s) by label within \(DurationText.format(.seconds(settings.lookupTimeout)))"
            return LookupFailure(reason: reason, kind: done == 0 ? .silent : .slow)
        }
        if let failure = results.withLock({ $0.failure }) { return failure }
        markAvailable()
        return nil
    }

    /// Looks up one tag and learns it; nil when Metrc answered (found or not), else why not.
    private func lookUp(tag: String) -> LookupFailure? {
        let endpoint = MetrcEndpoint.package(label: tag)
        let answer: MetrcClient.Answer
        do {
            answer = try client.get(endpoint)
        } catch {
            switch error {
            case .unreachable:
                return LookupFailure(reason: error.description, kind: .unreachable)
            case .unauthorized where state.withLock({ $0.availability == .available }):
                // The keys work (the last sync or look-up was answered): Metrc answers 401 for a
                // package of another facility's licence. Not this facility's tag: answered, and
                // the manifest is rejected naming it.
                notFound(tag)
                return nil
            default:
                return LookupFailure(reason: error.description, kind: .refused)
            }
        }
        guard answer.status != 404 else {
            notFound(tag)
            return nil
        }
        let page: MetrcPage<Catalog.Package>
        do {
            page = try CatalogReader.readPackagePage(answer.body, endpoint: "GET \(endpoint.path(settings.api.version))")
        } catch {
            return LookupFailure(reason: error.description, kind: .refused)
        }
        // Only the package asked for: an answer describing another is not evidence of this one.
        let records = page.records.filter { $0.entry.tag.uppercased() == tag.uppercased() }
        guard !records.isEmpty else {
            return LookupFailure(reason: "Metrc answered GET \(endpoint.path(settings.api.version)) with no record labelled \(tag)", kind: .refused)
        }
        let now = wallClock()
        state.withLock { state in
            for record in records {
                state.snapshot.learn(packages: [record], from: nil, at: now)
                if state.syncing { state.learnedDuringSync.append((record, now)) }
                // As the snapshot's catalog holds it, its LastModified in the entry.
                if state.overlay.package(tagged: record.entry.tag) == nil,
                   let learned = state.snapshot.package(tagged: record.entry.tag) {
                    state.current.insert(learned.catalogEntry)
                }
            }
            state.unsaved = true
        }
        wake.signal()
        return nil
    }

    /// Remembers that Metrc does not have `tag` (``State/tagsNotFound``).
    private func notFound(_ tag: String) {
        let now = clock()
        state.withLock { $0.tagsNotFound[tag] = now }
    }

    /// Asks the sync thread for an items sync that begins after `asked`, and waits for it until
    /// `deadline`; nil when one did (the names it did not find are then unknown to Metrc), else
    /// why not. Names an items sync begun after they were asked for did not find lately are
    /// answered as unknown at once: a misspelt item must not make every manifest wait.
    private func refreshItems(_ names: [String], asked: Double, until deadline: Double) -> LookupFailure? {
        let keys = names.map(Catalog.itemKey)
        let needed = state.withLock { state -> Bool in
            if keys.allSatisfy({ key in state.itemsNotFound[key].map { asked - $0 < Self.itemRefreshInterval } ?? false }) { return false }
            state.itemsWanted = min(state.itemsWanted ?? asked, asked)
            return true
        }
        guard needed else { return nil }
        wake.signal()
        // Rare (an item name the cache lacks): a short poll is simpler than a condition shared
        // with the sync thread.
        while clock() < deadline {
            let outcome: LookupFailure?? = state.withLock { state in
                let last = state.lastItemsSync
                guard last.began >= asked else { return .none }
                if let error = last.error {
                    return .some(LookupFailure(reason: error.description, kind: error.isUnreachable ? .unreachable : .refused))
                }
                let now = clock()
                for key in keys where state.current.category(ofItem: key) == nil { state.itemsNotFound[key] = now }
                return .some(nil)
            }
            if let outcome { return outcome }
            MetrcClient.sleepSeconds(0.05)
        }
        // Most often a long sync still under way (the first one reads a year): not an outage.
        return LookupFailure(reason: "the sync of Metrc's items did not end within \(DurationText.format(.seconds(settings.lookupTimeout)))",
                             kind: .slow)
    }
}
