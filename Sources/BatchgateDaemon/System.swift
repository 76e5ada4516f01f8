#if canImport(Glibc)
import Glibc
#endif
import CSystem

/// A failed system call: what was attempted, on what, and errno.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32

    public init(_ operation: String, _ path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String {
        "\(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// Thin wrappers over the system calls the daemon uses: each retries EINTR and throws a
/// ``SystemError`` naming the call and the path.
public enum System {
    @discardableResult
    static func retrying<T: BinaryInteger>(_ operation: String, _ path: String, _ call: () -> T) throws(SystemError) -> T {
        while true {
            let result = call()
            if result >= 0 { return result }
            if errno != EINTR { throw SystemError(operation, path, errno: errno) }
        }
    }

    /// Opens a directory for use with the `*at` calls.
    public static func openDirectory(_ path: String) throws(SystemError) -> Int32 {
        try retrying("open folder", path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    }

    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)  // never retried: on Linux the descriptor is gone even on EINTR
    }

    /// Creates a folder (and its parents) with mode 0750 if it is missing.
    public static func makeDirectories(_ path: String) throws(SystemError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o750) != 0 && errno != EEXIST { throw SystemError("create folder", prefix, errno: errno) }
            prefix += "/"
        }
    }

    /// `lstat` relative to a directory descriptor; never follows a symbolic link.
    public static func lstatAt(_ directory: Int32, _ name: String, in path: String = "") throws(SystemError) -> Glibc.stat {
        var info = Glibc.stat()
        try retrying("stat", path + name) { fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) }
        return info
    }

    public static func status(_ path: String) throws(SystemError) -> Glibc.stat {
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
        while true {
            if batchgate_rename_noreplace(fromDirectory, fromName, toDirectory, toName) == 0 { return }
            switch errno {
            case EINTR: continue
            case EINVAL, ENOSYS:
                // linkat fails with EEXIST on a taken name, so no file is ever replaced. A crash
                // between the two calls leaves both names, which recovery sees as a claim done.
                try retrying("link", path) { linkat(fromDirectory, fromName, toDirectory, toName, 0) }
                try retrying("unlink", path) { unlinkat(fromDirectory, fromName, 0) }
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
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
            }
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
            _ = unlinkat(directory, name, 0)
            throw error
        }
        return fd
    }

    /// One name in a directory. A name whose bytes are not UTF-8 has `name == nil`: Swift
    /// strings cannot hold it, so only `bytes` can reach the file.
    public struct DirectoryEntry: Sendable {
        public var bytes: [UInt8]
        public var name: String?
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

    /// `renameNoReplace` for names given as raw bytes (names that are not UTF-8).
    public static func renameNoReplace(
        from fromDirectory: Int32, bytes fromName: [UInt8], to toDirectory: Int32, _ toName: String, describing path: String
    ) throws(SystemError) {
        let source = fromName + [0]
        let result = source.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { batchgate_rename_noreplace(fromDirectory, $0.baseAddress, toDirectory, toName) }
        }
        if result != 0 { throw SystemError("rename", path, errno: errno) }
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
    /// regular file `O_NONBLOCK` changes nothing. Check the type with ``status(of:describing:)``
    /// before reading.
    public static func openForReading(_ path: String) throws(SystemError) -> Int32 {
        try retrying("open", path) { open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) }
    }

    /// `fstat` of an open descriptor: the file actually opened, not whatever the path names now.
    public static func status(of fd: Int32, describing path: String) throws(SystemError) -> Glibc.stat {
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
