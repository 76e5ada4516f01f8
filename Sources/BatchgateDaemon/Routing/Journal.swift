#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateAlerts
import BatchgateSystem

/// One manifest's route, decided before anything is written into an outcome folder and kept in
/// the batch journal until the manifest, its two reports and its audit line are all in place.
struct JournalEntry: Sendable, Equatable {
    /// A random id, unique per routed manifest (the audit line carries it).
    var id: String
    /// The name the manifest was dropped under (and has in `processing/`).
    var name: String
    /// The outcome folder.
    var decision: Decision
    /// The name in the outcome folder: `name`, or `name` with a `.2`, `.3`, … suffix.
    var finalName: String
    var receivedAt: String
    var routedAt: String

    var reportJSONName: String { ReportNames.json(of: finalName) }
    var reportTextName: String { ReportNames.text(of: finalName) }
    /// This route as the alerts about it name it.
    var routed: RoutedManifest {
        RoutedManifest(id: id, file: finalName, decision: decision, routedAt: routedAt)
    }

    /// One journal line.
    func journalLine() -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("id"); json.string(id)
        json.key("name"); json.string(name)
        json.key("decision"); json.string(decision.rawValue)
        json.key("finalName"); json.string(finalName)
        json.key("receivedAt"); json.string(receivedAt)
        json.key("routedAt"); json.string(routedAt)
        json.endObject()
        return json.bytes
    }

    /// Reads a journal line back; nil for a line a crash cut short.
    init?(journalLine line: ArraySlice<UInt8>) {
        guard let element = try? JSONParser.parse(line), case .object(let members) = element.value else { return nil }
        func text(_ key: String) -> String? {
            members.first { $0.key == key }.flatMap { if case .string(let value) = $0.value { value } else { nil } }
        }
        guard let id = text("id"), let name = text("name"), let decisionText = text("decision"),
              let decision = Decision(rawValue: decisionText), let finalName = text("finalName"),
              let receivedAt = text("receivedAt"), let routedAt = text("routedAt")
        else { return nil }
        self.init(id: id, name: name, decision: decision, finalName: finalName, receivedAt: receivedAt, routedAt: routedAt)
    }

    /// The journal line that records a route as audited: `{"audited":"<id>"}`.
    static func auditedLine(_ id: String) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("audited"); json.string(id)
        json.endObject()
        return json.bytes
    }

    /// The id a journal line records as audited, if it is such a line.
    static func auditedIDs(journalLine line: ArraySlice<UInt8>) -> [String] {
        guard line.first == UInt8(ascii: "{"), line.count < 256,
              let element = try? JSONParser.parse(line), case .object(let members) = element.value,
              members.count == 1, members[0].key == "audited", case .string(let id) = members[0].value
        else { return [] }
        return [id]
    }

    init(id: String, name: String, decision: Decision, finalName: String, receivedAt: String, routedAt: String) {
        self.id = id
        self.name = name
        self.decision = decision
        self.finalName = finalName
        self.receivedAt = receivedAt
        self.routedAt = routedAt
    }

    /// A new random id: 16 hex digits.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.string(withUnsafeBytes(of: (generator.next() as UInt64).bigEndian, Array.init))
    }

    /// `count` new random ids, each as ``newID()`` makes one, drawn from the kernel in one call for
    /// a whole batch rather than one call per route. Should that call fail (the kernel's generator
    /// does not, once seeded at boot), each id is drawn as ``newID()`` draws it.
    static func newIDs(_ count: Int) -> [String] {
        guard count > 1, let bytes = try? System.randomBytes(count * 8) else { return (0..<count).map { _ in newID() } }
        return (0..<count).map { index in Hex.string(bytes[(index * 8)..<(index * 8 + 8)]) }
    }
}

/// The batch journals in `processing/` (step 3 of ``Router``; docs/routing.md): one file of
/// ``JournalEntry`` lines per batch, written before anything is created under the names it
/// reserves and removed once every route it names is finished, audit line included. A journal
/// kept for a later replay also records, in `{"audited":"<id>"}` lines, which of its routes are
/// audited already.
struct Journal {
    /// What every journal's name starts with; recovery replays the files so named, in name order.
    static let namePrefix = ".journal-"
    /// The prefix of a journal's replacement while it is written (``replace(_:with:)``); one a
    /// crash left is removed by recovery, and the journal it was to replace stands.
    static let replacementPrefix = ".new"

    let folder: HeldFolder
    let syncToDisk: Bool
    let log: Logger

    private func path(_ name: String) -> String { folder.path + "/" + name }

    private static func bytes(_ entries: [JournalEntry]) -> [UInt8] {
        var bytes: [UInt8] = []
        for entry in entries { bytes += entry.journalLine(); bytes.append(0x0A) }
        return bytes
    }

    /// Writes a new journal of these routes and returns its name; `counter` tells the journals of
    /// one run apart.
    func write(_ entries: [JournalEntry], counter: Int) throws(SystemError) -> String {
        // A random id, never a pid alone (a container's daemon is pid 1 on every run), and
        // created with O_EXCL: an older journal is never replaced.
        let name = Self.namePrefix + "\(JournalEntry.newID())-\(counter).jsonl"
        // createFile leaves no empty or torn journal behind (a full disk).
        let fd = try System.createFile(in: folder.fd, name, contents: Self.bytes(entries), describing: path(name))
        defer { System.close(fd) }
        if syncToDisk {
            // Durable before any report is created under a name it reserves: a power cut must not
            // leave reports that no journal explains.
            do {
                try System.fsync(fd, describing: path(name))
                try System.fsync(folder.fd, describing: folder.path)
            } catch {
                remove(name, because: "its routes are replayed at the next recovery")
                throw error
            }
        }
        return name
    }

    /// Replaces a journal's routes in one step: the new lines go to a replacement file (a name
    /// recovery does not read as a journal), flushed, then renamed over the journal.
    func replace(_ name: String, with entries: [JournalEntry]) throws(SystemError) {
        let replacement = Self.replacementPrefix + name
        // One an earlier try left: created anew below with O_EXCL.
        try System.unlinkIfPresent(in: folder.fd, replacement, describing: path(replacement))
        let fd = try System.createFile(in: folder.fd, replacement, contents: Self.bytes(entries), describing: path(replacement))
        defer { System.close(fd) }
        do {
            if syncToDisk { try System.fsync(fd, describing: path(replacement)) }
            try System.rename(in: folder.fd, replacement, to: folder.fd, name, describing: path(name))
            if syncToDisk { try System.fsync(folder.fd, describing: folder.path) }
        } catch {
            remove(replacement, because: "the journal it was to replace stands")
            throw error
        }
    }

    /// Records in a journal that is kept that these routes of it are audited: a replay, however
    /// much later and however long the audit log has grown, then never audits them again.
    func markAudited(_ ids: [String], in name: String) throws(SystemError) {
        guard !ids.isEmpty else { return }
        var bytes: [UInt8] = []
        for id in ids { bytes += JournalEntry.auditedLine(id); bytes.append(0x0A) }
        let fd = try System.open(in: folder.fd, name, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW, describing: path(name))
        defer { System.close(fd) }
        try System.writeAll(fd, bytes, describing: path(name))
        if syncToDisk { try System.fsync(fd, describing: path(name)) }
    }

    /// The routes a journal names, and the ids it records as audited. A line a crash cut short
    /// is no route.
    func read(_ name: String) throws(SystemError) -> (entries: [JournalEntry], audited: [String]) {
        let fd = try System.open(in: folder.fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, describing: path(name))
        defer { System.close(fd) }
        let lines = try System.readAll(fd, describing: path(name)).split(separator: 0x0A)
        return (lines.compactMap { JournalEntry(journalLine: $0) }, lines.flatMap { JournalEntry.auditedIDs(journalLine: $0) })
    }

    /// Removes a journal (or a replacement), logging a failure, with `consequence` when given
    /// (what the file left behind means): nothing here can do more than say so. A journal of
    /// finished routes left behind is harmless: its replay finds every route audited.
    func remove(_ name: String, because consequence: String? = nil) {
        do {
            try System.unlinkIfPresent(in: folder.fd, name, describing: path(name))
        } catch {
            log.warning("cannot remove the journal \(path(name)): \(String(cString: strerror(error.errno)))" + (consequence.map { "; " + $0 } ?? ""))
        }
    }
}
