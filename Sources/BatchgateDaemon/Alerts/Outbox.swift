#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore

/// One alert waiting for one sink: a file in `outbox/` until it is delivered, or in
/// `outbox/dead/` once given up on.
public struct OutboxEntry: Sendable, Equatable {
    /// Stable across retries and restarts (sent as `Idempotency-Key`): the route id and the sink.
    public var id: String
    public var sink: String
    /// The kind of sink the alert was rendered for.
    public var kind: DaemonConfig.AlertSink.SinkType
    /// Wall-clock seconds since 1970 when the alert was written.
    public var createdAt: Double
    public var attempts: Int
    /// Wall-clock seconds since 1970 of the next attempt.
    public var nextAttemptAt: Double
    /// What the last attempt got, for the log and the dead letter.
    public var lastAnswer: String?
    /// The body to send, already rendered for the sink's kind (JSON for HTTP sinks, the plain
    /// text of the mail for e-mail).
    public var alert: String
    /// The e-mail's subject (e-mail sinks only).
    public var subject: String?
    /// One line for a digest that replaces many alerts (``AlertMessage/digestLine``).
    public var digestLine: String
    /// The digest this alert went out in, recorded before the digest is sent: a retry, or a
    /// restart after a crash between sending and removing, sends that same digest (same id)
    /// again instead of a new one.
    public var digestID: String?

    public init(routeID: String, sink: String, kind: DaemonConfig.AlertSink.SinkType = .webhook, createdAt: Double, alert: String,
                subject: String? = nil, digestLine: String = "") {
        self.id = "\(routeID)-\(OutboxEntry.safeName(sink))"
        self.sink = sink
        self.kind = kind
        self.subject = subject
        self.createdAt = createdAt
        self.attempts = 0
        self.nextAttemptAt = createdAt
        self.lastAnswer = nil
        self.alert = alert
        self.digestLine = digestLine
    }

    /// The entry's file name.
    public var fileName: String { id + ".json" }

    /// A sink name reduced to letters, digits, `-` and `_`, for use in a file name.
    static func safeName(_ name: String) -> String {
        String(name.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
                ? Character(scalar) : "_"
        })
    }

    func encoded() -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("id"); json.string(id)
        json.key("sink"); json.string(sink)
        json.key("kind"); json.string(kind.rawValue)
        json.key("createdAt"); json.number(createdAt)
        json.key("attempts"); json.int(attempts)
        json.key("nextAttemptAt"); json.number(nextAttemptAt)
        json.key("lastAnswer"); json.string(lastAnswer)
        json.key("alert"); json.string(alert)
        json.key("subject"); json.string(subject)
        json.key("digestLine"); json.string(digestLine)
        json.key("digestId"); json.string(digestID)
        json.endObject()
        return json.bytes + [0x0A]
    }

    init?(decoding bytes: [UInt8]) {
        guard let root = try? JSONParser.parse(bytes), case .object(let members) = root.value else { return nil }
        func value(_ key: String) -> JSONValue? { members.first { $0.key == key }?.value }
        guard case .string(let id)? = value("id"), case .string(let sink)? = value("sink"),
              case .number(let createdAt)? = value("createdAt"), case .number(let attempts)? = value("attempts"),
              case .number(let nextAttemptAt)? = value("nextAttemptAt"), case .string(let alert)? = value("alert")
        else { return nil }
        self.id = id
        self.sink = sink
        if case .string(let kind)? = value("kind"), let known = DaemonConfig.AlertSink.SinkType(rawValue: kind) { self.kind = known } else { self.kind = .webhook }
        self.createdAt = createdAt
        self.attempts = Int(attempts)
        self.nextAttemptAt = nextAttemptAt
        if case .string(let answer)? = value("lastAnswer") { lastAnswer = answer } else { lastAnswer = nil }
        self.alert = alert
        if case .string(let subject)? = value("subject") { self.subject = subject } else { self.subject = nil }
        if case .string(let line)? = value("digestLine") { digestLine = line } else { digestLine = "" }
        if case .string(let digest)? = value("digestId") { digestID = digest } else { digestID = nil }
    }
}

/// The alerts not yet delivered, one file each in `outbox/`, written durably (temporary name,
/// fsync, rename) so a restart resumes delivery; given-up alerts move to `outbox/dead/`.
///
/// The router writes a new alert as a draft (`.<id>.json.draft`) before its manifest moves and
/// publishes it (renames it to `<id>.json`) after; senders see published entries only, and each
/// entry is rewritten only by the sender of its sink. Every call works on one file by name through
/// descriptors opened once, so the router's queue and the senders' queues may call it at once.
public final class Outbox: @unchecked Sendable {
    public let folder: String
    public let deadFolder: String
    private let held: HeldFolder
    private let heldDead: HeldFolder
    private var folderFD: Int32 { held.fd }
    private var deadFD: Int32 { heldDead.fd }

    public init(layout: StateLayout) throws(SystemError) {
        folder = layout.outbox
        deadFolder = layout.outboxDead
        held = try HeldFolder(folder)
        heldDead = try HeldFolder(deadFolder)
    }

    /// Checks both folders against their paths (see ``HeldFolder``): the paths of those opened
    /// again; throws when one is gone.
    func checkFolders() throws(HeldFolder.Problem) -> [String] {
        var reopened: [String] = []
        if try held.check() { reopened.append(folder) }
        if try heldDead.check() { reopened.append(deadFolder) }
        return reopened
    }

    /// Writes (or rewrites) entries: each under a temporary name, flushed, then renamed into place.
    public func save(_ entries: [OutboxEntry], sync: Bool) throws(SystemError) {
        for entry in entries {
            try write(entry, into: folderFD, folder: folder, sync: sync)
        }
        if sync && !entries.isEmpty { try System.fsync(folderFD, describing: folder) }
    }

    // MARK: Drafts (the router)

    /// Writes an alert as a draft, invisible to the senders until ``publish(_:)``. The caller
    /// flushes the filesystem before the manifest moves.
    public func writeDraft(_ entry: OutboxEntry) throws(SystemError) {
        let draft = Self.draftName(entry)
        _ = unlinkat(folderFD, draft, 0)
        let fd = try System.createFile(in: folderFD, draft, contents: entry.encoded(), describing: folder + "/" + draft)
        System.close(fd)
    }

    /// Gives a draft its name. A name already there stays (the draft is dropped); a draft already
    /// published or gone is no error. Returns true when this call published it.
    @discardableResult
    public func publish(_ entry: OutboxEntry) throws(SystemError) -> Bool {
        let draft = Self.draftName(entry)
        do {
            try System.renameNoReplace(from: folderFD, draft, to: folderFD, entry.fileName, describing: folder + "/" + entry.fileName)
            return true
        } catch where error.errno == EEXIST {
            _ = unlinkat(folderFD, draft, 0)
            return false
        } catch where error.errno == ENOENT {
            return false
        }
    }

    /// The drafts written for a route, whatever sinks they are for: after a crash they are the
    /// only record of alerts owed for a manifest that has moved, even if the config changed since.
    public func drafts(ofRoute routeID: String) -> [OutboxEntry] {
        guard let names = try? System.listDirectory(folder) else { return [] }
        return names.compactMap { entry -> OutboxEntry? in
            guard let name = entry.name, name.hasPrefix("." + routeID + "-"), name.hasSuffix(".json.draft") else { return nil }
            let fd = openat(folderFD, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { return nil }
            defer { System.close(fd) }
            guard let bytes = try? System.readAll(fd, limit: 4 << 20, describing: folder + "/" + name) else { return nil }
            return OutboxEntry(decoding: bytes)
        }.sorted { $0.id < $1.id }
    }

    /// Removes a draft that will not be published (its manifest has not moved, and the config in
    /// force no longer sends that alert).
    public func dropDraft(_ entry: OutboxEntry) {
        _ = unlinkat(folderFD, Self.draftName(entry), 0)
    }

    /// Whether the entry's draft is waiting to be published.
    public func hasDraft(_ entry: OutboxEntry) -> Bool { exists(Self.draftName(entry)) }

    /// Whether the entry is published and not yet delivered or given up.
    public func isWaiting(_ entry: OutboxEntry) -> Bool { exists(entry.fileName) }

    /// Flushes the outbox folder, making published names durable.
    public func flush() throws(SystemError) { try System.fsync(folderFD, describing: folder) }

    static func draftName(_ entry: OutboxEntry) -> String { "." + entry.fileName + ".draft" }

    private func exists(_ name: String) -> Bool {
        var info = stat()
        return fstatat(folderFD, name, &info, AT_SYMLINK_NOFOLLOW) == 0
    }

    // MARK: Delivery (the senders)

    /// Every entry waiting, oldest first. Files that cannot be read are reported, never deleted.
    public func waiting() throws(SystemError) -> (entries: [OutboxEntry], unreadable: [String]) {
        var entries: [OutboxEntry] = []
        var unreadable: [String] = []
        for entry in try System.listDirectory(folder) {
            guard let name = entry.name, name.hasSuffix(".json"), !name.hasPrefix(".") else { continue }
            let fd = openat(folderFD, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { unreadable.append(name); continue }
            defer { System.close(fd) }
            if let bytes = try? System.readAll(fd, limit: 4 << 20, describing: folder + "/" + name),
               let decoded = OutboxEntry(decoding: bytes) {
                entries.append(decoded)
            } else {
                unreadable.append(name)
            }
        }
        return (entries.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }, unreadable)
    }

    /// Removes a delivered entry; with `sync`, flushes the folder so it stays removed.
    public func remove(_ entry: OutboxEntry, sync: Bool = false) throws(SystemError) {
        if unlinkat(folderFD, entry.fileName, 0) != 0 && errno != ENOENT {
            throw SystemError("remove", folder + "/" + entry.fileName, errno: errno)
        }
        if sync { try System.fsync(folderFD, describing: folder) }
    }

    /// Moves a given-up entry to `outbox/dead/`, with the reason recorded as its last answer.
    public func bury(_ entry: OutboxEntry, reason: String, sync: Bool) throws(SystemError) {
        var dead = entry
        dead.lastAnswer = reason
        try write(dead, into: deadFD, folder: deadFolder, sync: sync)
        if sync { try System.fsync(deadFD, describing: deadFolder) }
        try remove(entry, sync: sync)
    }

    private func write(_ entry: OutboxEntry, into directory: Int32, folder: String, sync: Bool) throws(SystemError) {
        let draft = "." + entry.fileName + ".tmp"
        _ = unlinkat(directory, draft, 0)
        let fd = try System.createFile(in: directory, draft, contents: entry.encoded(), describing: folder + "/" + draft)
        defer { System.close(fd) }
        if sync { try System.fsync(fd, describing: folder + "/" + draft) }
        try System.retrying("rename", folder + "/" + entry.fileName) { renameat(directory, draft, directory, entry.fileName) }
    }
}
