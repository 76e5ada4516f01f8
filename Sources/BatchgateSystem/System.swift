#if canImport(Glibc)
import Glibc
#endif
import CSystem

/// A failed system call: what was attempted, on what, and errno.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    var operation: String
    public var path: String
    public var errno: Int32

    init(_ operation: String, _ path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String {
        "\(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// Thin wrappers over the system calls the daemon uses. A call that fails throws a ``SystemError``
/// naming the call and the path; a call a signal interrupts (EINTR) is made again, except
/// ``close(_:)``, which Linux never lets be retried (see there). Callers go through these rather
/// than libc, so that no result is dropped and no EINTR ends a step of the routing protocol.
public enum System {
    @discardableResult
    public static func retrying<T: BinaryInteger>(_ operation: String, _ path: String, _ call: () -> T) throws(SystemError) -> T {
        while true {
            let result = call()
            if result >= 0 { return result }
            if errno != EINTR { throw SystemError(operation, path, errno: errno) }
        }
    }

    /// Opens a folder for the `*at` calls. With `followingLinks` false, a symbolic link at `path`
    /// is refused (only the state root may be one: systemd's `StateDirectory=`).
    public static func openDirectory(_ path: String, followingLinks: Bool = true) throws(SystemError) -> Int32 {
        let flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (followingLinks ? 0 : O_NOFOLLOW)
        return try retrying("open folder", path) { Glibc.open(path, flags) }
    }

    /// Closes a descriptor. Never retried and never failing: on Linux the descriptor is released
    /// even when `close` reports EINTR or EIO, so a retry could close a descriptor another thread
    /// has just been given; and nothing the daemon writes relies on `close` to reach the disk
    /// (that is ``fsync(_:describing:)``'s job), so its result has nothing left to tell.
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Creates a folder (and its parents) with mode 0750 if it is missing.
    public static func makeDirectories(_ path: String) throws(SystemError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            do {
                try retrying("create folder", prefix) { mkdir(prefix, 0o750) }
            } catch where error.errno == EEXIST {
                // There already: what this function is for.
            }
            prefix += "/"
        }
    }

    /// Opens `path` with these flags (and `mode` when one is created).
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(SystemError) -> Int32 {
        try retrying("open", path) { Glibc.open(path, flags, mode) }
    }

    /// Opens `name` in a directory held open, with these flags (and `mode` when one is created).
    /// `path` names it in the error.
    public static func open(
        in directory: Int32, _ name: String, _ flags: Int32, mode: mode_t = 0, describing path: String
    ) throws(SystemError) -> Int32 {
        try retrying("open", path) { openat(directory, name, flags, mode) }
    }

    /// Opens the regular file `name` in `directory` to read it; never follows a symbolic link, so
    /// a link planted in a state folder cannot make the daemon read a file elsewhere, and never
    /// waits (`O_NONBLOCK`), so a FIFO planted there reads as empty instead of holding the caller
    /// until a writer comes (the daemon's queue and its signals with it). On a regular file the
    /// flag changes nothing.
    public static func openForReading(in directory: Int32, _ name: String, describing path: String) throws(SystemError) -> Int32 {
        try open(in: directory, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, describing: path)
    }

    /// Whether `name` exists in `directory` (a symbolic link counts as itself, never followed).
    /// Any answer but "no such file" is an error: a name that cannot be looked at is not taken
    /// for absent.
    public static func exists(in directory: Int32, _ name: String, describing path: String) throws(SystemError) -> Bool {
        var info = Glibc.stat()
        do {
            try retrying("stat", path) { fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) }
            return true
        } catch where error.errno == ENOENT {
            return false
        }
    }

    /// Removes the name `name` from a directory held open (never a folder).
    public static func unlink(in directory: Int32, _ name: String, describing path: String) throws(SystemError) {
        try retrying("unlink", path) { unlinkat(directory, name, 0) }
    }

    /// ``unlink(in:_:describing:)`` where a name already gone is what was wanted: true when this
    /// call removed it, false when it was not there.
    @discardableResult
    public static func unlinkIfPresent(in directory: Int32, _ name: String, describing path: String) throws(SystemError) -> Bool {
        do {
            try unlink(in: directory, name, describing: path)
            return true
        } catch where error.errno == ENOENT {
            return false
        }
    }

    /// Removes the name `path` (never a folder); false when it was not there.
    @discardableResult
    public static func unlinkIfPresent(_ path: String) throws(SystemError) -> Bool {
        do {
            try retrying("unlink", path) { Glibc.unlink(path) }
            return true
        } catch where error.errno == ENOENT {
            return false
        }
    }

    /// Renames `fromName` over `toName` (replacing it), both in directories held open.
    public static func rename(
        in fromDirectory: Int32, _ fromName: String, to toDirectory: Int32, _ toName: String, describing path: String
    ) throws(SystemError) {
        try retrying("rename", path) { renameat(fromDirectory, fromName, toDirectory, toName) }
    }

    /// Renames the path `from` to `to`, replacing it.
    public static func rename(_ from: String, to: String) throws(SystemError) {
        try retrying("rename", from) { Glibc.rename(from, to) }
    }

    /// Whether this process may access `path` as `mode` says (`access(2)`, with W_OK, X_OK…);
    /// throws with the reason when it may not.
    public static func checkAccess(_ path: String, _ mode: Int32) throws(SystemError) {
        try retrying("access", path) { access(path, mode) }
    }

    /// `count` random bytes from the kernel's generator (`getrandom(2)`), in one call for up to
    /// 256 bytes (larger requests may come back in parts, each asked again until all are there):
    /// a batch draws the ids of all its routes at once instead of making a call for each.
    public static func randomBytes(_ count: Int) throws(SystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            done += try retrying("getrandom", "the kernel's random generator") {
                bytes.withUnsafeMutableBytes { raw in batchgate_random_bytes(raw.baseAddress! + done, UInt(count - done)) }
            }
        }
        return bytes
    }

    /// Takes an exclusive `flock` on `fd` without waiting: EWOULDBLOCK when another holds it.
    public static func lockExclusively(_ fd: Int32, describing path: String) throws(SystemError) {
        try retrying("lock", path) { flock(fd, LOCK_EX | LOCK_NB) }
    }

    /// Cuts (or extends) the file of `fd` to `size` bytes.
    public static func truncate(_ fd: Int32, to size: Int64, describing path: String) throws(SystemError) {
        try retrying("truncate", path) { ftruncate(fd, off_t(size)) }
    }

    /// Up to `count` bytes of `fd` from `offset`, without moving its offset; fewer at the end of
    /// the file.
    public static func read(_ fd: Int32, count: Int, at offset: Int64, describing path: String) throws(SystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let read = try retrying("read", path) {
                bytes.withUnsafeMutableBytes { raw in pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            }
            if read == 0 { break }
            done += read
        }
        return Array(bytes[..<done])
    }

    /// Up to `count` bytes of the regular file `fd` from its start, in one `pread` (its offset
    /// untouched), for a caller that knows the file's size and compares it again afterwards. Fewer
    /// bytes than asked mean the end of the file, so no second read is made to see the end (as
    /// ``read(_:count:at:describing:)`` makes): ask for one byte more than the size to notice a
    /// file that grew. A read cut short otherwise (never seen on a local regular file) looks to
    /// that caller like a file that changed, which it reads again.
    public static func readStart(of fd: Int32, count: Int, describing path: String) throws(SystemError) -> [UInt8] {
        guard count > 0 else { return [] }
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while true {
                let read = pread(fd, buffer.baseAddress!, count, 0)
                if read >= 0 {
                    initialized = read
                    return
                }
                if errno != EINTR {
                    failure = errno
                    return
                }
            }
        }
        if failure != 0 { throw SystemError("read", path, errno: failure) }
        return bytes
    }

    /// Writes all of `bytes` at `offset` of `fd`, without moving its offset.
    public static func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int64, describing path: String) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            done += try retrying("write", path) {
                bytes.withUnsafeBytes { raw in pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done)) }
            }
        }
    }

    /// `lstat` relative to a directory descriptor; never follows a symbolic link.
    public static func lstatAt(_ directory: Int32, _ name: String, in path: String = "") throws(SystemError) -> Glibc.stat {
        var info = Glibc.stat()
        try retrying("stat", path + name) { fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) }
        return info
    }

    /// `stat` of a path: what it leads to, a symbolic link followed (``linkStatus(_:)`` does not).
    public static func fileStatus(atPath path: String) throws(SystemError) -> Glibc.stat {
        var info = Glibc.stat()
        try retrying("stat", path) { stat(path, &info) }
        return info
    }

    /// Renames without ever replacing: `renameat2(RENAME_NOREPLACE)`, or where the kernel or
    /// filesystem lacks it, a `linkat` + `unlinkat` pair, which also refuses an existing name.
    /// Throws with EEXIST when the target name is taken.
    public static func renameNoReplace(
        from fromDirectory: Int32, _ fromName: String, to toDirectory: Int32, _ toName: String, describing path: String
    ) throws(SystemError) {
        let result = fromName.withCString { source in
            Result { () throws(SystemError) in
                try renameNoReplace(from: fromDirectory, source, to: toDirectory, toName, describing: path)
            }
        }
        try result.get()
    }

    /// `renameNoReplace` for names given as raw bytes (names that are not UTF-8).
    public static func renameNoReplace(
        from fromDirectory: Int32, bytes fromName: [UInt8], to toDirectory: Int32, _ toName: String, describing path: String
    ) throws(SystemError) {
        let terminated = fromName + [0]
        let result = terminated.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { source in
                Result { () throws(SystemError) in
                    try renameNoReplace(from: fromDirectory, source.baseAddress!, to: toDirectory, toName, describing: path)
                }
            }
        }
        try result.get()
    }

    /// The one implementation of both: the source name as a C string, whatever its bytes.
    private static func renameNoReplace(
        from fromDirectory: Int32, _ fromName: UnsafePointer<CChar>, to toDirectory: Int32, _ toName: String, describing path: String
    ) throws(SystemError) {
        while true {
            if batchgate_rename_noreplace(fromDirectory, fromName, toDirectory, toName) == 0 { return }
            switch errno {
            case EINTR: continue
            case EINVAL, ENOSYS:
                // linkat fails with EEXIST on a taken name, so no file is ever replaced. When the
                // unlink fails, the new name goes again: a rename that throws has not happened. A
                // crash between the two calls leaves both names: recovery takes that for a claim
                // or a move done (docs/routing.md); within the inbox (a name that is not UTF-8
                // renamed) both names are then routed, the first rejected as a hard link.
                try retrying("link", path) { linkat(fromDirectory, fromName, toDirectory, toName, 0) }
                do {
                    try retrying("unlink", path) { unlinkat(fromDirectory, fromName, 0) }
                } catch {
                    // If even this fails, its error is the one thrown and both names stay, as
                    // after a crash.
                    try retrying("unlink the new name of", path) { unlinkat(toDirectory, toName, 0) }
                    throw error
                }
                return
            default:
                throw SystemError("rename", path, errno: errno)
            }
        }
    }

    /// Flushes a descriptor's data and metadata.
    public static func fsync(_ fd: Int32, describing path: String) throws(SystemError) {
        try retrying("fsync", path) { Glibc.fsync(fd) }
    }

    /// Flushes every dirty file of the filesystem that holds `fd`.
    public static func syncFilesystem(_ fd: Int32, describing path: String) throws(SystemError) {
        try retrying("syncfs", path) { batchgate_syncfs(fd) }
    }

    /// Writes a whole buffer, retrying short writes and EINTR.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], describing path: String) throws(SystemError) {
        // The error carried out by hand: `withUnsafeBytes` rethrows untyped.
        var failure: SystemError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try writeAll(fd, raw, describing: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes the bytes at `raw`, retrying short writes and EINTR.
    public static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, describing path: String) throws(SystemError) {
        guard let base = raw.baseAddress else { return }
        var offset = 0
        while offset < raw.count {
            let written = Glibc.write(fd, base + offset, raw.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw SystemError("write", path, errno: errno)
            }
            offset += written
        }
    }

    /// Reads from `fd` until the end, or until more than `limit` bytes were read (so a caller can
    /// tell a file over the limit without reading all of it).
    public static func readAll(_ fd: Int32, limit: Int = Int.max - 1, sizeHint: Int = 0, describing path: String) throws(SystemError) -> [UInt8] {
        var bytes: [UInt8] = []
        if sizeHint > 0 {
            // The size is known (a regular file): read straight into the array, one more byte than
            // expected so that a file that grew meanwhile is noticed; no chunk to clear or copy.
            let expected = min(sizeHint, limit) + 1
            var failure: Int32 = 0
            bytes = [UInt8](unsafeUninitializedCapacity: expected) { buffer, count in
                while count < expected {
                    let read = Glibc.read(fd, buffer.baseAddress! + count, expected - count)
                    if read < 0 {
                        if errno == EINTR { continue }
                        failure = errno
                        return
                    }
                    if read == 0 { return }
                    count += read
                }
            }
            if failure != 0 { throw SystemError("read", path, errno: failure) }
            if bytes.count < expected { return bytes }  // the end came before the buffer was full
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count <= limit {
            let wanted = min(chunk.count, limit - bytes.count + 1)
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, wanted) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", path, errno: errno)
            }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return bytes
    }

    /// Writes a new file in `directory` under `name` with mode 0640 and returns its descriptor;
    /// fails with EEXIST if the name exists. A failed write (a full disk) removes the file it
    /// created, so no empty or torn file is left behind.
    public static func createFile(
        in directory: Int32, _ name: String, contents: [UInt8], describing path: String
    ) throws(SystemError) -> Int32 {
        let fd = try retrying("create", path) { openat(directory, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640) }
        do {
            try writeAll(fd, contents, describing: path)
        } catch {
            close(fd)
            // The write's error is the one the caller must hear. Should the unlink fail too, the
            // torn file stays under a name only this process creates with O_EXCL, and the caller
            // (the router) treats such a file as unfinished and writes it again.
            try? unlink(in: directory, name, describing: path)
            throw error
        }
        return fd
    }

    /// One name in a directory. A name whose bytes are not UTF-8 has `name == nil`: Swift
    /// strings cannot hold it, so only `bytes` can reach the file.
    public struct DirectoryEntry: Sendable {
        public var bytes: [UInt8]
        public var name: String?
        /// `d_type`: `DT_REG`, `DT_DIR`, `DT_LNK`…, or `DT_UNKNOWN` on a filesystem that does not
        /// say (then `lstat` tells).
        public var type: UInt8
    }

    /// The entries of a directory, without `.` and `..`.
    public static func listDirectory(_ path: String) throws(SystemError) -> [DirectoryEntry] {
        var entries: [DirectoryEntry] = []
        try forEachEntry(of: path) { entries.append($0); return true }
        return entries
    }

    /// Calls `body` with each entry of a directory (not `.` and `..`) as it is read, until it
    /// returns false, so that a folder of many thousand files is never held in memory whole.
    public static func forEachEntry(of path: String, _ body: (DirectoryEntry) -> Bool) throws(SystemError) {
        guard let directory = opendir(path) else { throw SystemError("list folder", path, errno: errno) }
        defer { closedir(directory) }
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                if errno != 0 { throw SystemError("list folder", path, errno: errno) }
                return
            }
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if bytes == [0x2E] || bytes == [0x2E, 0x2E] { continue }
            if !body(DirectoryEntry(bytes: bytes, name: String(validating: bytes, as: UTF8.self), type: entry.pointee.d_type)) { return }
        }
    }

    /// The current time as seconds since 1970 (wall clock, for reports and logs).
    public static func wallClock() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// A monotonic time in seconds, for intervals.
    public static func monotonicClock() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

extension System {
    /// Opens a file to read it whole, never waiting: `O_NONBLOCK` makes `open` of a FIFO with no
    /// writer return at once (a blocking open waits for a writer for ever, and the thread with it),
    /// and `O_NOCTTY` keeps a terminal from becoming the process's controlling terminal. On a
    /// regular file `O_NONBLOCK` changes nothing. Check the type with ``fileStatus(of:describing:)``
    /// before reading.
    public static func openForReading(_ path: String) throws(SystemError) -> Int32 {
        try retrying("open", path) { Glibc.open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) }
    }

    /// `fstat` of an open descriptor: the file actually opened, not whatever the path names now.
    public static func fileStatus(of fd: Int32, describing path: String) throws(SystemError) -> Glibc.stat {
        var info = Glibc.stat()
        try retrying("stat", path) { fstat(fd, &info) }
        return info
    }

    /// The absolute path `path` leads to, every symbolic link, `.` and `..` resolved
    /// (`realpath(3)`), or nil when it does not exist or cannot be resolved (a loop, no permission).
    public static func canonicalPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
