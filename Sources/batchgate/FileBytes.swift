#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a whole file at the edge of the program, with a cap so a huge file cannot exhaust memory.
enum FileBytes {
    /// Why a file could not be read, with errno and what was attempted.
    struct ReadError: Error, CustomStringConvertible {
        var path: String
        var operation: String
        var errno: Int32

        var description: String {
            "cannot \(operation) \(path): \(String(cString: strerror(errno)))"
        }
    }

    /// A file's first bytes and its size.
    struct Contents {
        /// At most `limit + 1` bytes.
        var bytes: [UInt8]
        /// The size the file had when it was opened.
        var size: Int
    }

    /// Reads at most `limit + 1` bytes, so a caller can tell a file over the limit without reading
    /// all of it. Directories and other non-regular files are refused.
    static func read(_ path: String, limit: Int) throws(ReadError) -> Contents {
        let fd = retryingEINTR { open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) }
        guard fd >= 0 else { throw ReadError(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ReadError(path: path, operation: "stat", errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ReadError(path: path, operation: "read (not a regular file)",
                            errno: (info.st_mode & S_IFMT) == S_IFDIR ? EISDIR : EINVAL)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(Int(info.st_size), limit) + 1)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count <= limit {
            let count = chunk.withUnsafeMutableBytes { buffer in
                retryingEINTR { Syscalls.read(fd, buffer.baseAddress!, min(buffer.count, limit + 1 - bytes.count)) }
            }
            if count < 0 { throw ReadError(path: path, operation: "read", errno: errno) }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return Contents(bytes: bytes, size: max(Int(info.st_size), bytes.count))
    }

    /// Reads standard input to its end.
    static func readStandardInput() throws(ReadError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                retryingEINTR { Syscalls.read(STDIN_FILENO, buffer.baseAddress!, buffer.count) }
            }
            if count < 0 { throw ReadError(path: "standard input", operation: "read", errno: errno) }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[..<count])
        }
    }

    /// The names of the regular files directly in `path` if it is a directory, or nil if it is not
    /// one (or does not exist, which the later read reports).
    static func directoryEntries(_ path: String) throws(ReadError) -> [String]? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
        guard let directory = opendir(path) else { throw ReadError(path: path, operation: "list the folder", errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            var entryInfo = stat()
            let full = path.hasSuffix("/") ? path + name : path + "/" + name
            // Regular files only: sub-folders, links, FIFOs and devices are left alone.
            if lstat(full, &entryInfo) == 0, (entryInfo.st_mode & S_IFMT) == S_IFREG { names.append(name) }
        }
        return names
    }

    private static func retryingEINTR<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }
}
