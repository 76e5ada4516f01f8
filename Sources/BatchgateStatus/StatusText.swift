import BatchgateCore
import BatchgateSystem

/// ``ServiceStatus`` for a person at a terminal: aligned columns, ages such as `3m 20s` or
/// `2h 5m`, each with its absolute time in UTC.
public enum StatusText {
    /// The whole report, ending with a newline.
    public static func render(_ status: ServiceStatus) -> String {
        var lines = daemonLines(status)
        lines.append("")
        lines += decisionLines(status.decisions)
        lines.append("")
        lines += folderLines(status)
        lines.append("")
        lines += alertLines(status)
        lines.append("")
        lines += catalogLines(status)
        if !status.problems.isEmpty {
            lines.append("")
            lines.append("not read (the rest above was):")
            lines += status.problems.map { "  " + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Parts

    /// Whether the daemon runs, its pid and start; the state root; when this was read.
    static func daemonLines(_ status: ServiceStatus) -> [String] {
        let daemon = status.daemon
        var first: String
        if daemon.running {
            first = "batchgate is running"
            first += daemon.pid.map { ", pid \($0)" } ?? " (pid unknown)"
            first += ", started " + (daemon.startedAt.map { ago($0, at: status.readAt) } ?? "unknown (this user cannot read the process in /proc)")
        } else {
            first = "batchgate is not running"
            if let pid = daemon.pid { first += " (pid \(pid) in .batchgate.lock is from its last run)" }
        }
        return [first, "state root: \(status.stateRoot)", "read at:    \(time(status.readAt))"]
    }

    /// Manifests per decision, one column per window.
    static func decisionLines(_ decisions: DecisionCounts?) -> [String] {
        guard let decisions else { return ["manifests: audit.jsonl could not be read (below)"] }
        var windows = [("last hour", decisions.lastHour), ("last day", decisions.lastDay)]
        if let start = decisions.sinceStart { windows.append(("since start", start)) }
        var rows = [["manifests"] + windows.map(\.0)]
        for decision in Decision.allCases {
            rows.append(["  " + decision.rawValue] + windows.map { count($0.1[decision], complete: $0.1.complete) })
        }
        rows.append(["  total"] + windows.map { count($0.1.total, complete: $0.1.complete) })
        var lines = table(rows, rightAligned: Set(1..<(windows.count + 1)))
        if windows.contains(where: { !$0.1.complete }) {
            lines.append("  (≥: older audit lines are only in compressed or older rotated files, not read)")
        }
        if decisions.unreadableLines > 0 {
            lines.append("  (\(decisions.unreadableLines) unreadable \(decisions.unreadableLines == 1 ? "line" : "lines") skipped)")
        }
        return lines
    }

    /// Files waiting in the inbox and `processing/`.
    static func folderLines(_ status: ServiceStatus) -> [String] {
        var rows = [["waiting", "files", "oldest"]]
        for folder in status.folders {
            rows.append(["  " + folder.name, folder.count.map(String.init) ?? "?",
                         folder.oldestSince.map { age($0, at: status.readAt) } ?? "-"])
        }
        return table(rows, rightAligned: [1])
    }

    /// One row per sink, then the last dead letters' answers and the unreadable alert files.
    static func alertLines(_ status: ServiceStatus) -> [String] {
        guard !status.sinks.isEmpty || !status.unreadableAlerts.isEmpty else { return ["alerts: no sink configured"] }
        var rows = [["alerts", "type", "pending", "oldest", "dead", "last given up"]]
        for sink in status.sinks {
            rows.append(["  " + sink.name, sink.type ?? "(not configured)", sink.pending.map(String.init) ?? "?",
                         sink.oldestPendingSince.map { age($0, at: status.readAt) } ?? "-", sink.dead.map(String.init) ?? "?",
                         sink.lastDeadAt.map { age($0, at: status.readAt) } ?? "-"])
        }
        var lines = table(rows, rightAligned: [2, 4])
        for sink in status.sinks {
            if let answer = sink.lastDeadAnswer { lines.append("  \(sink.name), last dead letter: \(shortened(answer, to: 160))") }
        }
        if !status.unreadableAlerts.isEmpty {
            lines.append("  \(status.unreadableAlerts.count) unreadable alert \(status.unreadableAlerts.count == 1 ? "file" : "files"):")
            lines += status.unreadableAlerts.map { "    " + $0 }
        }
        return lines
    }

    /// Where the catalog comes from, and each Metrc part's last sync.
    static func catalogLines(_ status: ServiceStatus) -> [String] {
        let catalog = status.catalog
        var files: [String] = []
        if let items = catalog.itemsFile { files.append("items \(items)") }
        if let packages = catalog.packagesFile { files.append("packages \(packages)") }
        guard let metrc = catalog.metrc else {
            return ["catalog: " + (files.isEmpty ? "none configured" : "files only: " + files.joined(separator: ", "))]
        }
        var lines = ["catalog: Metrc \(metrc.server), cache \(metrc.cache)"]
        if let since = metrc.unreachableSince {
            lines.append("  Metrc unreachable since \(time(since)) (\(ElapsedText.format(status.readAt - since))): \(metrc.unreachableReason ?? "not known")")
        }
        if !metrc.cacheRead {
            lines.append("  no cache read: never synced on this state root, or unreadable (below)")
        } else {
            var rows: [[String]] = []
            for part in metrc.parts {
                guard let synced = part.syncedAt else {
                    rows.append(["  " + part.name, "never synced", ""])
                    continue
                }
                rows.append(["  " + part.name, "synced " + ago(synced, at: status.readAt), part.records.map { "\($0) records" } ?? ""])
            }
            lines += table(rows, rightAligned: [])
        }
        if !files.isEmpty { lines.append("  files laid over it: " + files.joined(separator: ", ")) }
        return lines
    }

    // MARK: Words for times

    /// `2026-11-27T10:01:40Z`: a time to the second, in UTC.
    static func time(_ seconds: Double) -> String {
        let full = Timestamp.iso8601(seconds)
        guard let dot = full.lastIndex(of: ".") else { return full }
        return String(full[..<dot]) + "Z"
    }

    /// `3m 20s (2026-11-27T10:01:40Z)`: how old something dated `seconds` is at `now`.
    static func age(_ seconds: Double, at now: Double) -> String {
        "\(ElapsedText.format(now - seconds)) (\(time(seconds)))"
    }

    /// `2026-11-27T10:01:40Z (3m 20s ago)`.
    static func ago(_ seconds: Double, at now: Double) -> String {
        now >= seconds ? "\(time(seconds)) (\(ElapsedText.format(now - seconds)) ago)" : "\(time(seconds)) (in the future: check the clock)"
    }

    // MARK: Layout

    /// A count, marked `≥` when the window reaches before the lines read.
    private static func count(_ value: Int, complete: Bool) -> String {
        complete ? String(value) : "≥\(value)"
    }

    /// `text` cut to `limit` characters, with `…` when it was longer.
    private static func shortened(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// Rows laid out in columns two spaces apart, each as wide as its widest cell; the columns in
    /// `rightAligned` are aligned to the right (numbers), the others to the left. Trailing spaces
    /// are dropped.
    static func table(_ rows: [[String]], rightAligned: Set<Int>) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            var line = ""
            for (column, cell) in row.enumerated() {
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                if column > 0 { line += "  " }
                line += rightAligned.contains(column) ? padding + cell : cell + padding
            }
            while line.last == " " { line.removeLast() }
            return line
        }
    }
}
