#if canImport(Glibc)
import Glibc
#endif

/// The calls the outbox makes on names inside a folder it holds open (the `*at` calls), each
/// retrying EINTR and throwing a ``SystemError`` that names the call and the path.
extension System {
    /// Opens the regular file `name` in `directory` to read it; never follows a symbolic link, so
    /// a link planted in a state folder cannot make the daemon read a file elsewhere.
    public static func openForReading(in directory: Int32, _ name: String, describing path: String) throws(SystemError) -> Int32 {
        try retrying("open", path) { openat(directory, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
    }

    /// Removes `name` from `directory`. A name already gone is no error (the caller wanted it
    /// gone): returns false then, true when this call removed it.
    @discardableResult
    public static func removeIfPresent(in directory: Int32, _ name: String, describing path: String) throws(SystemError) -> Bool {
        do {
            try retrying("remove", path) { unlinkat(directory, name, 0) }
            return true
        } catch where error.errno == ENOENT {
            return false
        }
    }

    /// Renames `fromName` to `toName`, replacing whatever has that name (`renameat`): how a file
    /// written under a temporary name takes its place in one step.
    public static func rename(in directory: Int32, _ fromName: String, to toName: String, describing path: String) throws(SystemError) {
        try retrying("rename", path) { renameat(directory, fromName, directory, toName) }
    }

    /// Whether `name` exists in `directory` (a symbolic link counts as itself, never followed).
    /// Any answer but "no such file" is an error: a name that cannot be looked at is not taken
    /// for absent.
    public static func exists(in directory: Int32, _ name: String, describing path: String) throws(SystemError) -> Bool {
        var info = stat()
        do {
            try retrying("stat", path) { fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) }
            return true
        } catch where error.errno == ENOENT {
            return false
        }
    }
}
