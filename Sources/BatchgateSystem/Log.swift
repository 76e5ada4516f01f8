#if canImport(Glibc)
import Glibc
#endif

/// Syslog priorities, as journald reads them from a `<N>` prefix.
public enum LogLevel: String, Sendable, Comparable, CaseIterable, Codable {
    case debug, info, notice, warning, error

    /// The syslog priority number (`<3>` error … `<7>` debug).
    var priority: Int {
        switch self {
        case .error: 3
        case .warning: 4
        case .notice: 5
        case .info: 6
        case .debug: 7
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.priority > rhs.priority }
}

import Synchronization

/// One line per event on standard error. When that is the journal's stream (see
/// ``System/writesToJournal(_:environment:)``) each line starts with its `<N>` syslog priority and
/// no time stamp, since journald adds its own.
public final class Logger: Sendable {
    private let minimum: Mutex<LogLevel>
    private let journald: Bool
    private let fd: Int32

    /// A logger writing lines of `level` and above to `fd`, with journald's priority prefixes when
    /// `environment`'s `JOURNAL_STREAM` names the file `fd` is open on.
    public init(level: LogLevel = .info, fd: Int32 = STDERR_FILENO, environment: [String: String] = [:]) {
        minimum = Mutex(level)
        journald = System.writesToJournal(fd, environment: environment)
        self.fd = fd
    }

    /// Changes the lowest level written (after a reload).
    public func setLevel(_ level: LogLevel) { minimum.withLock { $0 = level } }

    public func debug(_ message: @autoclosure () -> String) { write(.debug, message) }
    public func info(_ message: @autoclosure () -> String) { write(.info, message) }
    public func notice(_ message: @autoclosure () -> String) { write(.notice, message) }
    public func warning(_ message: @autoclosure () -> String) { write(.warning, message) }
    public func error(_ message: @autoclosure () -> String) { write(.error, message) }

    /// Writes several lines, each at its level, in as few writes as possible, each of whole lines
    /// and at most ``atomicWrite`` bytes (unless one line is longer).
    public func write(_ lines: [(LogLevel, String)]) {
        let minimum = minimum.withLock { $0 }
        // Written together, the lines are stamped together: the time is read and formatted once.
        let time = journald ? "" : Timestamp.now()
        var buffer: [UInt8] = []
        for (level, message) in lines where level >= minimum {
            let start = buffer.count
            append(level, message, at: time, to: &buffer)
            if start > 0 && buffer.count > Self.atomicWrite {
                // The line does not fit: the lines before it go now, and it starts the next write.
                try? System.writeAll(fd, Array(buffer[..<start]), describing: "standard error")
                buffer.removeFirst(start)
            }
        }
        if !buffer.isEmpty { try? System.writeAll(fd, buffer, describing: "standard error") }
    }

    /// The most bytes of whole lines written at once: a pipe (journald's stream, or a shell's)
    /// writes up to PIPE_BUF bytes without mixing in another thread's write.
    static let atomicWrite = 4096

    private func write(_ level: LogLevel, _ message: () -> String) {
        guard level >= minimum.withLock({ $0 }) else { return }
        // One write(2) per line, so lines from several threads never interleave.
        var line: [UInt8] = []
        append(level, message(), at: journald ? "" : Timestamp.now(), to: &line)
        try? System.writeAll(fd, line, describing: "standard error")
    }

    /// Appends one line: its `<N>` priority under journald, else the time stamp `time` and the
    /// level name, then the message with its control characters escaped (see
    /// ``appendEscaped(_:to:)``).
    private func append(_ level: LogLevel, _ message: String, at time: String, to line: inout [UInt8]) {
        if journald {
            line += "<\(level.priority)>".utf8
        } else {
            line += time.utf8
            line.append(UInt8(ascii: " "))
            line += level.rawValue.utf8
            line += ": ".utf8
        }
        Self.appendEscaped(message, to: &line)
        line.append(UInt8(ascii: "\n"))
    }

    /// Appends `message`'s UTF-8 with every character that could disguise a line written as an
    /// escape: C0 controls and DEL (`\n`, `\r`, `\t`, else `\x1B`), C1 controls (`\u{9B}`), the
    /// line and paragraph separators U+2028/2029, the directional marks U+200E/200F and the bidi
    /// overrides and isolates U+202A–202E, U+2066–2069 (`\u{202E}`). A file name or an endpoint's answer holding them could otherwise
    /// colour the terminal, move the cursor, end the journal entry early or show its text reversed.
    ///
    /// The router logs a line per manifest in bursts of thousands: the bytes are scanned once and
    /// copied in runs; only bytes that can begin an escaped character (below 0x20, 0x7F, and the
    /// lead bytes 0xC2 and 0xE2) are looked at more closely.
    static func appendEscaped(_ message: String, to line: inout [UInt8]) {
        var message = message
        message.withUTF8 { bytes in
            var copied = 0  // bytes before this are in `line`
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == 0x7F || byte == 0xC2 || byte == 0xE2 else {
                    index += 1
                    continue
                }
                var scalar: UInt32?
                var length = 1
                switch byte {
                case 0xC2:
                    // U+0080–U+009F: C2 80 … C2 9F.
                    if index + 1 < bytes.count, (0x80...0x9F).contains(bytes[index + 1]) {
                        scalar = UInt32(bytes[index + 1])
                        length = 2
                    }
                case 0xE2:
                    // U+200E/200F (directional marks): E2 80 8E/8F; U+2028–U+202E: E2 80 A8 … E2 80 AE;
                    // U+2066–U+2069: E2 81 A6 … E2 81 A9.
                    if index + 2 < bytes.count {
                        let second = bytes[index + 1], third = bytes[index + 2]
                        if (second == 0x80 && ((0xA8...0xAE).contains(third) || third == 0x8E || third == 0x8F))
                            || (second == 0x81 && (0xA6...0xA9).contains(third)) {
                            scalar = 0x2000 | UInt32(second & 0x3F) << 6 | UInt32(third & 0x3F)
                            length = 3
                        }
                    }
                default:
                    scalar = UInt32(byte)
                }
                guard let scalar else {
                    index += 1
                    continue
                }
                line += bytes[copied..<index]
                appendEscape(of: scalar, to: &line)
                index += length
                copied = index
            }
            line += bytes[copied...]
        }
    }

    private static func appendEscape(of scalar: UInt32, to line: inout [UInt8]) {
        switch scalar {
        case 0x0A: line += "\\n".utf8
        case 0x0D: line += "\\r".utf8
        case 0x09: line += "\\t".utf8
        case 0..<0x20, 0x7F:
            line += "\\x".utf8
            line += Hex.upperCaseDigits(UInt8(scalar))
        default:
            // Beyond ASCII, Swift's `\u{…}`: `\x9B` would read as a raw byte of the UTF-8.
            line += "\\u{".utf8
            line += String(scalar, radix: 16, uppercase: true).utf8
            line.append(UInt8(ascii: "}"))
        }
    }
}
