import Foundation
import Testing
import BatchgateConfig
import BatchgateCore
import BatchgateSystem
@testable import BatchgateStatus

/// `audit.jsonl` read from its end: real files, torn and rotated ones included.
@Suite struct AuditTailTests {
    let now = 1_795_738_200.0

    /// Lines at random times over the last `span` seconds, oldest first, with their decisions.
    func lines(count: Int, span: Double, endingBefore end: Double) -> [(time: Double, decision: Decision)] {
        (0..<count).map { _ in (end - Double.random(in: 1...span), Decision.allCases.randomElement()!) }
            .sorted { $0.time < $1.time }
    }

    /// What a reader of every line would count: per window start, per decision.
    func expected(_ lines: [(time: Double, decision: Decision)], since: Double) -> [Decision: Int] {
        var counts: [Decision: Int] = [:]
        for line in lines where line.time >= since { counts[line.decision, default: 0] += 1 }
        return counts
    }

    func window(_ counts: [Decision: Int], since: Double) -> DecisionCounts.Window {
        DecisionCounts.Window(since: since, counts: counts)
    }

    @Test(arguments: [64, 1000, AuditTail.blockSize])
    func countsWhatEveryLineSaysAcrossBlockBoundaries(blockSize: Int) throws {
        let root = try StateRoot()
        defer { root.remove() }
        let recent = lines(count: 400, span: 2 * 86_400, endingBefore: now)
        var text = ""
        var bad = 0
        for (index, line) in recent.enumerated() {
            text += StateRoot.auditLine(at: line.time, line.decision) + "\n"
            // Bad lines among the last day's: garbage, a line without decision, an empty line.
            if line.time > now - 80_000, index % 50 == 0 {
                text += "garbage\n{\"time\":\"\(Timestamp.iso8601(line.time))\",\"id\":\"x\"}\n\n"
                bad += 2
            }
        }
        // A last line torn by a crash, no newline after it.
        text += String(StateRoot.auditLine(at: now - 1, .accepted).prefix(40))
        try root.write("audit.jsonl", text)
        var tail = AuditTail(windowStarts: [now - 3600, now - 86_400])
        #expect(try tail.read(path: root.path + "/audit.jsonl", blockSize: blockSize))
        #expect(tail.window(0, complete: true) == window(expected(recent, since: now - 3600), since: now - 3600))
        #expect(tail.window(1, complete: true) == window(expected(recent, since: now - 86_400), since: now - 86_400))
        #expect(tail.unreadableLines == bad + 1)
        #expect(tail.stopped)
    }

    @Test func stopsAtTheFirstLineOlderThanAsked() throws {
        let root = try StateRoot()
        defer { root.remove() }
        // Old lines with garbage among them, then the last hour's: a reader that went on past the
        // day would count the garbage.
        var text = ""
        for index in 0..<5000 {
            text += StateRoot.auditLine(at: now - 10 * 86_400 + Double(index), .rejected) + "\n"
            if index % 100 == 0 { text += "not a line\n" }
        }
        let recent = lines(count: 50, span: 3000, endingBefore: now)
        for line in recent { text += StateRoot.auditLine(at: line.time, line.decision) + "\n" }
        try root.write("audit.jsonl", text)
        var tail = AuditTail(windowStarts: [now - 3600, now - 86_400])
        #expect(try tail.read(path: root.path + "/audit.jsonl", blockSize: 4096))
        #expect(tail.stopped)
        #expect(tail.unreadableLines == 0)
        #expect(tail.window(1, complete: true) == window(expected(recent, since: 0), since: now - 86_400))
    }

    @Test func aLineLongerThanAnyAuditLineIsOneUnreadableLine() throws {
        let root = try StateRoot()
        defer { root.remove() }
        let long = "{\"time\":\"" + String(repeating: "x", count: AuditTail.longestLine + 10) + "\"}"
        try root.write("audit.jsonl", StateRoot.auditLine(at: now - 60, .needsBatch) + "\n" + long + "\n"
                       + StateRoot.auditLine(at: now - 30, .accepted) + "\n")
        var tail = AuditTail(windowStarts: [now - 3600])
        #expect(try tail.read(path: root.path + "/audit.jsonl", blockSize: 4096))
        #expect(tail.unreadableLines == 1)
        #expect(tail.window(0, complete: true) == window([.accepted: 1, .needsBatch: 1], since: now - 3600))
    }

    @Test func theDayReachesIntoTheRotatedFile() throws {
        let root = try StateRoot()
        defer { root.remove() }
        let older = lines(count: 300, span: 3 * 86_400, endingBefore: now - 7200)
        let newer = lines(count: 100, span: 7000, endingBefore: now)
        try root.write("audit.jsonl.1", older.map { StateRoot.auditLine(at: $0.time, $0.decision) + "\n" }.joined())
        try root.write("audit.jsonl", newer.map { StateRoot.auditLine(at: $0.time, $0.decision) + "\n" }.joined())
        let layout = DaemonConfig.defaults(stateRoot: root.path).layout
        var problems: [String] = []
        let counts = try #require(StatusReader.decisions(layout: layout, now: now, startedAt: now - 5000, problems: &problems))
        #expect(problems.isEmpty)
        #expect(counts.filesRead == [layout.auditLog, layout.auditLog + ".1"])
        #expect(counts.lastHour == window(expected(newer, since: now - 3600), since: now - 3600))
        #expect(counts.lastDay == window(expected(older + newer, since: now - 86_400), since: now - 86_400))
        #expect(counts.sinceStart == window(expected(newer, since: now - 5000), since: now - 5000))
    }

    @Test func theRotatedFileIsLeftAloneWhenTheLogReachesBackFarEnough() throws {
        let root = try StateRoot()
        defer { root.remove() }
        let all = lines(count: 200, span: 2 * 86_400, endingBefore: now)
        try root.write("audit.jsonl.1", "garbage\n")
        try root.write("audit.jsonl", all.map { StateRoot.auditLine(at: $0.time, $0.decision) + "\n" }.joined())
        let layout = DaemonConfig.defaults(stateRoot: root.path).layout
        var problems: [String] = []
        let counts = try #require(StatusReader.decisions(layout: layout, now: now, startedAt: nil, problems: &problems))
        #expect(counts.filesRead == [layout.auditLog])
        #expect(counts.unreadableLines == 0 && counts.sinceStart == nil)
        #expect(counts.lastDay.complete)
    }

    @Test func countsAreAFloorWhenOlderLinesAreOnlyCompressed() throws {
        let root = try StateRoot()
        defer { root.remove() }
        let newer = lines(count: 20, span: 7000, endingBefore: now)
        try root.write("audit.jsonl", newer.map { StateRoot.auditLine(at: $0.time, $0.decision) + "\n" }.joined())
        let layout = DaemonConfig.defaults(stateRoot: root.path).layout
        var problems: [String] = []
        // No rotation at all: the log began within the day, so the day is whole.
        var counts = try #require(StatusReader.decisions(layout: layout, now: now, startedAt: nil, problems: &problems))
        #expect(counts.lastHour.complete && counts.lastDay.complete)
        // logrotate compressed the older lines: the day is a floor, the hour is whole.
        try root.write("audit.jsonl.1.gz", "")
        counts = try #require(StatusReader.decisions(layout: layout, now: now, startedAt: nil, problems: &problems))
        #expect(counts.lastHour.complete && !counts.lastDay.complete)
        #expect(counts.lastDay == window(expected(newer, since: 0), since: now - 86_400).with(complete: false))
        #expect(problems.isEmpty)
    }

    @Test func noAuditLogYetIsNothingRouted() throws {
        let root = try StateRoot()
        defer { root.remove() }
        var problems: [String] = []
        let counts = try #require(StatusReader.decisions(layout: DaemonConfig.defaults(stateRoot: root.path).layout,
                                                         now: now, startedAt: now - 10, problems: &problems))
        #expect(counts.lastDay.total == 0 && counts.sinceStart?.total == 0 && counts.filesRead.isEmpty && problems.isEmpty)
    }
}

extension DecisionCounts.Window {
    func with(complete: Bool) -> Self {
        var copy = self
        copy.complete = complete
        return copy
    }
}
