import BatchgateCore

/// What one scan of the inbox decides, entry by entry as the listing is read: which files the
/// tracker looks at (``IntakeTracker/look(_:now:complete:)``), which names are renamed to UTF-8
/// (``MisnamedFile``), and whether the scan stopped at its limit. Pure: the daemon lists the
/// folder and looks each name up; the tests give listings.
///
/// Entries are decided as they are read, never gathered first: an inbox after an inotify overflow
/// may hold tens of thousands, and only the names to wait for are kept, and names that are not
/// UTF-8.
struct InboxScan: Sendable {
    /// The most names a scan holds, counting the names already queued for routing; the rest of
    /// the inbox is listed again when the queue has drained. An inbox of 50,000 files after an
    /// overflow then costs the memory of a few thousand names, not of all of them.
    static let limit = 4_096

    /// What the look-up of one listed name found.
    enum Entry: Sendable, Equatable {
        /// A file of any kind but a folder, with what identifies this version of it.
        case file(IntakeTracker.Stamp)
        /// A sub-folder: never touched.
        case folder
        /// Gone between the listing and the look-up (routed, deleted, moved away).
        case vanished
    }

    /// Names queued for routing: not looked at again, but counted against the limit.
    private let queued: Set<String>
    private let queuedCount: Int
    private let limit: Int

    /// The files to tell the tracker about, in the order listed.
    private(set) var observations: [IntakeTracker.Observation] = []
    /// The names, as raw bytes, that are not UTF-8 and not ignored: each is renamed (or waits).
    private(set) var misnamed: [[UInt8]] = []
    /// Whether the scan stopped at the limit. Counting reaches the limit on the last name kept,
    /// before the listing could say whether more follow, so an inbox of exactly `limit` names
    /// counts as cut too: the rest (maybe none) is listed once the queue has drained.
    private(set) var isCut = false

    /// A scan while `queued` names wait to be routed; `queuedCount` is their number (the queue's
    /// length, which the set mirrors).
    init(queued: Set<String>, queuedCount: Int, limit: Int = Self.limit) {
        self.queued = queued
        self.queuedCount = queuedCount
        self.limit = limit
    }

    /// Whether the scan listed the whole inbox, so that a name it did not see is gone.
    var isComplete: Bool { !isCut }

    /// The first look at a listed name, before any system call: the name to look up, or nil when
    /// the scan has no more to do with it (ignored, already queued, or not UTF-8: then it is kept
    /// in ``misnamed``). `name` is nil when `bytes` are not UTF-8.
    mutating func consider(name: String?, bytes: [UInt8]) -> String? {
        guard let name else {
            if !DropFolderNames.isIgnored(String(decoding: bytes, as: UTF8.self)) { misnamed.append(bytes) }
            return nil
        }
        guard !DropFolderNames.isIgnored(name), !queued.contains(name) else { return nil }
        return name
    }

    /// Records what the look-up of `name` found; false once the limit is reached (stop listing).
    /// Every scan stops there, and the same first names come first again next time, so nothing
    /// is skipped for good.
    mutating func record(_ name: String, _ entry: Entry) -> Bool {
        guard case .file(let stamp) = entry else { return true }
        observations.append(.init(name: name, size: stamp.size, modified: stamp.modified, changed: stamp.changed))
        if queuedCount + observations.count >= limit {
            isCut = true
            return false
        }
        return true
    }
}
