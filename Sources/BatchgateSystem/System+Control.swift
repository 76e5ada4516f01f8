#if canImport(Glibc)
import Glibc
#endif

/// What a command run beside the daemon needs to act on it: who holds the state root's lock, a
/// signal to it, and files handed over with the owner of the folder they go into.
extension System {
    /// The process that holds the `flock` on `directory` and is named in `pidFile` (its first
    /// line), or nil when none does: the daemon is not running. The kernel's list of locks
    /// (`/proc/locks`) is read, never the lock taken, since holding it for even a moment could make
    /// a daemon starting then refuse to start. A lock counts only when the pid it names is the
    /// one in `pidFile` and its inode is the directory's: a pid written by a daemon long gone,
    /// now another process's, is not taken for it.
    public static func lockHolder(of directory: String, pidFile: String) throws(SystemError) -> Int32? {
        let inode = UInt64(try System.fileStatus(atPath: directory).st_ino)
        let claimed: Int32?
        do {
            let fd = try System.open(pidFile, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            defer { System.close(fd) }
            let text = String(decoding: try System.readAll(fd, limit: 64, describing: pidFile), as: UTF8.self)
            claimed = text.split(separator: "\n").first.flatMap { Int32($0.filter { $0 != " " }) }
        } catch where error.errno == ENOENT {
            return nil
        }
        guard let claimed else { return nil }
        let locks = "/proc/locks"
        let fd = try System.open(locks, O_RDONLY | O_CLOEXEC)
        defer { System.close(fd) }
        let table = String(decoding: try System.readAll(fd, limit: 16 << 20, describing: locks), as: UTF8.self)
        return flockHolders(in: table, inode: inode).contains(claimed) ? claimed : nil
    }

    /// The pids holding a `flock` on a file with `inode`, from the text of `/proc/locks`
    /// (`1: FLOCK  ADVISORY  WRITE 2412 fe:00:253853 0 EOF`; waiters, marked `->`, left out).
    /// The device is not compared: the kernel's device number there differs from `stat`'s on
    /// some filesystems (btrfs subvolumes); the caller's pid file makes the match certain.
    static func flockHolders(in table: String, inode: UInt64) -> [Int32] {
        table.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK",
                  let file = fields[5].split(separator: ":").last, UInt64(file) == inode else { return nil }
            return Int32(fields[4])
        }
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
