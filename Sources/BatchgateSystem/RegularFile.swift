#if canImport(Glibc)
import Glibc
#endif

/// Reads a file the daemon is configured with (the config file, a catalog file, a secret file)
/// whole, refusing anything but a regular file of at most a given size.
///
/// A path in a config can name anything: a FIFO (whose `open` or `read` waits for a writer for
/// ever, and on a reload takes the signal thread with it, so that SIGTERM goes unheard), a
/// device such as `/dev/zero` (endless), a folder or a socket. Each is refused at once, by the
/// type of the descriptor actually opened, and no read goes past the cap.
public enum RegularFile {
    /// Why a file could not be used, naming it.
    public struct ReadError: Error, Sendable, Equatable, CustomStringConvertible {
        /// What went wrong.
        public enum Problem: Sendable, Equatable {
            /// `open(2)` failed with this errno.
            case cannotOpen(errno: Int32)
            /// `fstat(2)` or `read(2)` failed with this errno.
            case cannotRead(errno: Int32)
            /// The path is not a regular file but this, such as `a named pipe (FIFO)`.
            case notRegular(String)
            /// The file is larger than this many bytes.
            case tooLarge(limit: Int)
        }

        var path: String
        public var problem: Problem

        init(path: String, problem: Problem) {
            self.path = path
            self.problem = problem
        }

        /// `/etc/batchgate/webhook is a named pipe (FIFO), not a regular file`, or
        /// `cannot open /etc/batchgate/webhook: No such file or directory (errno 2)`.
        public var description: String { described(as: path) }

        /// The message with the file called `subject` instead of by its path, such as
        /// `the catalog file /srv/items.json is larger than 256 MiB`.
        public func described(as subject: String) -> String {
            switch problem {
            case .cannotOpen(let errno): "cannot open \(subject): \(Self.text(errno))"
            case .cannotRead(let errno): "cannot read \(subject): \(Self.text(errno))"
            case .notRegular(let kind): "\(subject) is \(kind), not a regular file"
            case .tooLarge(let limit): "\(subject) is larger than \(RegularFile.bytes(limit))"
            }
        }

        private static func text(_ errno: Int32) -> String {
            "\(String(cString: strerror(errno))) (errno \(errno))"
        }
    }

    /// The bytes of the regular file at `path`, at most `limit` of them.
    /// - Throws: ``ReadError``: the file cannot be opened or read, is not a regular file (a
    ///   symbolic link is followed), or holds more than `limit` bytes (told by its size before a
    ///   byte is read, or by reading when it grew meanwhile).
    public static func read(_ path: String, limit: Int) throws(ReadError) -> [UInt8] {
        let fd: Int32
        do {
            fd = try System.openForReading(path)
        } catch {
            // open(2) of a socket fails with ENXIO; say what the path is instead.
            if error.errno == ENXIO, let kind = try? kind(of: System.fileStatus(atPath: path)) {
                throw ReadError(path: path, problem: .notRegular(kind))
            }
            throw ReadError(path: path, problem: .cannotOpen(errno: error.errno))
        }
        defer { System.close(fd) }
        let info: stat
        do {
            info = try System.fileStatus(of: fd, describing: path)
        } catch {
            throw ReadError(path: path, problem: .cannotRead(errno: error.errno))
        }
        if let kind = kind(of: info) { throw ReadError(path: path, problem: .notRegular(kind)) }
        guard info.st_size <= limit else { throw ReadError(path: path, problem: .tooLarge(limit: limit)) }
        let bytes: [UInt8]
        do {
            bytes = try System.readAll(fd, limit: limit, sizeHint: Int(info.st_size), describing: path)
        } catch {
            throw ReadError(path: path, problem: .cannotRead(errno: error.errno))
        }
        guard bytes.count <= limit else { throw ReadError(path: path, problem: .tooLarge(limit: limit)) }
        return bytes
    }

    /// What a file of `info`'s type is, in words, or nil for a regular file.
    static func kind(of info: stat) -> String? {
        switch info.st_mode & S_IFMT {
        case S_IFREG: nil
        case S_IFIFO: "a named pipe (FIFO)"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFDIR: "a folder"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "a file of an unknown type"
        }
    }

    /// `64 KiB`, `256 MiB` or `1000 bytes`, for a size cap.
    static func bytes(_ count: Int) -> String {
        if count >= 1 << 20, count % (1 << 20) == 0 { return "\(count >> 20) MiB" }
        if count >= 1 << 10, count % (1 << 10) == 0 { return "\(count >> 10) KiB" }
        return "\(count) bytes"
    }
}
