#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateSystem

/// `audit.jsonl` in the state root: one JSON line per routed manifest, appended and flushed.
/// Reopened on SIGUSR1 (and on SIGHUP, with the reload), so logrotate can move the file away.
final class AuditLog {
    let path: String
    private var fd: Int32 = -1

    /// The bytes of a torn last line cut off when the log was opened (0 when it ended whole).
    private(set) var cutAtOpen = 0

    /// Opens the log at `path`, first cutting a torn last line (``cutTornEnd()``).
    init(path: String) throws(SystemError) {
        self.path = path
        try open()
        cutAtOpen = try cutTornEnd()
    }

    /// The most bytes looked back for the last line's start: far more than any line the daemon
    /// writes (a report's summary and its tags), so a longer run without one is no line of ours.
    static let longestLine = 1 << 20

    /// Cuts the log back to its last whole line when it ends without a newline. A `kill -9` during
    /// an append of many lines can leave part of the last one (the kernel stops a multi-page write
    /// at a page when the process is killed). Left there, the next line would run on from it, so
    /// that both read as one bad line; and the fragment may hold its manifest's id, which recovery
    /// would take for a line already written and not write again, losing that manifest's line.
    /// The fragment was never a whole line, and its manifest's line is written again by recovery.
    /// Returns the bytes cut.
    func cutTornEnd() throws(SystemError) -> Int {
        let size = Int(try System.fileStatus(of: fd, describing: path).st_size)
        guard size > 0 else { return 0 }
        let start = max(0, size - Self.longestLine)
        let tail = try System.read(fd, count: size - start, at: Int64(start), describing: path)
        guard tail.last != 0x0A else { return 0 }
        if let newline = tail.lastIndex(of: 0x0A) {
            let keep = start + newline + 1
            try System.truncate(fd, to: Int64(keep), describing: path)
            return size - keep
        }
        guard start == 0 else {
            // No newline in the last megabyte: not a line the daemon wrote; close it off as one bad
            // line rather than cut what may be someone's.
            try System.writeAll(fd, [0x0A], describing: path)
            return 0
        }
        try System.truncate(fd, to: 0, describing: path)
        return size
    }

    deinit { if fd >= 0 { System.close(fd) } }

    private func open() throws(SystemError) {
        fd = try System.open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode: 0o640)
    }

    /// Makes sure the lines go to the file at ``path``: when it was deleted, renamed or replaced
    /// while the daemon ran (a hand-made rotation without SIGHUP), a file is opened at the path
    /// again, so no line goes into a file nobody can see. True when it was.
    func followPath() throws(SystemError) -> Bool {
        // Any failure to look (the path gone, above all) is a reason to open the path again.
        if let named = try? System.linkStatus(path), let held = try? System.fileStatus(of: fd, describing: path),
           named.st_dev == held.st_dev, named.st_ino == held.st_ino {
            return false
        }
        try reopen()
        return true
    }

    /// Opens the file again by name (after logrotate has renamed it), then closes the one held:
    /// if the open fails, the lines go on into the file held.
    func reopen() throws(SystemError) {
        let old = fd
        try open()
        if old >= 0 { System.close(old) }
    }

    /// Appends lines (each a complete JSON object) in one write, then flushes them to disk when
    /// `sync` is set.
    func append(_ lines: [[UInt8]], sync: Bool) throws(SystemError) {
        guard !lines.isEmpty else { return }
        var bytes: [UInt8] = []
        for line in lines {
            bytes += line
            bytes.append(0x0A)
        }
        // Where the log ends now: a write cut short (a full filesystem) is cut back to it, so the
        // lines are appended again whole, never run on from half a line.
        let end = try? System.fileStatus(of: fd, describing: path).st_size
        do {
            try System.writeAll(fd, bytes, describing: path)
        } catch {
            // The write's error is the one to report. Should the cut fail too, the next lines
            // start after half a line, which a reader of JSON lines skips as one bad line.
            if let end { try? System.truncate(fd, to: Int64(end), describing: path) }
            throw error
        }
        if sync { try System.fsync(fd, describing: path) }
    }

    /// The ids of the lines among the last `window` bytes of the log, read once per recovery so a
    /// manifest routed just before a crash is not audited twice.
    func recentIDs(window: Int = 16 << 20) -> Set<String> {
        // Unreadable, the tail tells nothing: the journals' own audited lines still do.
        guard let reader = try? System.open(path, O_RDONLY | O_CLOEXEC) else { return [] }
        defer { System.close(reader) }
        guard let info = try? System.fileStatus(of: reader, describing: path) else { return [] }
        let size = Int(info.st_size)
        let start = max(0, size - window)
        guard let bytes = try? System.read(reader, count: size - start, at: Int64(start), describing: path), !bytes.isEmpty else { return [] }
        let count = bytes.count
        let marker = Array("\"id\":\"".utf8)
        var ids = Set<String>()
        for line in bytes[..<count].split(separator: 0x0A) {
            // The id is the second field of every line, so a short plain scan finds it.
            var index = line.startIndex
            let limit = min(line.endIndex - marker.count, line.startIndex + 128)
            while index <= limit, !line[index..<(index + marker.count)].elementsEqual(marker) { index += 1 }
            guard index <= limit else { continue }
            let rest = line[(index + marker.count)...]
            if let end = rest.firstIndex(of: UInt8(ascii: "\"")) { ids.insert(String(decoding: rest[..<end], as: UTF8.self)) }
        }
        return ids
    }

    /// The audit line for one routed manifest.
    static func line(for entry: JournalEntry, report: ManifestReport) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("time"); json.string(entry.routedAt)
        json.key("id"); json.string(entry.id)
        json.key("file"); json.string(entry.finalName)
        json.key("originalName"); json.string(entry.name)
        json.key("folder"); json.string(entry.decision.rawValue)
        json.key("decision"); json.string(report.decision.rawValue)
        json.key("receivedAt"); json.string(entry.receivedAt)
        json.key("tags"); json.strings(report.packages.compactMap(\.tag))
        json.key("rules"); json.strings(Array(Set(report.packages.flatMap(\.rules))).sorted().map(\.rawValue))
        json.key("batchNumbers"); json.strings(report.packages.compactMap(\.productionBatchNumber))
        json.key("summary"); json.string(report.summary)
        json.endObject()
        return json.bytes
    }
}
