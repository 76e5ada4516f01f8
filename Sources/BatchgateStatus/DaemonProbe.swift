#if canImport(Glibc)
import Glibc
#endif
import BatchgateSystem

/// Whether a daemon holds the state root now, which process, and since when.
public struct DaemonState: Sendable, Equatable {
    /// Whether the state root's lock is held: a daemon runs on it.
    public var running: Bool
    /// While running, the process holding the lock; otherwise the process `.batchgate.lock`
    /// names (the last daemon, gone). Nil when neither tells.
    public var pid: Int32?
    /// Wall-clock seconds since 1970 when the running process started; nil when not running or
    /// when `/proc` does not tell (another user's process under systemd's `ProtectProc=`).
    public var startedAt: Double?

    init(running: Bool, pid: Int32?, startedAt: Double?) {
        self.running = running
        self.pid = pid
        self.startedAt = startedAt
    }
}

/// Tells whether a daemon holds the state root without ever taking its lock.
///
/// The lock is a `flock` on the state root folder (``StateLayout/lock()``). Taking it, even
/// shared and for a moment, could make a daemon starting at that moment fail to lock and exit
/// 78, which the unit's `RestartPreventExitStatus=78` would leave stopped. So the kernel's table
/// of locks (`/proc/locks`) is read instead; only where it cannot be read is the lock tried,
/// shared and without waiting, and released at once.
enum DaemonProbe {
    /// The daemon's state for the state root open at `root` (a folder descriptor), whose lock file
    /// is `lockFile`. `procRoot` is `/proc` but in tests.
    /// - Throws: ``SystemError`` when neither `/proc/locks` nor a trial lock can tell.
    static func state(root: Int32, rootPath: String, lockFile: String, procRoot: String = "/proc") throws(SystemError) -> DaemonState {
        let info = try System.fileStatus(of: root, describing: rootPath)
        let named = pidInLockFile(lockFile)
        let holder: (held: Bool, pid: Int32?)
        if let table = try? RegularFile.read(procRoot + "/locks", limit: 64 << 20) {
            holder = lockHolder(in: String(decoding: table, as: UTF8.self), device: UInt64(info.st_dev), inode: UInt64(info.st_ino),
                                namedPID: named)
        } else {
            holder = (try trialLock(root, describing: rootPath), nil)
        }
        guard holder.held else { return DaemonState(running: false, pid: named, startedAt: nil) }
        let pid = holder.pid ?? named
        return DaemonState(running: true, pid: pid, startedAt: pid.flatMap { startTime(of: $0, procRoot: procRoot) })
    }

    /// The pid on the first line of the lock file; nil when it is absent or holds no number.
    static func pidInLockFile(_ path: String) -> Int32? {
        guard let bytes = try? RegularFile.read(path, limit: 64) else { return nil }
        let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first ?? ""
        return Int32(line.filter { $0 != " " }).flatMap { $0 > 0 ? $0 : nil }
    }

    /// Whether `/proc/locks` (its text in `table`) lists a `flock` held on the inode `inode` of
    /// `device`, and by which pid (nil when the kernel shows none, as across pid namespaces).
    ///
    /// The device the kernel lists is the filesystem's own, which `stat` reports differently on
    /// btrfs subvolumes and overlay mounts; so a lock on the right inode also counts when the
    /// device differs but its holder is the pid the lock file names.
    static func lockHolder(in table: String, device: UInt64, inode: UInt64, namedPID: Int32?) -> (held: Bool, pid: Int32?) {
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
            if sameDevice || (pid != nil && pid == namedPID) { return (true, pid) }
        }
        return (false, nil)
    }

    /// Tries a shared lock without waiting and releases it at once: true when another holds the
    /// lock. Only where `/proc/locks` cannot be read (see ``DaemonProbe``).
    static func trialLock(_ root: Int32, describing path: String) throws(SystemError) -> Bool {
        do {
            try System.retrying("lock", path) { flock(root, LOCK_SH | LOCK_NB) }
        } catch where error.errno == EWOULDBLOCK {
            return true
        }
        _ = flock(root, LOCK_UN)
        return false
    }

    /// When process `pid` started, from its `/proc/<pid>/stat` (clock ticks after boot) and the
    /// boot time in `/proc/stat`; nil when either cannot be read.
    static func startTime(of pid: Int32, procRoot: String = "/proc") -> Double? {
        guard let stat = try? RegularFile.read("\(procRoot)/\(pid)/stat", limit: 4096),
              let system = try? RegularFile.read(procRoot + "/stat", limit: 1 << 20) else { return nil }
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard ticksPerSecond > 0 else { return nil }
        return startTime(processStat: String(decoding: stat, as: UTF8.self), systemStat: String(decoding: system, as: UTF8.self),
                         ticksPerSecond: ticksPerSecond)
    }

    /// The start time from the texts of `/proc/<pid>/stat` and `/proc/stat`.
    static func startTime(processStat: String, systemStat: String, ticksPerSecond: Double) -> Double? {
        // The command name (field 2) is in parentheses and may hold spaces and parentheses
        // itself: the fields after it start after the last `)`. Field 22 is the start time.
        guard let close = processStat.lastIndex(of: ")") else { return nil }
        let after = processStat[processStat.index(after: close)...].split(separator: " ")
        guard after.count > 19, let ticks = Double(after[19]) else { return nil }
        guard let bootLine = systemStat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let boot = Double(bootLine.dropFirst("btime ".count).filter { $0 != " " }) else { return nil }
        return boot + ticks / ticksPerSecond
    }
}
