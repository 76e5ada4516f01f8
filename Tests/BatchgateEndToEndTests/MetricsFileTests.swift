import Foundation
import Testing
import TestSupport

/// The daemon's metrics file (`metrics.textfile`) end to end: written at start, every interval
/// and at stop; read by Prometheus' own text parser, whole at every read; its counts those of
/// the manifests dropped; a folder it cannot write to never stops the daemon.
@Suite("Metrics file from the daemon", .serialized)
struct MetricsFileTests {
    let fileManager = FileManager.default

    /// A config for `root` writing its metrics to `textfile` every 5 s, with one webhook sink that
    /// hears of needs-batch manifests at `port`.
    func writeConfig(root: URL, textfile: String, port: Int) throws -> String {
        let path = root.appendingPathComponent("batchgate.yaml").path
        try """
            stateRoot: \(root.path)
            metrics:
              textfile: \(textfile)
              interval: 5s
            alerts:
              sinks:
                - name: desk
                  type: webhook
                  url: http://127.0.0.1:\(port)/desk
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Moves `files` into the inbox whole, as the writer contract says.
    func drop(_ files: [(name: String, bytes: Data)], into daemon: DaemonProcess) throws {
        let staging = daemon.root.appendingPathComponent("staging")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        for file in files {
            try file.bytes.write(to: staging.appendingPathComponent(file.name))
            #expect(rename(staging.appendingPathComponent(file.name).path, daemon.inbox.appendingPathComponent(file.name).path) == 0)
        }
    }

    @Test func theFileCountsWhatWasDroppedAndIsWholeAtEveryRead() throws {
        try PythonTool.requirePackages(["prometheus_client.parser"])
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let exporter = root.appendingPathComponent("node-exporter")
        try fileManager.createDirectory(at: exporter, withIntermediateDirectories: true)
        let textfile = exporter.appendingPathComponent("batchgate.prom").path
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }  // refusing until the test ends
        let config = try writeConfig(root: root, textfile: textfile, port: Int(refusing.port))

        let shown = try Executable.run(["config", "check", "--config", config])
        #expect(shown.standardOutput.contains("\n  metrics:         \(textfile), every 5s\n"), "\(shown.standardOutput)")

        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try daemon.start()
        #expect(waitUntil(timeout: 10) { fileManager.fileExists(atPath: textfile) }, "written once ready:\n\(daemon.log)")
        let first = try PrometheusText(parsing: String(contentsOfFile: textfile, encoding: .utf8))
        #expect(first.value("batchgate_manifests_total", ["decision": "accepted"]) == 0)
        let version = try Executable.run(["--version"]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(first.value("batchgate_build_info", ["version": version]) == 1, "version \(version)")

        try drop([("ok-1.json", manifest(1, needsBatch: false)), ("ok-2.json", manifest(2, needsBatch: false)),
                  ("batch-3.json", manifest(3, needsBatch: true)), ("batch-4.json", manifest(4, needsBatch: true)),
                  ("broken.json", Data("not a manifest".utf8))], into: daemon)
        // A reader over two intervals' writes: every read is a whole file.
        let watched = try PrometheusText.watch(textfile, seconds: 11)
        #expect(watched.status == 0, "\(watched.output)")
        #expect(daemon.routedCount == 5, "\(daemon.log)")

        var parsed: PrometheusText?
        let counted = waitUntil(timeout: 20, pollEvery: 0.5) {
            parsed = try? PrometheusText(parsing: String(contentsOfFile: textfile, encoding: .utf8))
            return parsed?.value("batchgate_routing_latency_seconds_count") == 5
                && (parsed?.value("batchgate_alert_failures_total", ["sink": "desk"]) ?? 0) >= 1
        }
        let metrics = try #require(parsed)
        #expect(counted, "\(metrics.families.map(\.name))\n\(daemon.log)")
        #expect(metrics.value("batchgate_manifests_total", ["decision": "accepted"]) == 2)
        #expect(metrics.value("batchgate_manifests_total", ["decision": "needs-batch"]) == 2)
        #expect(metrics.value("batchgate_manifests_total", ["decision": "rejected"]) == 1)
        #expect(metrics.value("batchgate_routing_latency_seconds_bucket", ["le": "+Inf"]) == 5)
        #expect((metrics.value("batchgate_routing_latency_seconds_sum") ?? -1) >= 0)
        let ruleHits = metrics.samples("batchgate_rule_hits_total").compactMap(\.number).reduce(0, +)
        #expect(ruleHits >= 2, "a rule for each needs-batch package")
        #expect(metrics.value("batchgate_inbox_files") == 0 && metrics.value("batchgate_processing_files") == 0)
        #expect((metrics.value("batchgate_alerts_pending", ["sink": "desk"]) ?? 0) >= 1)
        #expect((metrics.value("batchgate_alerts_oldest_pending_age_seconds", ["sink": "desk"]) ?? -1) >= 0)
        #expect(metrics.value("batchgate_alert_dead_letters", ["sink": "desk"]) == 0)
        #expect(metrics.value("batchgate_catalog_age_seconds") == nil, "no catalog.metrc, no catalog metrics")
        let written = try #require(metrics.value("batchgate_metrics_written_timestamp_seconds"))
        #expect(abs(written - Date().timeIntervalSince1970) < 60)

        // A stop writes the file once more, and leaves it.
        let stopAsked = Date().timeIntervalSince1970
        #expect(daemon.stop() == 0)
        let last = try PrometheusText(parsing: String(contentsOfFile: textfile, encoding: .utf8))
        #expect((last.value("batchgate_metrics_written_timestamp_seconds") ?? 0) >= stopAsked - 1)
        #expect(try fileManager.contentsOfDirectory(atPath: exporter.path) == ["batchgate.prom"], "no temporary file left")
    }

    @Test func aFolderItCannotWriteToIsLoggedAndNeverStopsTheDaemon() throws {
        // That a failure is logged once per change of error, not at every interval, is
        // MetricsTests' to show without waiting for intervals; here, the daemon's side only.
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let textfile = root.appendingPathComponent("missing/batchgate.prom").path
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }  // refusing until the test ends
        let config = try writeConfig(root: root, textfile: textfile, port: Int(refusing.port))
        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try daemon.start()
        // The first write comes once the daemon is ready: it has failed by the time a manifest routes.
        try drop([("ok-1.json", manifest(1, needsBatch: false))], into: daemon)
        #expect(waitUntil(timeout: 20) { daemon.routedCount == 1 }, "\(daemon.log)")
        #expect(daemon.process.isRunning)
        #expect(daemon.log.contains("cannot write the metrics file \(textfile)"), "\(daemon.log)")
        #expect(daemon.log.contains("ReadWritePaths=") && daemon.log.contains("batchgate-metrics.conf"))
        #expect(daemon.stop() == 0)
    }
}
