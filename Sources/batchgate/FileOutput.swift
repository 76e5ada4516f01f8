import BatchgateDaemon
#if canImport(Glibc)
import Glibc
import BatchgateSystem
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered writes to a file descriptor (standard output or error), flushed in large blocks.
struct FileOutput {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    static var standardOutput: FileOutput { FileOutput(fd: STDOUT_FILENO) }
    static var standardError: FileOutput { FileOutput(fd: STDERR_FILENO) }

    mutating func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        // A closed pipe (the reader went away) leaves nothing more to say.
        try? System.writeAll(fd, buffer, describing: "output")
        buffer.removeAll(keepingCapacity: true)
    }
}
