#if canImport(Glibc)
import Glibc
#endif

/// Syslog priorities, as journald reads them from a `<N>` prefix.
public enum LogLevel: String, Sendable, Comparable, CaseIterable, Codable {
    case debug, info, notice, warning, error

    /// The syslog priority number (`<3>` error … `<7>` debug).
    public var priority: Int {
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

/// One line per event on standard error. Under systemd (`JOURNAL_STREAM` set) each line starts
/// with its `<N>` syslog priority and no time stamp, since journald adds its own.
public final class Logger: Sendable {
    private let minimum: Mutex<LogLevel>
    private let journald: Bool
    private let fd: Int32

    public init(level: LogLevel = .info, fd: Int32 = STDERR_FILENO, environment: [String: String] = [:]) {
        minimum = Mutex(level)
        journald = environment["JOURNAL_STREAM"] != nil
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
        var buffer: [UInt8] = []
        for (level, message) in lines where level >= minimum {
            let line = format(level, message)
            if !buffer.isEmpty && buffer.count + line.count > Self.atomicWrite {
                try? System.writeAll(fd, buffer, describing: "standard error")
                buffer.removeAll(keepingCapacity: true)
            }
            buffer += line
        }
        if !buffer.isEmpty { try? System.writeAll(fd, buffer, describing: "standard error") }
    }

    /// The most bytes of whole lines written at once: a pipe (journald's stream, or a shell's)
    /// writes up to PIPE_BUF bytes without mixing in another thread's write.
    static let atomicWrite = 4096

    private func write(_ level: LogLevel, _ message: () -> String) {
        guard level >= minimum.withLock({ $0 }) else { return }
        // One write(2) per line, so lines from several threads never interleave.
        try? System.writeAll(fd, format(level, message()), describing: "standard error")
    }

    /// One line: its `<N>` priority under journald, else a time stamp and the level name. Line
    /// breaks within the message are written as `\n`.
    private func format(_ level: LogLevel, _ message: String) -> [UInt8] {
        let text = message.replacing("\n", with: "\\n")
        let line = journald ? "<\(level.priority)>\(text)\n" : "\(Timestamp.now()) \(level.rawValue): \(text)\n"
        return Array(line.utf8)
    }
}
