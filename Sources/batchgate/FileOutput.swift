import BatchgateDaemon
#if canImport(Glibc)
import Glibc
import BatchgateSystem
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered writes to a file descriptor (standard output or error), flushed in blocks of 64 KiB.
struct FileOutput {
    let fd: Int32
    /// Always 64 KiB long: the bytes before `pending` are waiting to be written.
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var pending = 0

    init(fd: Int32) {
        self.fd = fd
    }

    static var standardOutput: FileOutput { FileOutput(fd: STDOUT_FILENO) }
    static var standardError: FileOutput { FileOutput(fd: STDERR_FILENO) }

    mutating func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { write($0) }
    }

    mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { write($0) }
    }

    /// Copies `bytes` into the buffer, writing it out each time it fills.
    mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        var rest = bytes
        while let source = rest.baseAddress, !rest.isEmpty {
            let taken = min(rest.count, buffer.count - pending)
            let offset = pending
            buffer.withUnsafeMutableBufferPointer { room in
                (room.baseAddress! + offset).update(from: source, count: taken)
            }
            pending += taken
            rest = UnsafeBufferPointer(rebasing: rest[taken...])
            if pending == buffer.count { flush() }
        }
    }

    mutating func flush() {
        guard pending > 0 else { return }
        // A closed pipe (the reader went away) leaves nothing more to say. Written from where the
        // bytes stand: `check` writes a report of some 20 KB per manifest, and a copy of each
        // block into an array of its own cost as much as filling it.
        let count = pending
        buffer.withUnsafeBytes { raw in
            try? System.writeAll(fd, UnsafeRawBufferPointer(rebasing: raw[..<count]), describing: "output")
        }
        pending = 0
    }
}
