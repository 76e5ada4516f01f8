#if canImport(Glibc)
import Glibc
#endif

/// What a command run beside the daemon needs to act on it: who holds the state root's lock, a
/// signal to it, and files handed over with the owner of the folder they go into.
/// Whether a folder's `flock` is held, and by which process when the kernel tells.
public struct LockHolder: Sendable, Equatable {
    /// Whether some process holds the lock: for a state root, a daemon runs on it.
    public var held: Bool
    /// The holder; when not held, the pid the lock file names (the last holder, gone), or nil.
    public var pid: Int32?

    public init(held: Bool, pid: Int32?) {
        self.held = held
        self.pid = pid
    }
}

extension System {
    /// Whether a process holds the `flock` on the folder open at `folder` (a daemon's state root),
    /// and which, told without ever taking the lock: holding it even shared and for a moment could
    /// make a daemon starting then fail to lock and exit 78, which the unit's
    /// `RestartPreventExitStatus=78` would leave stopped. The kernel's table of locks
    /// (`<procRoot>/locks`) is read; only where it cannot be read is the lock tried, shared and
    /// without waiting, and released at once. `pidFile` is the pid the holder wrote (its first
    /// line), trusted only as a tie-breaker (see ``lockHolder(inTable:device:inode:namedPID:)``).
    /// - Throws: ``SystemError`` when the folder cannot be looked at, or neither the table nor a
    ///   trial lock can tell.
    public static func lockHolder(of folder: Int32, describing path: String, pidFile: String,
                                  procRoot: String = "/proc") throws(SystemError) -> LockHolder {
        let info = try System.fileStatus(of: folder, describing: path)
        let named = pidInLockFile(pidFile)
        if let table = try? RegularFile.read(procRoot + "/locks", limit: 64 << 20) {
            return lockHolder(inTable: String(decoding: table, as: UTF8.self), device: UInt64(info.st_dev),
                              inode: UInt64(info.st_ino), namedPID: named)
        }
        return LockHolder(held: try trialLock(folder, describing: path), pid: named)
    }

    /// The pid on the first line of a lock file; nil when it is absent or holds no number.
    public static func pidInLockFile(_ path: String) -> Int32? {
        guard let bytes = try? RegularFile.read(path, limit: 64) else { return nil }
        let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first ?? ""
        return Int32(line.filter { $0 != " " }).flatMap { $0 > 0 ? $0 : nil }
    }

    /// Whether `/proc/locks` (its text in `table`) lists a `flock` held on the inode `inode` of
    /// `device`, and by which pid (nil when the kernel shows none, as across pid namespaces); when
    /// none is, the pid the lock file names, the last holder's.
    ///
    /// The device the kernel lists is the filesystem's own, which `stat` reports differently on
    /// btrfs subvolumes and overlay mounts; so a lock on the right inode also counts when the
    /// device differs but its holder is the pid the lock file names.
    static func lockHolder(inTable table: String, device: UInt64, inode: UInt64, namedPID: Int32?) -> LockHolder {
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)
        let minor = (device & 0xff) | ((device >> 12) & ~0xff)
        for line in table.split(separator: "\n") {
            // `1: FLOCK  ADVISORY  WRITE 4242 fe:00:16392304 0 EOF`; a waiter's line has `->` after
            // the number, and waits rather than holds.
            let fields = line.split(separator: " ")
            guard fields.count >= 6, fields[1] == "FLOCK" else { continue }
            let place = fields[5].split(separator: ":")
            guard place.count == 3, let lockInode = UInt64(place[2]), lockInode == inode else { continue }
            let pid = Int32(fields[4]).flatMap { $0 > 0 ? $0 : nil }
            let sameDevice = UInt64(place[0], radix: 16) == major && UInt64(place[1], radix: 16) == minor
            if sameDevice || (pid != nil && pid == namedPID) { return LockHolder(held: true, pid: pid) }
        }
        return LockHolder(held: false, pid: namedPID)
    }

    /// Tries a shared lock without waiting and releases it at once: true when another holds the
    /// lock. Only where `/proc/locks` cannot be read (see ``lockHolder(of:describing:pidFile:procRoot:)``).
    static func trialLock(_ folder: Int32, describing path: String) throws(SystemError) -> Bool {
        do {
            try System.retrying("lock", path) { flock(folder, LOCK_SH | LOCK_NB) }
        } catch where error.errno == EWOULDBLOCK {
            return true
        }
        _ = flock(folder, LOCK_UN)
        return false
    }

    /// Runs the rest of this process as the owner of `path` (user and group, no supplementary
    /// groups) when it runs as root and `path` is another user's: root acting in a folder the
    /// service's user owns would follow links that user planted there, and would leave files that
    /// user cannot read. Returns the user id taken, or nil when nothing changed.
    /// - Throws: ``SystemError`` when `path` cannot be looked at or the identity cannot be dropped
    ///   (then nothing may go on as root in that folder).
    public static func becomeOwner(of path: String) throws(SystemError) -> UInt32? {
        guard geteuid() == 0 else { return nil }
        let owner = try System.fileStatus(atPath: path)
        guard owner.st_uid != 0 else { return nil }
        var group = owner.st_gid
        // Groups first, then the group, then the user: once the user is dropped, the rest is refused.
        try retrying("setgroups", path) { setgroups(1, &group) }
        try retrying("setgid", path) { setgid(owner.st_gid) }
        try retrying("setuid", path) { setuid(owner.st_uid) }
        return owner.st_uid
    }

    /// Sends `signal` to the process `pid`.
    public static func sendSignal(_ signal: Int32, to pid: Int32) throws(SystemError) {
        try retrying("kill", "pid \(pid)") { kill(pid, signal) }
    }

    /// Gives the file open at `fd` the owner and group of `folder` when this process runs as root
    /// (a file root makes in the daemon's folders would be unreadable to it at mode 0640); any
    /// other user makes files it owns, as the daemon's user does.
    public static func giveOwnerOfFolder(_ folder: Int32, to fd: Int32, describing path: String) throws(SystemError) {
        guard geteuid() == 0 else { return }
        let owner = try System.fileStatus(of: folder, describing: path)
        try retrying("chown", path) { fchown(fd, owner.st_uid, owner.st_gid) }
    }
}

/// A running process as `/proc` describes it, enough to tell it is still the same one: its start
/// time (clock ticks after boot, field 22 of `stat`; a reused pid has another) and its cgroups
/// (the unit it runs in, under systemd).
public struct ProcessIdentity: Sendable, Equatable {
    public var startTime: UInt64
    public var cgroup: String
}

extension System {
    /// The identity of the process `pid`, or nil when it is gone or a zombie (exited, not yet
    /// reaped: its `/proc/PID/root` no longer leads to its files).
    public static func identity(of pid: Int32, procRoot: String = "/proc") -> ProcessIdentity? {
        guard pid > 0,
              let stat = try? RegularFile.read("\(procRoot)/\(pid)/stat", limit: 4096),
              let cgroup = try? RegularFile.read("\(procRoot)/\(pid)/cgroup", limit: 64 << 10),
              let start = startTime(inStat: stat) else { return nil }
        return ProcessIdentity(startTime: start, cgroup: String(decoding: cgroup, as: UTF8.self))
    }

    /// The start time in a `/proc/PID/stat` line, nil for a zombie (state Z) or dead (X) process.
    /// The command name in parentheses may hold spaces and parentheses itself, so the fields are
    /// counted after the last `)`: state is field 3, the start time field 22.
    static func startTime(inStat bytes: [UInt8]) -> UInt64? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19, let state = fields[0].first,
              state != UInt8(ascii: "Z"), state != UInt8(ascii: "X") else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }
}
