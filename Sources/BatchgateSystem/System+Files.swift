#if canImport(Glibc)
import Glibc
#endif
import CSystem

/// What identifies one version of a file: which inode, how large, and when it last changed. Two
/// stamps that differ mean the file changed (or another file took the name) between two looks.
public struct FileStamp: Sendable, Equatable {
    var device: UInt64
    var inode: UInt64
    public var size: Int64
    /// Modification and change times, in nanoseconds since 1970.
    public var modified: Int64
    public var changed: Int64

    public init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
    }
}

extension System {
    /// `lstat` of a path; never follows a symbolic link.
    public static func linkStatus(_ path: String) throws(SystemError) -> stat {
        var info = stat()
        try retrying("stat", path) { lstat(path, &info) }
        return info
    }

    /// What the kernel says of writers holding a file open.
    public enum WriterCheck: Equatable {
        /// Some process holds it open for writing.
        case held
        /// None does.
        case free
        /// The kernel would not say: not the file's owner and without CAP_LEASE (EACCES), leases
        /// turned off, not a regular file, gone.
        case unknown(errno: Int32)
    }

    /// Opens the regular file `name` to read it and asks whether some process holds it open for
    /// writing, with a read lease: `F_SETLEASE` with `F_RDLCK` fails with EAGAIN exactly when the
    /// file is open for writing anywhere, and is released at once when granted. This sees writers
    /// that opened the file before the inotify watch began, which inotify never reported.
    ///
    /// The descriptor (read-only, never following a link, never blocking) is kept whenever the
    /// file may be read: a regular file that no process holds open for writing, or of which the
    /// kernel would not say. The caller reads the file through it, or closes it, instead of
    /// opening the file a second time. `fd` is nil when the file could not be opened, is not a
    /// regular file, or is held.
    ///
    /// SIGIO must be ignored: a writer opening the file in the instant the lease is held breaks
    /// it, and the kernel then signals the holder (SIGIO, which would end the process).
    public static func openAskingWriters(in directory: Int32, _ name: String) -> (check: WriterCheck, fd: Int32?) {
        let fd = openat(directory, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return (.unknown(errno: errno), nil) }
        // A lease is granted on a regular file only: granted, or refused as held, the file is
        // one, with no `fstat` to ask. The kernel refuses a lease for want of permission before it
        // looks at the type, so only then is the type asked.
        if batchgate_take_read_lease(fd) == 0 {
            _ = batchgate_release_lease(fd)
            return (.free, fd)
        }
        let refusal = errno
        if refusal == EAGAIN {
            close(fd)
            return (.held, nil)
        }
        if refusal == EACCES || refusal == EPERM {
            var info = stat()
            if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { return (.unknown(errno: refusal), fd) }
            close(fd)
            return (.unknown(errno: EINVAL), nil)  // not a regular file: what a lease would have said
        }
        close(fd)
        return (.unknown(errno: refusal), nil)
    }

    /// Whether leases tell the truth on the filesystem of `fd`: only on local filesystems. On
    /// network filesystems (NFS, SMB, FUSE) a lease stands for what the server granted, and a
    /// refusal would hold every file for ever; there the quiet period alone decides.
    public static func leasesAreLocal(_ fd: Int32) -> Bool {
        var type: UInt64 = 0
        guard batchgate_filesystem_type(fd, &type) == 0 else { return false }
        let local: Set<UInt64> = [
            0xEF53,  // ext2/3/4
            0x5846_5342,  // xfs
            0x9123_683E,  // btrfs
            0x0102_1994,  // tmpfs
            0x2FC1_2FC1,  // zfs
            0xF2F5_2010,  // f2fs
        ]
        return local.contains(type)
    }
}
