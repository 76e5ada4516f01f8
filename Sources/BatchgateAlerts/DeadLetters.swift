#if canImport(Glibc)
import Glibc
#endif
import BatchgateSystem
import BatchgateConfig

/// A given-up alert in `outbox/dead/`, as `batchgate alert retry` shows it.
public struct DeadLetter: Sendable, Equatable {
    /// The letter as it is on disk.
    let entry: OutboxEntry

    /// The alert's id: the file name without `.json`.
    public var id: String { entry.id }
    /// The sink it was for.
    public var sink: String { entry.sink }
    /// The kind of sink it was rendered for.
    public var kind: DaemonConfig.AlertSink.SinkType { entry.kind }
    /// Why it was given up; ``BuriedFor/unknown`` for a letter an older version wrote.
    public var buriedFor: BuriedFor { entry.buriedFor ?? .unknown }
    /// The last answer and why it was given up, as the log said it.
    public var lastAnswer: String? { entry.lastAnswer }
}

/// A dead letter that cannot be read or moved back, said so that a person can act.
public struct DeadLetterError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// `batchgate alert retry`: dead letters moved back from `outbox/dead/` into `outbox/`, to be sent
/// again as if new.
///
/// The move never leaves a letter in both folders, nor in neither: the letter is first rewritten
/// in place (its attempts reset, under a temporary name, flushed, renamed over itself), then
/// moved by one `rename(2)` from `outbox/dead/` to `outbox/`, which the kernel does whole. A crash
/// before that rename leaves a dead letter, reset but still dead, which the next retry moves; a
/// crash after it leaves a waiting alert, which the daemon sends. (Copying it into `outbox/` and
/// then removing the dead one would, after a crash between the two, leave a letter that a second
/// retry could put back after the daemon had delivered the first copy: sent twice.)
extension Outbox {
    /// What moving one letter back did.
    public enum RequeueOutcome: Sendable, Equatable {
        /// It is in `outbox/` now, to be sent at once.
        case moved
        /// An alert with its id already waited in `outbox/` (put back by hand, say): that one is
        /// sent, and the dead letter was removed.
        case alreadyWaiting
    }

    /// Every dead letter, by id, and the names of `.json` files there that do not decode.
    public func deadLetters() throws(DeadLetterError) -> (letters: [DeadLetter], unreadable: [String]) {
        let listed: [System.DirectoryEntry]
        do {
            listed = try System.listDirectory(deadFolder)
        } catch {
            throw DeadLetterError(description: "cannot list the dead letters in \(deadFolder): \(error)")
        }
        var letters: [DeadLetter] = []
        var unreadable: [String] = []
        for name in listed.compactMap(\.name) where name.hasSuffix(".json") && !name.hasPrefix(".") {
            do {
                // One gone since the listing (moved back by another retry) is no longer dead.
                if let letter = try readDeadLetter(fileName: name) { letters.append(letter) }
            } catch {
                unreadable.append(name)
            }
        }
        return (letters.sorted { $0.id < $1.id }, unreadable.sorted())
    }

    /// The dead letter `id` (written as `batchgate status` and the file names show it, with or
    /// without `.json`), or nil when `outbox/dead/` has none by that name. Throws when there is
    /// one that cannot be read or does not decode.
    public func deadLetter(id: String) throws(DeadLetterError) -> DeadLetter? {
        let bare = id.hasSuffix(".json") ? String(id.dropLast(5)) : id
        // A name, never a path: nothing outside the dead folder is read or moved.
        guard !bare.isEmpty, !bare.hasPrefix("."), !bare.contains("/") else { return nil }
        return try readDeadLetter(fileName: bare + ".json")
    }

    /// Moves `letter` back into `outbox/` to be sent at once: attempts 0, due now, its maximum age
    /// counted from now, without the refusal or digest of its last tries (it goes in full, on its
    /// own or in a new digest); its last answer and cause stay as history. As root, the file is
    /// given the owner of `outbox/dead/`, so that the daemon's user can read and rewrite it.
    public func requeue(_ letter: DeadLetter, at now: Double) throws(DeadLetterError) -> RequeueOutcome {
        let path = deadFolder + "/" + letter.entry.fileName
        // One retry at a time on the dead letters (a lock on their folder, which only `alert retry`
        // takes, and which a killed process drops): two at once could both find the letter, and
        // the later one's rewrite make it anew after the first had sent it back and the daemon had
        // delivered it: sent twice. Inside the lock the letter is read again, as it is now.
        do {
            try System.retrying("lock", deadFolder) { flock(deadFD, LOCK_EX) }
        } catch {
            throw DeadLetterError(description: "cannot lock \(deadFolder) for the retry: \(error)")
        }
        defer { _ = flock(deadFD, LOCK_UN) }
        guard let current = try readDeadLetter(fileName: letter.entry.fileName) else {
            throw DeadLetterError(description: "\(path) is no longer there (moved back meanwhile?); nothing was changed")
        }
        do {
            try rewriteForRetry(current, at: now)
            return try moveBack(current)
        } catch {
            throw DeadLetterError(description: "cannot move \(deadFolder)/\(letter.entry.fileName) back to \(folder): \(error)")
        }
    }

    /// The first step of ``requeue(_:at:)``: the letter rewritten in `outbox/dead/` with its
    /// attempts reset, under a temporary name (one a crash left is replaced), flushed, then
    /// renamed over itself and the folder flushed.
    func rewriteForRetry(_ letter: DeadLetter, at now: Double) throws(SystemError) {
        var entry = letter.entry
        entry.attempts = 0
        entry.nextAttemptAt = now
        entry.refusal = nil
        entry.digestID = nil
        entry.retriedAt = now
        let temporary = Self.retryName(entry)
        let temporaryPath = deadFolder + "/" + temporary
        try System.unlinkIfPresent(in: deadFD, temporary, describing: temporaryPath)
        let fd = try System.createFile(in: deadFD, temporary, contents: entry.encoded(), describing: temporaryPath)
        defer { System.close(fd) }
        try System.giveOwnerOfFolder(deadFD, to: fd, describing: temporaryPath)
        try System.fsync(fd, describing: temporaryPath)
        try System.rename(in: deadFD, temporary, to: deadFD, entry.fileName, describing: deadFolder + "/" + entry.fileName)
        try System.fsync(deadFD, describing: deadFolder)
    }

    /// The second step of ``requeue(_:at:)``: the letter renamed from `outbox/dead/` into
    /// `outbox/` without replacing an alert waiting there under its name (then the dead letter is
    /// removed), then both folders flushed.
    func moveBack(_ letter: DeadLetter) throws(SystemError) -> RequeueOutcome {
        let name = letter.entry.fileName
        var outcome = RequeueOutcome.moved
        do {
            try System.renameNoReplace(from: deadFD, name, to: folderFD, name, describing: folder + "/" + name)
        } catch where error.errno == EEXIST {
            try System.unlink(in: deadFD, name, describing: deadFolder + "/" + name)
            outcome = .alreadyWaiting
        }
        try System.fsync(folderFD, describing: folder)
        try System.fsync(deadFD, describing: deadFolder)
        return outcome
    }

    /// The temporary name a letter is rewritten under in `outbox/dead/`: not the senders'
    /// (``temporaryName(_:)``), so neither ever replaces the other's half-written file.
    static func retryName(_ entry: OutboxEntry) -> String { "." + entry.fileName + ".retry" }

    /// The dead letter in `fileName`, or nil when there is no such file.
    private func readDeadLetter(fileName: String) throws(DeadLetterError) -> DeadLetter? {
        let path = deadFolder + "/" + fileName
        let bytes: [UInt8]
        do {
            let fd = try System.openForReading(in: deadFD, fileName, describing: path)
            defer { System.close(fd) }
            bytes = try System.readAll(fd, limit: Self.largestFile, describing: path)
        } catch where error.errno == ENOENT {
            return nil
        } catch {
            throw DeadLetterError(description: "cannot read the dead letter \(path): \(error)")
        }
        guard let entry = OutboxEntry(decoding: bytes), entry.fileName == fileName else {
            throw DeadLetterError(description: "\(path) is not a dead letter batchgate wrote (it does not decode, or names another alert); it is left as it is: fix it or move it away")
        }
        return DeadLetter(entry: entry)
    }
}
