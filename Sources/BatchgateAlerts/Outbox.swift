#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateSystem
import BatchgateConfig

/// One alert waiting for one sink: a file in `outbox/` until it is delivered, or in
/// `outbox/dead/` once given up on.
public struct OutboxEntry: Sendable, Equatable {
    /// Stable across retries and restarts (sent as `Idempotency-Key`): the route id and the sink.
    public var id: String
    var sink: String
    /// The kind of sink the alert was rendered for.
    var kind: DaemonConfig.AlertSink.SinkType
    /// Wall-clock seconds since 1970 when the alert was written.
    var createdAt: Double
    var attempts: Int
    /// Wall-clock seconds since 1970 of the next attempt.
    var nextAttemptAt: Double
    /// What the last attempt got, for the log and the dead letter.
    var lastAnswer: String?
    /// The body to send, already rendered for the sink's kind (JSON for HTTP sinks, the plain
    /// text of the mail for e-mail).
    var alert: String
    /// The e-mail's subject (e-mail sinks only).
    var subject: String?
    /// One line for a digest that replaces many alerts (``AlertMessage/digestLine``).
    var digestLine: String
    /// What happened: `manifest.needs-batch` (``AlertDelivery/event``); nil in an entry an older
    /// version wrote.
    var event: String?
    /// The alert's minimal version (``SinkKind/fallback(_:)``), sent once if the receiver refuses
    /// `alert` for its content; nil in an entry an older version wrote (it has none to send).
    var fallback: String?
    /// Why the receiver refused `alert` (its answer), once it has: from then on the entry goes as
    /// its `fallback`, alone and under an id of its own (``minimalID``), and a second refusal
    /// buries it with both answers. A dead letter has none (``Outbox/bury(_:reason:cause:sync:)``).
    var refusal: String?
    /// The digest this alert went out in, recorded before the digest is sent: a retry, or a
    /// restart after a crash between sending and removing, sends that same digest (same id)
    /// again instead of a new one.
    var digestID: String?
    /// Whether the alert is a ``ServiceNotice`` rather than about a manifest: it is always sent on
    /// its own, never in a digest (a person must not find "Metrc unreachable" as one line among
    /// fifty manifests), and a draft of it left by a crash is published at the next start, as no
    /// route's recovery would. False in an entry an older version wrote (every one was about a
    /// manifest).
    var isServiceNotice = false
    /// Wall-clock seconds since 1970 when `batchgate alert retry` moved it back from
    /// `outbox/dead/`: its age, which `maxAge` limits, counts from then, so that a letter sent
    /// back gets as long as a new alert; nil for one never moved back.
    var retriedAt: Double?
    /// Why it was given up, set on a dead letter (``Outbox/bury(_:reason:cause:sync:)``); nil
    /// while it waits. A dead letter an older version wrote has none and reads as
    /// ``BuriedFor/unknown``.
    var buriedFor: BuriedFor?

    init(routeID: String, sink: String, kind: DaemonConfig.AlertSink.SinkType = .webhook, createdAt: Double, alert: String,
         subject: String? = nil, digestLine: String = "", event: String? = nil, fallback: String? = nil) {
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
        self.event = event
        self.fallback = fallback
    }

    /// The body that goes next: the minimal version once the full one was refused.
    var body: String { refusal == nil ? alert : fallback ?? alert }

    /// The id the minimal version goes under (`Idempotency-Key`, `webhook-id`, `ce-id`, the
    /// Message-ID): not the full alert's, since a receiver that kept that id while refusing the
    /// full alert would drop a second message under it as a repeat, or refuse another body with it.
    var minimalID: String { id + "-minimal" }

    /// The entry's file name.
    var fileName: String { id + ".json" }

    /// When its age starts, for the maximum age: when it was written, or moved back from `outbox/dead/`.
    var ageStart: Double { retriedAt ?? createdAt }

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
        json.key("event"); json.string(event)
        json.key("fallback"); json.string(fallback)
        json.key("refusal"); json.string(refusal)
        json.key("serviceNotice"); json.bool(isServiceNotice)
        if let retriedAt { json.key("retriedAt"); json.number(retriedAt) }
        if let buriedFor { json.key("buriedFor"); json.string(buriedFor.rawValue) }
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
        if case .string(let event)? = value("event") { self.event = event } else { event = nil }
        if case .string(let fallback)? = value("fallback") { self.fallback = fallback } else { fallback = nil }
        if case .string(let refusal)? = value("refusal") { self.refusal = refusal } else { refusal = nil }
        if case .bool(let notice)? = value("serviceNotice") { isServiceNotice = notice }
        if case .number(let retried)? = value("retriedAt") { retriedAt = retried }
        if case .string(let cause)? = value("buriedFor") { buriedFor = BuriedFor(rawValue: cause) ?? .unknown }
    }
}

/// Why an alert was given up, recorded on its dead letter: what `batchgate alert retry` tells a
/// person before sending it again.
public enum BuriedFor: String, Sendable, Equatable {
    /// The receiver refused what the alert says (its full version, and its minimal one if it has
    /// one): sent again unchanged, it is likely refused again.
    case content
    /// The receiver could not be reached or failed until the alert's maximum age.
    case delivery
    /// The sink is set up wrong, or is gone: a refused credential or address, a refused login
    /// or recipient, no sink of that name or kind any more.
    case configuration
    /// A dead letter written before the cause was recorded.
    case unknown
}

/// The alerts not yet delivered, one file each in `outbox/`, so that a restart resumes delivery;
/// given-up alerts move to `outbox/dead/`.
///
/// An alert file is in one of these states, each with its own word and name on disk:
/// - **draft** (`.<id>.json.draft`): written by the router before its manifest moves, invisible
///   to the senders; after a crash it is the only record of the alerts owed for that manifest.
///   A service notice is a draft only for the moment ``post(_:)`` takes to publish it.
/// - **waiting** (`<id>.json`): published by the router once the manifest is in its folder; the
///   senders deliver it, and only the sender of its sink rewrites it (its next attempt, its digest).
/// - **dead** (`dead/<id>.json`): given up, kept for a person to read or move back.
///
/// Waiting and dead files are written under a **temporary** name (`.<id>.json.tmp`) and renamed
/// into place, so a reader never sees half a file. Every call works on one file by name through
/// descriptors opened once, so the router's queue and the senders' queues may call it at once.
public final class Outbox: @unchecked Sendable {
    public let folder: String
    let deadFolder: String
    private let held: HeldFolder
    private let heldDead: HeldFolder
    var folderFD: Int32 { held.fd }
    var deadFD: Int32 { heldDead.fd }

    public init(layout: StateLayout) throws(SystemError) {
        folder = layout.outbox
        deadFolder = layout.outboxDead
        held = try HeldFolder(folder)
        heldDead = try HeldFolder(deadFolder)
    }

    /// Checks both folders against their paths (see ``HeldFolder``): the paths of those opened
    /// again; throws when one is gone.
    public func checkFolders() throws(HeldFolder.Problem) -> [String] {
        var reopened: [String] = []
        if try held.check() { reopened.append(folder) }
        if try heldDead.check() { reopened.append(deadFolder) }
        return reopened
    }

    /// Writes (or rewrites) waiting entries: each under a temporary name, flushed, then renamed
    /// into place.
    func save(_ entries: [OutboxEntry], sync: Bool) throws(SystemError) {
        for entry in entries {
            try write(entry, into: folderFD, folder: folder, sync: sync)
        }
        if sync && !entries.isEmpty { try System.fsync(folderFD, describing: folder) }
    }

    // MARK: Drafts (the router)

    /// Writes an alert as a draft, invisible to the senders until ``publish(_:)``. A draft left
    /// by an earlier try is replaced. Not flushed: the caller flushes the filesystem before the
    /// manifest moves.
    public func writeDraft(_ entry: OutboxEntry) throws(SystemError) {
        try writeDraft(entry, sync: false)
    }

    /// Writes a draft, replacing one an earlier try left; with `sync`, its bytes are on disk
    /// before this returns.
    private func writeDraft(_ entry: OutboxEntry, sync: Bool) throws(SystemError) {
        let draft = Self.draftName(entry)
        let path = folder + "/" + draft
        try System.unlinkIfPresent(in: folderFD, draft, describing: path)
        let fd = try System.createFile(in: folderFD, draft, contents: entry.encoded(), describing: path)
        defer { System.close(fd) }
        if sync { try System.fsync(fd, describing: path) }
    }

    /// Turns a draft into a waiting entry by giving it its name. A name already there stays (the
    /// draft is dropped); a draft already published or gone is no error. Returns true when this
    /// call published it.
    @discardableResult
    public func publish(_ entry: OutboxEntry) throws(SystemError) -> Bool {
        let draft = Self.draftName(entry)
        do {
            try System.renameNoReplace(from: folderFD, draft, to: folderFD, entry.fileName, describing: folder + "/" + entry.fileName)
            return true
        } catch where error.errno == EEXIST {
            try System.unlinkIfPresent(in: folderFD, draft, describing: folder + "/" + draft)
            return false
        } catch where error.errno == ENOENT {
            return false
        }
    }

    /// The drafts written for a route, whatever sinks they are for: after a crash they are the
    /// only record of alerts owed for a manifest that has moved, even if the config changed since.
    /// Throws when the folder cannot be listed or a draft cannot be opened or read: an answer of
    /// "none" would lose those alerts, so the journal waits and recovery tries again. A draft
    /// that opens but does not decode (torn by a crash before the flush) is left out, since it was
    /// never flushed and so never promised; so is a symbolic link at a draft's name.
    public func drafts(ofRoute routeID: String) throws(SystemError) -> [OutboxEntry] {
        var drafts: [OutboxEntry] = []
        for entry in try System.listDirectory(folder) {
            guard let name = entry.name, name.hasPrefix("." + routeID + "-"), name.hasSuffix(".json.draft") else { continue }
            let path = folder + "/" + name
            let fd: Int32
            do {
                fd = try System.openForReading(in: folderFD, name, describing: path)
            } catch where error.errno == ELOOP {
                continue  // a symbolic link: never a draft the daemon wrote, and no retry would read it
            }
            defer { System.close(fd) }
            if let draft = OutboxEntry(decoding: try System.readAll(fd, limit: Self.largestFile, describing: path)) {
                drafts.append(draft)
            }
        }
        return drafts.sorted { $0.id < $1.id }
    }

    // MARK: Notices (the daemon, outside any route)

    /// Writes entries and publishes them durably at once, outside any route: what a
    /// ``ServiceNotice`` needs, as no manifest move waits for it. Each is written as a draft and
    /// flushed, then given its name, then the folder is flushed so the names stay. An entry
    /// already waiting under its name stays as it is (posting the same notice again sends it
    /// once). On a throw, the entries published before it stay published, and posting them all
    /// again is safe.
    func post(_ entries: [OutboxEntry]) throws(SystemError) {
        guard !entries.isEmpty else { return }
        // Each draft's bytes are on disk before it is renamed: whichever name a crash leaves, the
        // draft's or the published one, holds the whole entry (a draft left is published at the
        // next start, ``publishNoticeDrafts()``).
        for entry in entries { try writeDraft(entry, sync: true) }
        for entry in entries { try publish(entry) }
        try System.fsync(folderFD, describing: folder)
    }

    /// Publishes the drafts of service notices that a crash left between their flush and their
    /// publish (``post(_:)``): flushed, they were promised, and no route's recovery looks at them
    /// (they belong to none). Drafts of manifest alerts are the router's and stay as they are; so
    /// does a draft that does not decode (torn before its flush, so never promised) or a symbolic
    /// link at a draft's name. Returns the entries published.
    func publishNoticeDrafts() throws(SystemError) -> [OutboxEntry] {
        var published: [OutboxEntry] = []
        for listed in try System.listDirectory(folder) {
            guard let name = listed.name, name.hasPrefix("."), name.hasSuffix(".json.draft") else { continue }
            let path = folder + "/" + name
            let fd: Int32
            do {
                fd = try System.openForReading(in: folderFD, name, describing: path)
            } catch where error.errno == ELOOP {
                continue
            }
            defer { System.close(fd) }
            guard let draft = OutboxEntry(decoding: try System.readAll(fd, limit: Self.largestFile, describing: path)),
                  draft.isServiceNotice, Self.draftName(draft) == name else { continue }
            if try publish(draft) { published.append(draft) }
        }
        if !published.isEmpty { try System.fsync(folderFD, describing: folder) }
        return published
    }

    /// Removes a draft that will not be published (its manifest has not moved, and the config in
    /// force no longer sends that alert). A draft already gone is no error.
    public func dropDraft(_ entry: OutboxEntry) throws(SystemError) {
        let draft = Self.draftName(entry)
        try System.unlinkIfPresent(in: folderFD, draft, describing: folder + "/" + draft)
    }

    /// Whether the entry is published (waiting), not yet delivered or given up.
    public func isWaiting(_ entry: OutboxEntry) throws(SystemError) -> Bool {
        try System.exists(in: folderFD, entry.fileName, describing: folder + "/" + entry.fileName)
    }

    /// Flushes the outbox folder, making published names durable.
    public func flush() throws(SystemError) { try System.fsync(folderFD, describing: folder) }

    static func draftName(_ entry: OutboxEntry) -> String { "." + entry.fileName + ".draft" }

    /// The temporary name a waiting or dead entry is written under before it is renamed into place.
    static func temporaryName(_ entry: OutboxEntry) -> String { "." + entry.fileName + ".tmp" }

    /// The most bytes read back of one alert file, so that a stray huge file in `outbox/` cannot
    /// exhaust memory; a larger file does not decode (reported as unreadable, or as a draft left out).
    static let largestFile = 4 << 20

    // MARK: Delivery (the senders)

    /// Every entry waiting, oldest first. Files that cannot be opened, read or decoded are
    /// reported, never deleted (a person decides); only listing the folder can fail the call.
    func waiting() throws(SystemError) -> (entries: [OutboxEntry], unreadable: [String]) {
        var entries: [OutboxEntry] = []
        var unreadable: [String] = []
        for entry in try System.listDirectory(folder) {
            guard let name = entry.name, name.hasSuffix(".json"), !name.hasPrefix(".") else { continue }
            let path = folder + "/" + name
            do {
                let fd = try System.openForReading(in: folderFD, name, describing: path)
                defer { System.close(fd) }
                if let decoded = OutboxEntry(decoding: try System.readAll(fd, limit: Self.largestFile, describing: path)) {
                    entries.append(decoded)
                } else {
                    unreadable.append(name)
                }
            } catch where error.errno == ENOENT {
                // Delivered (removed by its sender) between the listing and the open: not waiting.
                continue
            } catch {
                unreadable.append(name)
            }
        }
        return (entries.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }, unreadable)
    }

    /// The entry waiting under `fileName` as it is on disk now; nil when there is none (delivered,
    /// given up) or it does not decode. Throws when it is there but cannot be opened or read.
    func entry(named fileName: String) throws(SystemError) -> OutboxEntry? {
        let path = folder + "/" + fileName
        let fd: Int32
        do {
            fd = try System.openForReading(in: folderFD, fileName, describing: path)
        } catch where error.errno == ENOENT {
            return nil
        }
        defer { System.close(fd) }
        return OutboxEntry(decoding: try System.readAll(fd, limit: Self.largestFile, describing: path))
    }

    /// Removes a delivered entry; with `sync`, flushes the folder so it stays removed. An entry
    /// already gone is no error.
    func remove(_ entry: OutboxEntry, sync: Bool = false) throws(SystemError) {
        try System.unlinkIfPresent(in: folderFD, entry.fileName, describing: folder + "/" + entry.fileName)
        if sync { try System.fsync(folderFD, describing: folder) }
    }

    /// Moves a given-up entry to `outbox/dead/`, with the reason recorded as its last answer and
    /// the cause as ``OutboxEntry/buriedFor``.
    func bury(_ entry: OutboxEntry, reason: String, cause: BuriedFor, sync: Bool) throws(SystemError) {
        var dead = entry
        dead.lastAnswer = reason
        dead.buriedFor = cause
        // A dead letter moved back to outbox/ goes again in full: the receiver may have been
        // fixed. The reason keeps what the refusal said.
        dead.refusal = nil
        try write(dead, into: deadFD, folder: deadFolder, sync: sync)
        if sync { try System.fsync(deadFD, describing: deadFolder) }
        try remove(entry, sync: sync)
    }

    /// How many dead letters each of `sinks` has in `outbox/dead/`, told by name alone (an entry's
    /// name ends in `-<sink>.json`, ``OutboxEntry/safeName(_:)``; the longest sink name that
    /// fits wins, so `ops` and `team-ops` stay apart). Names of no listed sink are not counted.
    func deadLetterCounts(sinks: [String]) throws(SystemError) -> [String: Int] {
        let suffixes = sinks.map { (sink: $0, suffix: "-" + OutboxEntry.safeName($0) + ".json") }
            .sorted { $0.suffix.count > $1.suffix.count }
        var counts: [String: Int] = [:]
        for listed in try System.listDirectory(deadFolder) {
            guard let name = listed.name, !name.hasPrefix("."), name.hasSuffix(".json"),
                  let match = suffixes.first(where: { name.hasSuffix($0.suffix) }) else { continue }
            counts[match.sink, default: 0] += 1
        }
        return counts
    }

    /// Writes an entry under its temporary name (one a crash left is replaced), flushes it when
    /// asked, then renames it over its name.
    private func write(_ entry: OutboxEntry, into directory: Int32, folder: String, sync: Bool) throws(SystemError) {
        let temporary = Self.temporaryName(entry)
        let temporaryPath = folder + "/" + temporary
        try System.unlinkIfPresent(in: directory, temporary, describing: temporaryPath)
        let fd = try System.createFile(in: directory, temporary, contents: entry.encoded(), describing: temporaryPath)
        defer { System.close(fd) }
        if sync { try System.fsync(fd, describing: temporaryPath) }
        try System.rename(in: directory, temporary, to: directory, entry.fileName, describing: folder + "/" + entry.fileName)
    }
}
