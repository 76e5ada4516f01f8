#if canImport(Glibc)
import Glibc
import BatchgateSystem
#elseif canImport(Darwin)
import Darwin
#endif
import BatchgateDaemon

/// Reading a whole file at the edge of the program, with a cap so a huge file cannot exhaust memory.
enum FileBytes {
    /// Why a file could not be read, with errno and what was attempted.
    struct ReadError: Error, CustomStringConvertible {
        var path: String
        var operation: String
        var errno: Int32

        var description: String {
            let reason = String(cString: strerror(errno))
            // A name given as an argument or in --files-from reaches batchgate as text: bytes in it
            // that are not UTF-8 became U+FFFD, so a file that is there is not found by that name.
            guard errno == ENOENT, path.contains("\u{FFFD}") else { return "cannot \(operation) \(path): \(reason)" }
            return "cannot \(operation) \(path): \(reason); if the file is there, its name holds bytes that are not UTF-8 (shown as \u{FFFD}), which batchgate cannot open by name: rename it, or check its folder (batchgate check FOLDER names such a file as the shell reads it back)"
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
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { throw ReadError(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ReadError(path: path, operation: "stat", errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ReadError(path: path, operation: "read (not a regular file)",
                            errno: (info.st_mode & S_IFMT) == S_IFDIR ? EISDIR : EINVAL)
        }
        do {
            let bytes = try System.readAll(fd, limit: limit, sizeHint: Int(info.st_size), describing: path)
            return Contents(bytes: bytes, size: max(Int(info.st_size), bytes.count))
        } catch {
            throw ReadError(path: path, operation: "read", errno: error.errno)
        }
    }

    /// Reads standard input to its end.
    static func readStandardInput() throws(ReadError) -> [UInt8] {
        do {
            return try System.readAll(STDIN_FILENO, describing: "standard input")
        } catch {
            throw ReadError(path: "standard input", operation: "read", errno: error.errno)
        }
    }

    /// The regular files directly in a directory.
    struct Listing {
        /// Their names.
        var names: [String] = []
        /// The names, as bytes, of those whose names are not UTF-8: `check` opens files by a
        /// string path, which cannot hold such a name, so the caller reports them instead.
        var misnamed: [[UInt8]] = []
    }

    /// The regular files directly in `path` if it is a directory, or nil if it is not one (or does
    /// not exist, which the later read reports).
    static func directoryEntries(_ path: String) throws(ReadError) -> Listing? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
        let entries: [System.DirectoryEntry]
        do {
            entries = try System.listDirectory(path)
        } catch {
            throw ReadError(path: path, operation: "list the folder", errno: error.errno)
        }
        let prefix = path.hasSuffix("/") ? path : path + "/"
        var listing = Listing()
        // Regular files only: sub-folders, links, FIFOs and devices are left alone. The entry's
        // type says which, without an lstat per file, unless the filesystem does not record it.
        for entry in entries {
            let isRegular: Bool
            if entry.type != UInt8(DT_UNKNOWN) {
                isRegular = entry.type == UInt8(DT_REG)
            } else {
                var entryInfo = stat()
                let raw = Array(prefix.utf8) + entry.bytes + [0]
                isRegular = raw.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { lstat($0.baseAddress!, &entryInfo) }
                } == 0 && (entryInfo.st_mode & S_IFMT) == S_IFREG
            }
            guard isRegular else { continue }
            if let name = entry.name {
                listing.names.append(name)
            } else {
                listing.misnamed.append(entry.bytes)
            }
        }
        return listing
    }
}
