#if canImport(Glibc)
import Glibc
#endif
import BatchgateSystem

/// What one folder of alert files holds (`outbox/` or `outbox/dead/`), read from outside the
/// daemon (`batchgate status`): only reads, no lock, no descriptor kept, so it may run beside the
/// daemon and as another user than it.
public struct OutboxSummary: Sendable, Equatable {
    /// One alert file, as much of it as a person asks about.
    public struct Letter: Sendable, Equatable {
        /// The entry's id (its file name without `.json`).
        public var id: String
        /// The sink it is for, as the config names it.
        public var sink: String
        /// Wall-clock seconds since 1970 when the alert was written.
        public var createdAt: Double
        /// Wall-clock seconds since 1970 when `batchgate alert retry` sent it back from
        /// `outbox/dead/`; nil for one never sent back.
        public var retriedAt: Double?
        /// Attempts made so far.
        public var attempts: Int
        /// What the last attempt got (for a dead letter: why it was given up); nil before any.
        public var lastAnswer: String?
        /// Wall-clock seconds since 1970 when the file was last written: for a dead letter, when
        /// it was given up (a burial writes the file anew).
        public var writtenAt: Double

        init(id: String, sink: String, createdAt: Double, retriedAt: Double? = nil, attempts: Int, lastAnswer: String?, writtenAt: Double) {
            self.id = id
            self.sink = sink
            self.createdAt = createdAt
            self.retriedAt = retriedAt
            self.attempts = attempts
            self.lastAnswer = lastAnswer
            self.writtenAt = writtenAt
        }

        /// Since when a waiting alert has waited, the age its `maxAge` limits and every "oldest
        /// pending" shows: when it was sent back from `outbox/dead/`, else when it was written.
        public var ageStart: Double { retriedAt ?? createdAt }
    }

    /// The folder read.
    public var folder: String
    /// The alert files that decode, oldest written first.
    public var letters: [Letter]
    /// Names of `*.json` files that cannot be opened, read or decoded (a person decides what
    /// they are; nothing here touches them).
    public var unreadable: [String]

    init(folder: String, letters: [Letter], unreadable: [String]) {
        self.folder = folder
        self.letters = letters
        self.unreadable = unreadable
    }

    /// Reads every published entry (`<id>.json`) in `folder`; drafts and temporary files (names
    /// beginning with `.`) are the daemon's work in progress and left out, as its senders do.
    /// - Throws: ``SystemError`` only when the folder itself cannot be opened or listed.
    public static func read(folder: String) throws(SystemError) -> OutboxSummary {
        let directory = try System.openDirectory(folder)
        defer { System.close(directory) }
        var letters: [Letter] = []
        var unreadable: [String] = []
        try System.forEachEntry(of: folder) { listed in
            guard let name = listed.name, name.hasSuffix(".json"), !name.hasPrefix(".") else { return true }
            let path = folder + "/" + name
            do throws(SystemError) {
                // Never waiting: a FIFO given an entry's name must not hang the reader.
                let fd = try System.open(in: directory, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, describing: path)
                defer { System.close(fd) }
                let info = try System.fileStatus(of: fd, describing: path)
                guard (info.st_mode & S_IFMT) == S_IFREG,
                      let entry = OutboxEntry(decoding: try System.readAll(fd, limit: Outbox.largestFile, describing: path))
                else {
                    unreadable.append(name)
                    return true
                }
                let writtenAt = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
                letters.append(Letter(id: entry.id, sink: entry.sink, createdAt: entry.createdAt, retriedAt: entry.retriedAt, attempts: entry.attempts,
                                      lastAnswer: entry.lastAnswer, writtenAt: writtenAt))
            } catch {
                unreadable.append(name)
            }
            return true
        }
        letters.sort { ($0.writtenAt, $0.id) < ($1.writtenAt, $1.id) }
        return OutboxSummary(folder: folder, letters: letters, unreadable: unreadable.sorted())
    }
}
