import BatchgateCore
import BatchgateMetrc
import BatchgateSystem

/// One sync of the catalog from Metrc into a snapshot: each part from where it was synced until
/// (less an overlap, because Metrc's LastModified can be stamped a little after a record changed,
/// and this machine's clock may run ahead of Metrc's) to now, or over `history` the first time.
///
/// Blocking, and on threads of the client's own: call it from a thread of the caller's, never
/// Swift's cooperative pool.
public struct CatalogSync: Sendable {
    public let client: MetrcClient
    /// How far back a part never synced is read, in seconds.
    public let history: Double
    /// How far before where a part was synced until the next sync starts, in seconds.
    public let overlap: Double
    /// Wall-clock seconds since 1970: Metrc's windows are wall-clock times.
    private let clock: @Sendable () -> Double

    /// How far back inactive packages are read the first time, at most. A finished package matters
    /// only as the source of a package made from it, and such a package is made within days of the
    /// source's finishing; a year of finished packages is most of a facility's history (the sync's
    /// longest part) for sources no manifest names any more. One finished earlier is still found
    /// by the look-up of its label.
    public static let inactiveHistory: Double = 30 * 86_400

    /// A sync through `client`; `clock` is the wall clock (tests give their own "now").
    public init(client: MetrcClient, history: Double = 365 * 86_400, overlap: Double = 300,
                clock: @escaping @Sendable () -> Double = System.wallClock) {
        self.client = client
        self.history = history
        self.overlap = overlap
        self.clock = clock
    }

    /// Syncs the parts in order (``CatalogPart/allCases``), learning into `snapshot`.
    ///
    /// A part whose windows were all read is marked synced up to the time its pull began; one
    /// whose pull failed keeps the records of its whole windows and is marked synced up to the
    /// end of them (``MetrcPull/completeUntil``), so the next sync resumes there. A part refused
    /// (401, 403) or badly answered does not stop the others: each part's outcome is in the
    /// report. A part Metrc did not answer at all does: the next would only spend their retries
    /// on the same silence, and the outage is reported that much sooner (``SyncReport/untried``).
    ///
    /// - Parameters:
    ///   - parts: the parts to sync; only items when an unknown item name asks for a refresh.
    ///   - save: called after each part that learned at least one record, so that a `kill -9`
    ///     later in the sync keeps the parts done. A part that learned nothing does not call it:
    ///     writing the whole cache every refresh for a time stamp alone is not worth the disk, so
    ///     when nothing changes for hours the file's `syncedAt` lags the snapshot's until the next
    ///     record is learned (save the snapshot yourself when that matters).
    ///   - partDone: called after each part read (after `save`), with its outcome and the snapshot
    ///     as it stands: a long first sync can publish what it has learned part by part.
    public func run(_ snapshot: inout MetrcSnapshot, parts: [CatalogPart] = CatalogPart.allCases,
                    save: (MetrcSnapshot) -> Void = { _ in },
                    partDone: (SyncReport.PartReport, MetrcSnapshot) -> Void = { _, _ in }) -> SyncReport {
        let began = System.monotonicClock()
        var reports: [SyncReport.PartReport] = []
        var untried: [CatalogPart] = []
        for part in CatalogPart.allCases where parts.contains(part) {
            if reports.last?.error?.isUnreachable == true {
                untried.append(part)
                continue
            }
            let report = sync(part, into: &snapshot)
            if report.records > 0 { save(snapshot) }
            partDone(report, snapshot)
            reports.append(report)
        }
        var report = SyncReport(parts: reports, requests: reports.reduce(0) { $0 + $1.requests }, seconds: System.monotonicClock() - began)
        report.untried = untried
        return report
    }

    /// Reads one part from where it stands to now and learns what it read.
    private func sync(_ part: CatalogPart, into snapshot: inout MetrcSnapshot) -> SyncReport.PartReport {
        let began = System.monotonicClock()
        let now = clock()
        let previous = snapshot.parts[part]
        let firstHistory = part == .inactivePackages ? min(history, Self.inactiveHistory) : history
        // min: a clock set back since the last sync must not leave a span that ends before it starts.
        let from = min(previous.map { $0.syncedUntil - overlap } ?? now - firstHistory, now)
        let records: Int, requests: Int, completeUntil: Double, error: MetrcPullError?, skipped: [String], skippedCount: Int
        if let state = part.packageState {
            let pull = client.pullPackages(state, from: from, to: now)
            snapshot.learn(packages: pull.records, from: part, at: clock())
            (records, requests, completeUntil, error, skipped, skippedCount) =
                (pull.records.count, pull.requests, pull.completeUntil, pull.error, pull.skipped, pull.skippedCount)
        } else {
            let pull = client.pullItems(from: from, to: now)
            snapshot.learn(items: pull.records, at: clock())
            (records, requests, completeUntil, error, skipped, skippedCount) =
                (pull.records.count, pull.requests, pull.completeUntil, pull.error, pull.skipped, pull.skippedCount)
        }
        // Never back: a failed first window ends the whole run at `from`, which is before where
        // the part stood by the overlap.
        if completeUntil > (previous?.syncedUntil ?? from) || (error == nil && previous == nil) {
            snapshot.markSynced(part, until: completeUntil, at: clock())
        }
        return SyncReport.PartReport(part: part, records: records, requests: requests, seconds: System.monotonicClock() - began,
                                     skipped: skipped, skippedCount: skippedCount, error: error)
    }
}

/// What one sync did: for each part, the records read, the GETs sent, the time taken, the
/// records skipped and the error it ended on.
public struct SyncReport: Sendable {
    /// One part's outcome.
    public struct PartReport: Sendable {
        public var part: CatalogPart
        /// The records read and learned (those of whole windows).
        public var records: Int
        /// The GETs sent, retries included.
        public var requests: Int
        public var seconds: Double
        /// The records left out because they could not be read, each naming where and why; the
        /// first ``MetrcPull/skippedListedAtMost`` of them.
        public var skipped: [String]
        /// How many records were left out in all.
        public var skippedCount: Int
        /// Why the part is not synced up to now, when it is not.
        public var error: MetrcPullError?

        public init(part: CatalogPart, records: Int, requests: Int, seconds: Double, skipped: [String] = [], skippedCount: Int? = nil,
                    error: MetrcPullError? = nil) {
            self.part = part
            self.records = records
            self.requests = requests
            self.seconds = seconds
            self.skipped = skipped
            self.skippedCount = skippedCount ?? skipped.count
            self.error = error
        }
    }

    public var parts: [PartReport]
    /// The parts not tried because Metrc did not answer an earlier one.
    public var untried: [CatalogPart] = []
    /// The GETs of every part.
    public var requests: Int
    /// The sync's whole time, in seconds.
    public var seconds: Double

    public init(parts: [PartReport], requests: Int, seconds: Double) {
        self.parts = parts
        self.requests = requests
        self.seconds = seconds
    }

    /// True when every part is synced up to now.
    public var succeeded: Bool { untried.isEmpty && parts.allSatisfy { $0.error == nil } }

    /// True when some part failed because Metrc did not answer (after every retry): Metrc is
    /// unreachable, which is no fault of the configuration or of a manifest. A refusal (401, 403),
    /// an unreadable answer or records that kept moving are not that.
    public var unreachable: Bool { parts.contains { $0.error?.isUnreachable == true } }

    /// The error of the first part that failed.
    public var firstError: MetrcPullError? { parts.lazy.compactMap(\.error).first }

    /// The GETs sent per second over the whole sync (0 for a sync that sent none).
    public var requestsPerSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }
}
