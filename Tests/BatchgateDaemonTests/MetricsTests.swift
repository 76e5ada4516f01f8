import BatchgateAlerts
import BatchgateCore
import Foundation
import Synchronization
import Testing
import TestSupport
@testable import BatchgateDaemon
@testable import BatchgateSystem

/// The metrics file: its text as Prometheus' own parser reads it, the histogram's buckets, the
/// arrival times routing latency starts from, and the file replaced whole under a reader.
@Suite("Metrics")
struct MetricsTests {
    /// A snapshot with a little of everything: two sinks, a live catalog, five manifests.
    func snapshot() -> MetricsSnapshot {
        var snapshot = MetricsSnapshot(version: "1.2.3", startTime: 1_780_000_000, takenAt: 1_780_000_100.5)
        snapshot.manifests = [.accepted: 3, .rejected: 1]
        snapshot.ruleHits = [.formChange: 2, .additive: 1]
        for seconds in [2.05, 2.3, 2.5, 9.0, 75] { snapshot.routingLatency.observe(seconds) }
        snapshot.inboxFiles = 4
        snapshot.processingFiles = 1
        var desk = SinkStatistics(sink: "desk")
        desk.waiting = 2
        desk.oldestWaitingSince = 1_780_000_040.5
        desk.failedAttempts = 7
        desk.deadLetters = 1
        var chat = SinkStatistics(sink: "chat")
        chat.delivered = 5
        chat.givenUp = 1
        snapshot.sinks = [desk, chat]
        snapshot.catalog = CatalogFreshness(syncedAt: 1_780_000_000, reachable: true)
        return snapshot
    }

    @Test func everyMetricIsReadByPrometheusParserWithItsHelpTypeAndValue() throws {
        let text = MetricsText.render(snapshot())
        let parsed = try PrometheusText(parsing: text)
        for family in parsed.families {
            #expect(!family.help.isEmpty && family.type != "unknown", "\(family.name) has HELP and TYPE")
        }
        let types = Dictionary(parsed.families.map { ($0.name, $0.type) }) { first, _ in first }
        #expect(types["batchgate_manifests"] == "counter" && types["batchgate_routing_latency_seconds"] == "histogram")
        #expect(types["batchgate_alerts_pending"] == "gauge" && types["batchgate_alert_failures"] == "counter")

        // Every decision and every rule, counted or not.
        #expect(parsed.value("batchgate_manifests_total", ["decision": "accepted"]) == 3)
        #expect(parsed.value("batchgate_manifests_total", ["decision": "needs-batch"]) == 0)
        #expect(parsed.value("batchgate_manifests_total", ["decision": "rejected"]) == 1)
        #expect(Set(parsed.samples("batchgate_rule_hits_total").compactMap { $0.labels["rule"] }) == Set(RuleID.allCases.map(\.rawValue)))
        #expect(parsed.value("batchgate_rule_hits_total", ["rule": "form-change"]) == 2)
        #expect(parsed.value("batchgate_rule_hits_total", ["rule": "category-change"]) == 0)

        // Cumulative buckets; le is inclusive; +Inf equals the count.
        #expect(parsed.value("batchgate_routing_latency_seconds_bucket", ["le": "2"]) == 0)
        #expect(parsed.value("batchgate_routing_latency_seconds_bucket", ["le": "2.5"]) == 3)
        #expect(parsed.value("batchgate_routing_latency_seconds_bucket", ["le": "10"]) == 4)
        #expect(parsed.value("batchgate_routing_latency_seconds_bucket", ["le": "60"]) == 4)
        #expect(parsed.value("batchgate_routing_latency_seconds_bucket", ["le": "+Inf"]) == 5)
        #expect(parsed.value("batchgate_routing_latency_seconds_count") == 5)
        #expect(abs((parsed.value("batchgate_routing_latency_seconds_sum") ?? 0) - 90.85) < 1e-9)

        #expect(parsed.value("batchgate_inbox_files") == 4 && parsed.value("batchgate_processing_files") == 1)
        #expect(parsed.value("batchgate_alerts_pending", ["sink": "desk"]) == 2)
        #expect(parsed.value("batchgate_alerts_oldest_pending_age_seconds", ["sink": "desk"]) == 60)
        #expect(parsed.value("batchgate_alerts_oldest_pending_age_seconds", ["sink": "chat"]) == 0)
        #expect(parsed.value("batchgate_alert_failures_total", ["sink": "desk"]) == 7)
        #expect(parsed.value("batchgate_alert_deliveries_total", ["sink": "chat"]) == 5)
        #expect(parsed.value("batchgate_alerts_given_up_total", ["sink": "chat"]) == 1)
        #expect(parsed.value("batchgate_alert_dead_letters", ["sink": "desk"]) == 1)
        #expect(parsed.value("batchgate_catalog_last_sync_timestamp_seconds") == 1_780_000_000)
        #expect(parsed.value("batchgate_catalog_age_seconds") == 100.5)
        #expect(parsed.value("batchgate_catalog_reachable") == 1)
        #expect(parsed.value("batchgate_start_time_seconds") == 1_780_000_000)
        #expect(parsed.value("batchgate_build_info", ["version": "1.2.3"]) == 1)
        #expect(parsed.value("batchgate_metrics_written_timestamp_seconds") == 1_780_000_100.5)
    }

    @Test func theTextIsWrittenAsPrometheusGoClientWritesIt() {
        let text = MetricsText.render(snapshot())
        #expect(text.hasSuffix("batchgate_metrics_written_timestamp_seconds 1780000100.5\n"))
        #expect(text.contains("""
            # HELP batchgate_manifests_total Manifests routed since the daemon started, by decision.
            # TYPE batchgate_manifests_total counter
            batchgate_manifests_total{decision="accepted"} 3
            batchgate_manifests_total{decision="needs-batch"} 0
            batchgate_manifests_total{decision="rejected"} 1

            """))
        #expect(text.contains("batchgate_routing_latency_seconds_bucket{le=\"0.1\"} 0\n"))
        #expect(text.contains("batchgate_routing_latency_seconds_bucket{le=\"+Inf\"} 5\n"))
        #expect(text.contains("batchgate_start_time_seconds 1780000000\n"))
        // The same snapshot, the same text: labels in a fixed order.
        #expect(MetricsText.render(snapshot()) == text)
    }

    @Test func labelValuesAreEscapedSoTheParserGivesThemBackAsWritten() throws {
        var hostile = snapshot()
        let name = "desk \"east\" \\ back\nslash é"
        hostile.sinks[0].sink = name
        hostile.version = "2.0 \"rc\\1\""
        let text = MetricsText.render(hostile)
        #expect(text.contains(#"sink="desk \"east\" \\ back\nslash é""#))
        let parsed = try PrometheusText(parsing: text)
        #expect(parsed.value("batchgate_alerts_pending", ["sink": name]) == 2)
        #expect(parsed.value("batchgate_build_info", ["version": "2.0 \"rc\\1\""]) == 1)
    }

    @Test func theParserRefusesTextThatIsNotTheFormat() throws {
        // The checker can fail: an unescaped quote in a label value.
        #expect(throws: (any Error).self) { try PrometheusText(parsing: "batchgate_alerts_pending{sink=\"a\"b\"} 1\n") }
    }

    @Test func withoutSinksOrALiveCatalogTheirMetricsAreLeftOut() throws {
        var bare = snapshot()
        bare.sinks = []
        bare.catalog = nil
        bare.processingFiles = nil
        let text = MetricsText.render(bare)
        #expect(!text.contains("batchgate_alert") && !text.contains("batchgate_catalog") && !text.contains("batchgate_processing"))
        #expect(text.contains("batchgate_manifests_total{decision=\"needs-batch\"} 0"))
    }

    @Test func aCatalogNeverSyncedWholeIsInfinitelyOldAndUnreachableUntilMetrcAnswers() throws {
        var fresh = snapshot()
        fresh.catalog = CatalogFreshness(syncedAt: nil, reachable: false)
        let parsed = try PrometheusText(parsing: MetricsText.render(fresh))
        #expect(parsed.value("batchgate_catalog_age_seconds") == .infinity)
        #expect(parsed.value("batchgate_catalog_last_sync_timestamp_seconds") == 0)
        #expect(parsed.value("batchgate_catalog_reachable") == 0)
    }

    @Test func numbersAreWrittenInTheFormatsSyntax() {
        #expect(MetricsText.number(15) == "15")
        #expect(MetricsText.number(0.25) == "0.25")
        #expect(MetricsText.number(1_780_000_100.125) == "1780000100.125")
        #expect(MetricsText.number(.infinity) == "+Inf" && MetricsText.number(-.infinity) == "-Inf")
        #expect(MetricsText.number(.nan) == "NaN")
    }

    @Test func aBucketCountsTimesUpToAndIncludingItsBound() {
        var histogram = LatencyHistogram()
        for seconds in [0.1, 0.1000001, 60, 60.5, -1] { histogram.observe(seconds) }
        let buckets = Dictionary(uniqueKeysWithValues: histogram.cumulativeBuckets.map { ($0.bound, $0.count) })
        #expect(buckets[0.1] == 2, "0.1 and -1 (counted as 0)")
        #expect(buckets[0.25] == 3 && buckets[60] == 4 && buckets[.infinity] == 5)
        #expect(histogram.count == 5 && abs(histogram.sum - 120.7000001) < 1e-9)
    }

    @Test func anArrivalIsTimedFromTheFirstSightingAndSurvivesItsOwnClaim() {
        var arrivals = ArrivalTimes()
        arrivals.saw("a.json", now: 10)
        arrivals.saw("a.json", now: 12)  // written again: still first seen at 10
        arrivals.saw("b.json", now: 11)
        arrivals.saw("c.json", now: 11)
        // a.json is claimed and waits for Metrc; its move out of the inbox is reported after.
        arrivals.claimed(["a.json"])
        arrivals.gone("a.json")
        // b.json is deleted by a person, and a new file comes under its name later.
        arrivals.gone("b.json")
        arrivals.saw("b.json", now: 30)
        #expect(arrivals.routed("a.json") == 10)
        #expect(arrivals.routed("b.json") == 30)
        #expect(arrivals.routed("c.json") == 11)
        #expect(arrivals.routed("c.json") == nil, "each arrival is taken once")
        #expect(arrivals.routed("left-by-an-earlier-run.json") == nil)
    }

    @Test func arrivalsNeverRoutedAreDroppedAfterADay() {
        var arrivals = ArrivalTimes()
        for index in 0..<1_000 { arrivals.saw("old-\(index).json", now: 0) }
        for index in 0..<100 { arrivals.saw("new-\(index).json", now: ArrivalTimes.maximumAge + 1) }
        #expect(arrivals.count == 100, "the day-old ones went when the count reached 1,024")
        #expect(arrivals.routed("new-0.json") == ArrivalTimes.maximumAge + 1)
        #expect(arrivals.routed("old-0.json") == nil)
    }
}

/// The file itself: mode, temporary name, whole under a reader, failures logged once.
@Suite("Metrics file", .serialized)
struct MetricsFileTests {
    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The renderer's text for a snapshot with `sinks` sinks: about 1 KB a sink.
    func text(sinks: Int, written: Double) -> String {
        var snapshot = MetricsSnapshot(version: "1.0.0", startTime: 1_780_000_000, takenAt: written)
        snapshot.sinks = (0..<sinks).map { SinkStatistics(sink: "sink-\($0)") }
        return MetricsText.render(snapshot)
    }

    @Test func theFileIsReplacedWithModeSixFourFourAndNoTemporaryFileLeft() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = MetricsFile(path: folder.path + "/batchgate.prom")
        #expect(file.temporaryName(0xbeef) == ".batchgate.prom.0000beef.tmp")
        let previous = umask(0o077)  // stricter than the unit's UMask=0027
        defer { umask(previous) }
        try file.write("first\n")
        try file.write("second\n")
        #expect(try String(contentsOfFile: file.path, encoding: .utf8) == "second\n")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int)
        #expect(mode == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["batchgate.prom"])
    }

    /// What a hostile user of node_exporter's folder could put at a temporary name in advance is
    /// never opened: a FIFO would block the daemon's queue, a link would send the text elsewhere.
    /// A crash's leftover of this user's is removed when the writer starts.
    @Test func nothingPutAtATemporaryNameIsOpenedAndLeftoversAreRemoved() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = MetricsFile(path: folder.path + "/batchgate.prom")
        // A write takes a new name with O_EXCL, so what is planted at any name is never opened.
        #expect(mkfifo(folder.path + "/" + file.temporaryName(1), 0o666) == 0)
        #expect(symlink("/etc/passwd", folder.path + "/" + file.temporaryName(2)) == 0)
        try "left by a crash".write(toFile: folder.path + "/" + file.temporaryName(3), atomically: false, encoding: .utf8)
        try "someone's notes".write(toFile: folder.path + "/.batchgate.prom.notes.tmp", atomically: false, encoding: .utf8)
        var writer = MetricsWriter(path: file.path)
        writer.write("batchgate_up 1\n", log: Logger(level: .error, fd: -1))
        #expect(try String(contentsOfFile: file.path, encoding: .utf8) == "batchgate_up 1\n")
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(left == [file.temporaryName(1), file.temporaryName(2), ".batchgate.prom.notes.tmp", "batchgate.prom"].sorted(),
                "the crash's leftover (a regular file of this user) removed; the FIFO, the link and another name kept")
    }

    @Test func aReaderNeverSeesTheFileHalfWritten() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = MetricsFile(path: folder.path + "/batchgate.prom")
        // About 300 KB: some seventy pages, so a write in place would be seen in parts.
        let texts = [text(sinks: 300, written: 1), text(sinks: 280, written: 2)]
        try file.write(texts[0])
        let done = Atomic<Bool>(false)
        let writes = Atomic<Int>(0)
        let writer = Thread {
            while !done.load(ordering: .relaxed) {
                try? file.write(texts[writes.load(ordering: .relaxed) % 2])
                writes.add(1, ordering: .relaxed)
                // Paced, not flat out: each write is flushed to disk, and a disk kept busy for
                // the whole second would slow the suites running beside this one.
                usleep(10_000)
            }
        }
        writer.start()
        let watched = try PrometheusText.watch(file.path, seconds: 1)
        done.store(true, ordering: .relaxed)
        #expect(watched.status == 0, "\(watched.output)")
        #expect(writes.load(ordering: .relaxed) >= 2 && !watched.output.hasPrefix("0 read"), "\(watched.output)")

        // The watcher can fail: a file cut short is caught.
        try Data(texts[0].utf8.prefix(texts[0].utf8.count / 2)).write(to: URL(fileURLWithPath: folder.path + "/cut.prom"))
        let cut = try PrometheusText.watch(folder.path + "/cut.prom", seconds: 0.2)
        #expect(cut.status == 1 && cut.output.contains("problem"), "\(cut.output)")
    }

    @Test func aFailureIsLoggedOncePerChangeOfErrorAndItsEndOnce() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let logPath = folder.path + "/log"
        let fd = open(logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        defer { close(fd) }
        let log = Logger(level: .info, fd: fd)
        let target = folder.path + "/node-exporter/batchgate.prom"
        var writer = MetricsWriter(path: target)
        for _ in 0..<3 { writer.write("a 1\n", log: log) }  // the folder is missing
        try Data().write(to: URL(fileURLWithPath: folder.path + "/node-exporter"))  // now a file in its place
        for _ in 0..<3 { writer.write("a 1\n", log: log) }
        try FileManager.default.removeItem(atPath: folder.path + "/node-exporter")
        try FileManager.default.createDirectory(atPath: folder.path + "/node-exporter", withIntermediateDirectories: false)
        for _ in 0..<3 { writer.write("a 1\n", log: log) }
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3, "\(lines)")
        #expect(lines.filter { $0.contains("cannot write the metrics file \(target)") && $0.contains("ReadWritePaths=") }.count == 2)
        #expect(lines.first?.contains("No such file or directory") == true && lines.dropFirst().first?.contains("Not a directory") == true)
        #expect(lines.last?.contains("is written again") == true)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "a 1\n")
    }
}
