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

    private func write(_ level: LogLevel, _ message: () -> String) {
        guard level >= minimum.withLock({ $0 }) else { return }
        // One write(2) per line, so lines from several threads never interleave.
        let text = message().replacing("\n", with: "\\n")
        let line = journald ? "<\(level.priority)>\(text)\n" : "\(Timestamp.now()) \(level.rawValue): \(text)\n"
        let bytes = Array(line.utf8)
        try? System.writeAll(fd, bytes, describing: "standard error")
    }
}
