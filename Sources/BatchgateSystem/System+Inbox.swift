#if canImport(Glibc)
import Glibc
#endif

/// The calls the intake makes on the inbox: looking at a name that is not UTF-8, reading
/// inotify's non-blocking descriptor.
extension System {
    /// `lstat` of a name given as raw bytes (a name that is not UTF-8, which a Swift string cannot
    /// hold) relative to a directory descriptor; never follows a symbolic link.
    public static func linkStatus(in directory: Int32, bytes name: [UInt8], describing path: String) throws(SystemError) -> stat {
        var info = stat()
        let terminated = name + [0]
        try retrying("stat", path) {
            terminated.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { fstatat(directory, $0.baseAddress!, &info, AT_SYMLINK_NOFOLLOW) }
            }
        }
        return info
    }

    /// One `read` of a non-blocking descriptor into `buffer`: the number of bytes read (0 at the
    /// end), or nil when nothing is pending now (EAGAIN).
    public static func readAvailable(_ fd: Int32, into buffer: inout [UInt8], describing path: String) throws(SystemError) -> Int? {
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count >= 0 { return count }
            switch errno {
            case EINTR: continue
            case EAGAIN: return nil
            default: throw SystemError("read", path, errno: errno)
            }
        }
    }
}
