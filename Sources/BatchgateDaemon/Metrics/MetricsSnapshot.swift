import BatchgateAlerts
import BatchgateCore

/// Everything the metrics file says, taken at one instant: what ``MetricsText`` renders. A value,
/// so the text is tested without a daemon, a clock or a file.
struct MetricsSnapshot: Sendable, Equatable {
    /// The version `batchgate --version` prints.
    var version: String
    /// When the daemon started (wall-clock seconds since 1970).
    var startTime: Double
    /// When this snapshot was taken (wall clock): the file's time stamp, and the "now" of every age.
    var takenAt: Double
    /// Manifests routed since the start, by decision (a decision absent counts 0).
    var manifests: [Decision: Int] = [:]
    /// Packages each rule applied to since the start (a rule absent counts 0).
    var ruleHits: [RuleID: Int] = [:]
    var routingLatency = LatencyHistogram()
    /// Files in the inbox the daemon follows: waiting for their quiet period, or queued.
    var inboxFiles = 0
    /// Manifests in `processing/`; nil when the folder could not be listed (then left out).
    var processingFiles: Int?
    /// One per configured sink, in the config's order.
    var sinks: [SinkStatistics] = []
    /// The live catalog's freshness; nil without `catalog.metrc` (then left out).
    var catalog: CatalogFreshness?
}

/// How current the live catalog (Metrc's) is.
struct CatalogFreshness: Sendable, Equatable {
    /// When every part of it was last synced (wall clock); nil when some part never was.
    var syncedAt: Double?
    /// Whether Metrc answered the last sync or look-up (false also before the first answer).
    var reachable: Bool
}

/// How long manifests took to be routed, in seconds, counted into buckets whose bounds suit a
/// quiet period of a few seconds: most manifests land just above it, a backlog or a wait for
/// Metrc further up.
struct LatencyHistogram: Sendable, Equatable {
    /// The buckets' upper bounds (inclusive, as Prometheus' `le`), in seconds; +Inf is implied.
    static let bounds: [Double] = [0.1, 0.25, 0.5, 1, 2, 2.5, 3, 4, 5, 7.5, 10, 15, 30, 60]

    /// Observations per bucket, not cumulative; the last counts those above every bound.
    private(set) var bucketCounts = [Int](repeating: 0, count: LatencyHistogram.bounds.count + 1)
    private(set) var count = 0
    private(set) var sum = 0.0

    /// Counts one manifest that took `seconds` (a negative time, impossible on a monotonic clock,
    /// counts as 0).
    mutating func observe(_ seconds: Double) {
        let value = max(0, seconds)
        let bucket = Self.bounds.firstIndex { value <= $0 } ?? Self.bounds.count
        bucketCounts[bucket] += 1
        count += 1
        sum += value
    }

    /// Each bound with the observations at or below it, as Prometheus' `_bucket` series counts
    /// them (cumulative), ending with +Inf, which equals ``count``.
    var cumulativeBuckets: [(bound: Double, count: Int)] {
        var running = 0
        var buckets: [(bound: Double, count: Int)] = []
        for (index, bound) in (Self.bounds + [.infinity]).enumerated() {
            running += bucketCounts[index]
            buckets.append((bound, running))
        }
        return buckets
    }
}
