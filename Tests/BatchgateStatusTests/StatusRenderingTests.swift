import Foundation
import Testing
import BatchgateCore
import BatchgateSystem
@testable import BatchgateStatus

/// The pure parts: the probe's parsing of /proc, and both renderers of a status value made by
/// hand (durations are ElapsedText's, times Timestamp's: BatchgateSystemTests).
@Suite struct StatusRenderingTests {
    @Test func processStartComesFromBootTimeAndTicks() {
        // A command name with spaces and parentheses must not shift the fields.
        let stat = "4242 (batch gate) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 3 0 123450 1000000 200"
        let system = "cpu  1 2 3\nintr 5\nbtime 1796366476\nprocesses 10\n"
        #expect(DaemonProbe.startTime(processStat: stat, systemStat: system, ticksPerSecond: 100) == 1_796_366_476 + 1234.5)
        #expect(DaemonProbe.startTime(processStat: stat, systemStat: "cpu 1\n", ticksPerSecond: 100) == nil)
        #expect(DaemonProbe.startTime(processStat: "4242 (x) S 1", systemStat: system, ticksPerSecond: 100) == nil)
    }

    /// A status with something in every part, read at a round time.
    static let sample: ServiceStatus = {
        let now = 1_795_738_200.0
        let hour = DecisionCounts.Window(since: now - 3600, counts: [.accepted: 3, .needsBatch: 1])
        let day = DecisionCounts.Window(since: now - 86_400, counts: [.accepted: 40, .needsBatch: 7, .rejected: 2], complete: false)
        let start = DecisionCounts.Window(since: now - 7500, counts: [.accepted: 12, .needsBatch: 2, .rejected: 1])
        return ServiceStatus(
            readAt: now, stateRoot: "/var/lib/batchgate",
            daemon: DaemonState(running: true, pid: 4242, startedAt: now - 7500),
            decisions: DecisionCounts(lastHour: hour, lastDay: day, sinceStart: start, unreadableLines: 2,
                                      filesRead: ["/var/lib/batchgate/audit.jsonl", "/var/lib/batchgate/audit.jsonl.1"]),
            folders: [WaitingFiles(name: "inbox", path: "/srv/drop", count: 2, oldestSince: now - 200),
                      WaitingFiles(name: "processing", path: "/var/lib/batchgate/processing", count: nil, oldestSince: nil)],
            sinks: [SinkQueue(name: "compliance-slack", type: "slack", pending: 3, oldestPendingSince: now - 724, dead: 1,
                              lastDeadAt: now - 3700, lastDeadAnswer: "HTTP 404: no_service"),
                    SinkQueue(name: "mail", type: "email"),
                    SinkQueue(name: "old-hook", type: nil, pending: 1, oldestPendingSince: now - 90_000)],
            unreadableAlerts: ["/var/lib/batchgate/outbox/x.json"],
            catalog: CatalogStatus(
                itemsFile: "/etc/batchgate/items.json", packagesFile: nil,
                metrc: MetrcStatus(server: "https://api-wv.metrc.com", cache: "/var/lib/batchgate/catalog/metrc.json", cacheRead: true,
                                   parts: [.init(name: "items", syncedAt: now - 302, records: 1200),
                                           .init(name: "packages.active", syncedAt: nil, records: nil)],
                                   unreachableSince: now - 3720, unreachableReason: "could not connect")),
            problems: ["cannot read the folder /var/lib/batchgate/processing: Permission denied"])
    }()

    @Test func textIsAlignedWithAgesAndTimes() {
        let text = StatusText.render(Self.sample)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "batchgate is running, pid 4242, started 2026-11-26T22:05:00Z (2h 5m ago)")
        #expect(lines.contains("manifests      last hour  last day  since start"))
        #expect(lines.contains("  accepted             3       ≥40           12"))
        #expect(lines.contains("  rejected             0        ≥2            1"))
        #expect(lines.contains("  total                4       ≥49           15"))
        #expect(lines.contains("  (2 unreadable lines skipped)"))
        #expect(lines.contains("  inbox           2  3m 20s (2026-11-27T00:06:40Z)"))
        #expect(lines.contains("  processing      ?  -"))
        #expect(lines.contains { $0.hasPrefix("  compliance-slack  slack") && $0.contains("3  12m 4s (2026-11-26T23:57:56Z)") && $0.hasSuffix("1  1h 1m (2026-11-26T23:08:20Z)") })
        #expect(lines.contains { $0.hasPrefix("  old-hook") && $0.contains("(not configured)") && $0.contains("1d 1h") })
        #expect(lines.contains("  compliance-slack, last dead letter: HTTP 404: no_service"))
        #expect(lines.contains("  Metrc unreachable since 2026-11-26T23:08:00Z (1h 2m): could not connect"))
        #expect(lines.contains { $0.hasPrefix("  items") && $0.contains("synced 2026-11-27T00:04:58Z (5m 2s ago)") && $0.hasSuffix("1200 records") })
        #expect(lines.contains("  packages.active  never synced"))
        #expect(lines.contains("  files laid over it: items /etc/batchgate/items.json"))
        #expect(lines.contains("  cannot read the folder /var/lib/batchgate/processing: Permission denied"))
        // Every column of a table starts at one place: the header's "pending" ends where each count ends.
        let header = lines.first { $0.hasPrefix("alerts") }!
        let end = header.range(of: "pending")!.upperBound.utf16Offset(in: header)
        for line in lines where line.hasPrefix("  compliance-slack  ") || line.hasPrefix("  mail  ") || line.hasPrefix("  old-hook  ") {
            let digit = line[line.index(line.startIndex, offsetBy: end - 1)]
            #expect(digit.isNumber, "\(line)")
        }
        #expect(!lines.contains { $0.hasSuffix(" ") })
    }

    @Test func notRunningSaysWhoseThePidWas() {
        var status = Self.sample
        status.daemon = DaemonState(running: false, pid: 4242, startedAt: nil)
        #expect(StatusText.render(status).hasPrefix("batchgate is not running (pid 4242 in .batchgate.lock is from its last run)\n"))
        status.daemon = DaemonState(running: true, pid: 4242, startedAt: nil)
        #expect(StatusText.render(status).hasPrefix("batchgate is running, pid 4242, started unknown"))
    }

    @Test func jsonParsesBackWithNumbersAsNumbersAndTimesAsISO8601() throws {
        let text = StatusJSON.render(Self.sample)
        #expect(text.hasSuffix("}\n") && text.dropLast().contains("\n") == false)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["version"] as? Int == 1)
        #expect(object["readAt"] as? String == "2026-11-27T00:10:00.000Z")
        let daemon = try #require(object["daemon"] as? [String: Any])
        #expect(daemon["running"] as? Bool == true && daemon["pid"] as? Int == 4242)
        #expect(daemon["startedAt"] as? String == "2026-11-26T22:05:00.000Z")
        let manifests = try #require(object["manifests"] as? [String: Any])
        let day = try #require(manifests["lastDay"] as? [String: Any])
        #expect(day["accepted"] as? Int == 40 && day["needs-batch"] as? Int == 7 && day["rejected"] as? Int == 2)
        #expect(day["total"] as? Int == 49 && day["complete"] as? Bool == false)
        #expect((manifests["sinceStart"] as? [String: Any])?["since"] as? String == "2026-11-26T22:05:00.000Z")
        #expect(manifests["unreadableLines"] as? Int == 2)
        let waiting = try #require(object["waiting"] as? [[String: Any]])
        #expect(waiting.map { $0["folder"] as? String } == ["inbox", "processing"])
        #expect(waiting[0]["files"] as? Int == 2 && waiting[0]["oldestAgeSeconds"] as? Int == 200)
        #expect(waiting[1]["files"] is NSNull)
        let alerts = try #require(object["alerts"] as? [String: Any])
        let sinks = try #require(alerts["sinks"] as? [[String: Any]])
        #expect(sinks.map { $0["name"] as? String } == ["compliance-slack", "mail", "old-hook"])
        #expect(sinks[0]["pending"] as? Int == 3 && sinks[0]["oldestPendingAgeSeconds"] as? Int == 724)
        #expect(sinks[0]["dead"] as? Int == 1 && sinks[0]["lastDeadAnswer"] as? String == "HTTP 404: no_service")
        #expect(sinks[1]["pending"] as? Int == 0 && sinks[1]["oldestPendingSince"] is NSNull)
        #expect(sinks[2]["configured"] as? Bool == false && sinks[2]["type"] is NSNull)
        #expect(alerts["unreadable"] as? [String] == ["/var/lib/batchgate/outbox/x.json"])
        let metrc = try #require((object["catalog"] as? [String: Any])?["metrc"] as? [String: Any])
        let parts = try #require(metrc["parts"] as? [[String: Any]])
        #expect(parts[0]["ageSeconds"] as? Int == 302 && parts[0]["records"] as? Int == 1200)
        #expect(parts[1]["syncedAt"] is NSNull)
        #expect(metrc["unreachableSince"] as? String == "2026-11-26T23:08:00.000Z")
        #expect(object["problems"] as? [String] == ["cannot read the folder /var/lib/batchgate/processing: Permission denied"])
    }
}
