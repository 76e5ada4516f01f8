import BatchgateAlerts
import BatchgateCore

/// Renders a ``MetricsSnapshot`` in Prometheus' text exposition format (version 0.0.4), which
/// node_exporter's textfile collector reads: a `# HELP` and a `# TYPE` line per metric, then its
/// samples. Names follow Prometheus' conventions: the `batchgate_` prefix, `_total` for counters,
/// seconds for times. docs/deployment.md lists every metric.
enum MetricsText {
    /// The whole file's text, ending with a line break.
    static func render(_ snapshot: MetricsSnapshot) -> String {
        var text = Writer()
        text.family("batchgate_manifests_total", .counter, "Manifests routed since the daemon started, by decision.")
        for decision in Decision.allCases {
            text.sample("batchgate_manifests_total", ["decision": decision.rawValue], snapshot.manifests[decision, default: 0])
        }
        text.family("batchgate_rule_hits_total", .counter,
                    "Packages a production-batch rule applied to, in manifests routed since the daemon started.")
        for rule in RuleID.allCases {
            text.sample("batchgate_rule_hits_total", ["rule": rule.rawValue], snapshot.ruleHits[rule, default: 0])
        }
        text.family("batchgate_routing_latency_seconds", .histogram,
                    "Seconds from the daemon first seeing a file in the inbox to the manifest's move into its outcome folder (monotonic clock).")
        let latency = snapshot.routingLatency
        for bucket in latency.cumulativeBuckets {
            text.sample("batchgate_routing_latency_seconds_bucket", ["le": number(bucket.bound)], bucket.count)
        }
        text.sample("batchgate_routing_latency_seconds_sum", [:], latency.sum)
        text.sample("batchgate_routing_latency_seconds_count", [:], latency.count)
        text.gauge("batchgate_inbox_files", "Files in the inbox the daemon follows: waiting for their quiet period, or queued for routing.",
                   snapshot.inboxFiles)
        if let processing = snapshot.processingFiles {
            text.gauge("batchgate_processing_files",
                       "Manifests in processing/: waiting for Metrc, for their writer, or for recovery after a failed step.", processing)
        }
        renderSinks(snapshot, into: &text)
        if let catalog = snapshot.catalog {
            text.gauge("batchgate_catalog_last_sync_timestamp_seconds",
                       "When every part of the Metrc catalog was last synced (Unix time); 0 when some part never was.",
                       catalog.syncedAt ?? 0)
            text.gauge("batchgate_catalog_age_seconds", "Seconds since every part of the Metrc catalog was last synced; +Inf when some part never was.",
                       catalog.syncedAt.map { max(0, snapshot.takenAt - $0) } ?? .infinity)
            text.gauge("batchgate_catalog_reachable", "1 when Metrc answered the last sync or look-up, else 0.", catalog.reachable ? 1 : 0)
        }
        text.gauge("batchgate_start_time_seconds", "When the daemon started (Unix time).", snapshot.startTime)
        text.family("batchgate_build_info", .gauge, "Always 1; the version label is the version batchgate --version prints.")
        text.sample("batchgate_build_info", ["version": snapshot.version], 1)
        text.gauge("batchgate_metrics_written_timestamp_seconds", "When this file was written (Unix time).", snapshot.takenAt)
        return text.output
    }

    /// The per-sink metrics, one sample per configured sink; none at all without sinks.
    private static func renderSinks(_ snapshot: MetricsSnapshot, into text: inout Writer) {
        let sinks = snapshot.sinks
        guard !sinks.isEmpty else { return }
        let families: [(String, Kind, String, (SinkStatistics) -> Double)] = [
            ("batchgate_alerts_pending", .gauge, "Alerts waiting in the outbox for this sink.", { Double($0.waiting) }),
            ("batchgate_alerts_oldest_pending_age_seconds", .gauge,
             "Seconds the oldest alert waiting for this sink has waited (since it was written, or sent back by alert retry); 0 when none waits.",
             { $0.oldestWaitingSince.map { max(0, snapshot.takenAt - $0) } ?? 0 }),
            ("batchgate_alert_deliveries_total", .counter, "Alerts delivered to this sink since the daemon started (a digest counts each alert it carried).",
             { Double($0.delivered) }),
            ("batchgate_alert_failures_total", .counter, "Delivery attempts to this sink that failed since the daemon started.",
             { Double($0.failedAttempts) }),
            ("batchgate_alerts_given_up_total", .counter, "Alerts for this sink given up on (moved to outbox/dead/) since the daemon started.",
             { Double($0.givenUp) }),
            ("batchgate_alert_dead_letters", .gauge, "Dead letters of this sink in outbox/dead/ now.", { Double($0.deadLetters) }),
        ]
        for (name, kind, help, value) in families {
            text.family(name, kind, help)
            for sink in sinks { text.sample(name, ["sink": sink.sink], value(sink)) }
        }
    }

    /// A metric's type, as its `# TYPE` line says it.
    enum Kind: String {
        case counter, gauge, histogram
    }

    /// A sample value as the format writes it: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        // Below 2^53 every integer is exact; "15" reads better than "15.0", and for `le` it is the
        // form Prometheus' Go client writes.
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 { return String(Int64(value)) }
        return String(value)
    }

    /// A label value escaped as the format requires: backslash, double quote and line feed.
    static func escaped(_ value: String) -> String {
        var result = ""
        result.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    /// The text as it grows, line by line.
    private struct Writer {
        var output = ""

        mutating func family(_ name: String, _ kind: Kind, _ help: String) {
            output += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
        }

        mutating func gauge(_ name: String, _ help: String, _ value: Double) {
            family(name, .gauge, help)
            sample(name, [:], value)
        }

        mutating func gauge(_ name: String, _ help: String, _ value: Int) {
            gauge(name, help, Double(value))
        }

        /// One sample; labels in name order, so the text of a snapshot is always the same.
        mutating func sample(_ name: String, _ labels: [String: String], _ value: Double) {
            output += name
            if !labels.isEmpty {
                output += "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(escaped($0.value))\"" }.joined(separator: ",") + "}"
            }
            output += " " + number(value) + "\n"
        }

        mutating func sample(_ name: String, _ labels: [String: String], _ value: Int) {
            sample(name, labels, Double(value))
        }
    }
}
