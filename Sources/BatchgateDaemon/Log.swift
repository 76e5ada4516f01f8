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
