import BatchgateCore
import Dispatch

/// What the daemon counts for its metrics beside what it already keeps (its counts by decision,
/// the tracker, the senders' statistics), and the file and timer that write them. Touched only on
/// the daemon's queue.
struct DaemonMetrics {
    /// The version the executable passed in (the daemon's target does not know it).
    let version: String
    /// When the daemon was made (wall clock).
    let startTime: Double
    var ruleHits: [RuleID: Int] = [:]
    var routingLatency = LatencyHistogram()
    var arrivals = ArrivalTimes()
    /// The file, while `metrics.textfile` is set.
    var writer: MetricsWriter?
    var timer: DispatchSourceTimer?

    init(version: String, startTime: Double) {
        self.version = version
        self.startTime = startTime
    }

    /// Counts a routed manifest: its rules, and its time since it was first seen in the inbox when
    /// that is known (monotonic `now`).
    mutating func routed(_ name: String, report: ManifestReport, now: Double) {
        for package in report.packages {
            // A rule counts once per package, however many of its ingredients it applied to.
            for rule in Set(package.rules) { ruleHits[rule, default: 0] += 1 }
        }
        if let since = arrivals.routed(name) { routingLatency.observe(now - since) }
    }
}

/// When the daemon first saw each inbox name (monotonic seconds), kept until the manifest is
/// routed: the start of ``LatencyHistogram``'s measure. A name claimed into `processing/` keeps its
/// time when its move out of the inbox is reported, since it may be routed later (waiting for
/// Metrc, or for recovery); any other name reported gone is forgotten. Names never routed (a file
/// taken back by its writer during an inotify overflow, say) are dropped after a day, so the memory
/// follows the rate of files, never their total.
struct ArrivalTimes: Sendable {
    private struct Arrival: Sendable {
        var since: Double
        var claimed = false
    }

    private var arrivals: [String: Arrival] = [:]
    /// The count at which old entries are next looked for: twice what was left after the last look.
    private var pruneAt = 1_024
    /// How long an entry is kept at most.
    static let maximumAge = 86_400.0

    var count: Int { arrivals.count }

    /// `name` is in the inbox at `now`; only the first sighting counts.
    mutating func saw(_ name: String, now: Double) {
        guard arrivals[name] == nil else { return }
        arrivals[name] = Arrival(since: now)
        if arrivals.count >= pruneAt {
            arrivals = arrivals.filter { now - $0.value.since < Self.maximumAge }
            pruneAt = max(1_024, arrivals.count * 2)
        }
    }

    /// `name` left the inbox (deleted, moved out, or claimed).
    mutating func gone(_ name: String) {
        if arrivals[name]?.claimed == false { arrivals[name] = nil }
    }

    /// These names were claimed into `processing/` and are not routed yet.
    mutating func claimed(_ names: some Sequence<String>) {
        for name in names { arrivals[name]?.claimed = true }
    }

    /// When `name` was first seen, now that it is routed; nil when it never was (a manifest left
    /// in `processing/` by an earlier run).
    mutating func routed(_ name: String) -> Double? {
        arrivals.removeValue(forKey: name)?.since
    }
}
