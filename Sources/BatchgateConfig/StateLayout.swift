#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateSystem

/// The folders under the state root (docs/manifests.md §1, docs/routing.md) and the start-up checks on them.
public struct StateLayout: Sendable, Equatable {
    public let root: String
    public let inbox: String
    public var processing: String { root + "/processing" }
    var accepted: String { root + "/accepted" }
    var needsBatch: String { root + "/needs-batch" }
    var rejected: String { root + "/rejected" }
    public var outbox: String { root + "/outbox" }
    public var outboxDead: String { root + "/outbox/dead" }
    public var auditLog: String { root + "/audit.jsonl" }
    /// The catalog synced from Metrc, kept across restarts (made when `catalog.metrc` is set).
    public var catalogFolder: String { root + "/catalog" }
    public var metrcCache: String { catalogFolder + "/metrc.json" }
    /// Held (flock) by the one daemon that owns this state root.
    public var lockFile: String { root + "/.batchgate.lock" }

    /// The layout under `root`, with the inbox at `root/inbox` unless another is given.
    init(root: String, inbox: String? = nil) {
        let trimmed = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.root = trimmed
        self.inbox = inbox ?? trimmed + "/inbox"
    }

    /// The folder a decision routes to.
    public func folder(for decision: Decision) -> String {
        switch decision {
        case .accepted: accepted
        case .needsBatch: needsBatch
        case .rejected: rejected
        }
    }

    /// Every folder the daemon writes, inbox first.
    var folders: [String] { [inbox, processing, accepted, needsBatch, rejected, outbox, outboxDead] }

    /// Creates missing folders, then refuses (with a message for a person) any folder that is not
    /// writable or not on the inbox's filesystem, since every move must be a `rename(2)`. The
    /// daemon then takes the ``lock()`` and calls ``checkRenames()``.
    public func prepare() throws(StartupError) {
        for folder in folders {
            do {
                try System.makeDirectories(folder)
            } catch {
                throw StartupError("cannot create the folder \(folder): \(String(cString: strerror(error.errno)))")
            }
        }
        let inboxDevice: UInt
        do {
            inboxDevice = UInt(try System.fileStatus(atPath: inbox).st_dev)
        } catch {
            throw StartupError("cannot read the inbox \(inbox): \(error)")
        }
        for folder in folders {
            let info: stat
            do {
                info = try System.linkStatus(folder)
            } catch {
                throw StartupError("cannot read the folder \(folder): \(error)")
            }
            if (info.st_mode & S_IFMT) == S_IFLNK {
                // A link would let whoever can change it send manifests, reports or the inbox's
                // watch elsewhere; and a folder held open would not follow it being changed.
                throw StartupError("\(folder) is a symbolic link; batchgate never follows links for its folders: make it a real folder (set `inbox:` in the config for an inbox elsewhere)")
            }
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw StartupError("\(folder) is not a folder")
            }
            if UInt(info.st_dev) != inboxDevice {
                throw StartupError(
                    "\(folder) is on another filesystem than the inbox \(inbox); every folder must be on the inbox's filesystem so that a move is a rename, never a copy")
            }
            do {
                try System.checkAccess(folder, W_OK | X_OK)
            } catch {
                throw StartupError("\(folder) is not writable by this user (uid \(getuid())): \(String(cString: strerror(error.errno)))")
            }
        }
    }

    /// The folders a probe file passes through, in order.
    private var probeFolders: [String] { [inbox, processing, accepted, needsBatch, rejected, outbox] }

    /// Moves a probe file from the inbox through every folder: a bind mount shares the device id
    /// but refuses renames across it (EXDEV), which only an actual rename shows. Call it holding
    /// the ``lock()``: the probe has one fixed name, and a probe that a start killed half-way left
    /// behind is removed first.
    public func checkRenames() throws(StartupError) {
        let probe = ".batchgate-probe"
        // A probe this cannot remove is found below: the inbox's refuses the new probe (O_EXCL),
        // and the others are renamed over.
        for folder in probeFolders { _ = try? System.unlinkIfPresent(folder + "/" + probe) }
        let path = inbox + "/" + probe
        do {
            System.close(try System.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o600))
        } catch {
            throw StartupError("cannot create a file in the inbox \(inbox): \(String(cString: strerror(error.errno)))")
        }
        var current = path
        // A probe left here is removed at the next start, above.
        defer { _ = try? System.unlinkIfPresent(current) }
        for folder in probeFolders.dropFirst() {
            let next = folder + "/" + probe
            do {
                try System.rename(current, to: next)
            } catch {
                throw StartupError("cannot move a file from \(current) to \(folder): \(String(cString: strerror(error.errno))); every folder must be on the inbox's filesystem and mount, so that a move is a rename")
            }
            current = next
        }
    }
}

extension StateLayout {
    /// Takes the state root for this process: a second daemon on the same folders would race
    /// this one for names. The lock (`flock`) is on the state root folder itself, which cannot be
    /// deleted from under a running daemon as a lock file could; `.batchgate.lock` only tells who
    /// holds it. The lock lasts as long as the returned descriptor stays open.
    public func lock() throws(StartupError) -> Int32 {
        let fd: Int32
        do {
            fd = try System.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        } catch {
            throw StartupError("cannot open \(root): \(String(cString: strerror(error.errno)))")
        }
        do {
            try System.lockExclusively(fd, describing: root)
        } catch {
            System.close(fd)
            guard error.errno == EWOULDBLOCK else {
                throw StartupError("cannot lock the state root \(root): \(String(cString: strerror(error.errno))); it must be on a filesystem that supports flock (a local one)")
            }
            // Who holds it, when the lock file says: only for the message ("?" when it cannot).
            let pid = System.pidInLockFile(lockFile).map(String.init) ?? "?"
            throw StartupError("another batchgate (pid \(pid)) already runs on \(root); stop it first, or give this one another state root")
        }
        // Who holds it, for the message above and for people: written anew, never trusted, so a
        // failure to write it costs only the pid in that message.
        if let pidFD = try? System.open(lockFile, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode: 0o640) {
            _ = try? System.writeAll(pidFD, Array("\(getpid())\n".utf8), describing: lockFile)
            System.close(pidFD)
        }
        return fd
    }
}

/// A reason the daemon cannot start; `batchgate run` exits with status 78 (EX_CONFIG).
public struct StartupError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
