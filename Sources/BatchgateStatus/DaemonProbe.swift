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

/// Whether a daemon holds the state root (``System/lockHolder(of:describing:pidFile:procRoot:)``,
/// which never takes the lock) and since when.
enum DaemonProbe {
    /// The daemon's state for the state root open at `root` (a folder descriptor), whose lock file
    /// is `lockFile`. `procRoot` is `/proc` but in tests.
    /// - Throws: ``SystemError`` when neither `/proc/locks` nor a trial lock can tell.
    static func state(root: Int32, rootPath: String, lockFile: String, procRoot: String = "/proc") throws(SystemError) -> DaemonState {
        let holder = try System.lockHolder(of: root, describing: rootPath, pidFile: lockFile, procRoot: procRoot)
        guard holder.held else { return DaemonState(running: false, pid: holder.pid, startedAt: nil) }
        return DaemonState(running: true, pid: holder.pid, startedAt: holder.pid.flatMap { startTime(of: $0, procRoot: procRoot) })
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
