#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateSystem

/// Manifests routed per decision since each of a few instants, counted from `audit.jsonl`.
public struct DecisionCounts: Sendable, Equatable {
    /// The manifests routed since one instant.
    public struct Window: Sendable, Equatable {
        /// Wall-clock seconds since 1970 the window starts at.
        public var since: Double
        /// Manifests routed at or after ``since``, per decision (every decision present).
        public var counts: [Decision: Int]
        /// False when the audit lines read do not reach back to ``since`` and older lines exist
        /// only in files not read (compressed or older rotations): the counts are then a floor.
        public var complete: Bool

        init(since: Double, counts: [Decision: Int] = [:], complete: Bool = true) {
            self.since = since
            self.counts = Dictionary(uniqueKeysWithValues: Decision.allCases.map { ($0, counts[$0] ?? 0) })
            self.complete = complete
        }

        /// Manifests of this decision in the window.
        public subscript(decision: Decision) -> Int { counts[decision] ?? 0 }

        /// Manifests of every decision in the window.
        public var total: Int { counts.values.reduce(0, +) }
    }

    /// The last 3600 seconds.
    public var lastHour: Window
    /// The last 86,400 seconds.
    public var lastDay: Window
    /// Since the daemon started; nil when it is not running or its start is unknown.
    public var sinceStart: Window?
    /// Lines read that are not audit lines (torn by a crash, edited by hand): skipped.
    public var unreadableLines: Int
    /// The audit files read, newest first.
    public var filesRead: [String]

    init(lastHour: Window, lastDay: Window, sinceStart: Window?, unreadableLines: Int = 0, filesRead: [String] = []) {
        self.lastHour = lastHour
        self.lastDay = lastDay
        self.sinceStart = sinceStart
        self.unreadableLines = unreadableLines
        self.filesRead = filesRead
    }
}

/// Reads audit lines from the end of `audit.jsonl` (then of `audit.jsonl.1`, which logrotate's
/// `delaycompress` leaves as text), in blocks backwards, and stops at the first line older than
/// every window asks: the cost follows the lines counted, not the size of the file.
struct AuditTail {
    /// How much older than the earliest window a line must be to stop the reading. Lines are
    /// appended in the order routes finish, which may differ from the order of their times by
    /// the moments between a route's time and its write; one such line must not hide the
    /// lines after it.
    static let disorderAllowance: Double = 300

    /// The bytes read at once from the end backwards.
    static let blockSize = 1 << 20

    /// The longest line read; a longer one is no audit line (they hold a few hundred bytes) and
    /// is skipped as unreadable, so a stray huge line cannot take the memory.
    static let longestLine = 1 << 20

    /// The windows' starts, in any order.
    let windowStarts: [Double]
    private let stopBefore: Double
    /// Per window, the count of each decision (indexed as ``Decision/allCases``).
    private(set) var counts: [[Int]]
    private(set) var unreadableLines = 0
    /// The time of the oldest line read.
    private(set) var oldestSeen: Double?
    /// Set once a line older than every window was read: no older line needs reading.
    private(set) var stopped = false

    init(windowStarts: [Double]) {
        self.windowStarts = windowStarts
        stopBefore = (windowStarts.min() ?? 0) - Self.disorderAllowance
        counts = Array(repeating: Array(repeating: 0, count: Decision.allCases.count), count: windowStarts.count)
    }

    /// The counts of window `index` as a ``DecisionCounts/Window``.
    func window(_ index: Int, complete: Bool) -> DecisionCounts.Window {
        var byDecision: [Decision: Int] = [:]
        for (position, decision) in Decision.allCases.enumerated() { byDecision[decision] = counts[index][position] }
        return DecisionCounts.Window(since: windowStarts[index], counts: byDecision, complete: complete)
    }

    /// Whether the lines read reach back to `since`.
    func reaches(_ since: Double) -> Bool {
        stopped || (oldestSeen.map { $0 <= since } ?? false)
    }

    // MARK: Reading a file backwards

    /// Reads the file at `path` from its end, line by line backwards, until a line older than
    /// every window (``stopped``) or the file's start. False when there is no such file.
    /// - Throws: ``StatusProblem`` naming the file when it cannot be opened or read.
    mutating func read(path: String, blockSize: Int = AuditTail.blockSize) throws(StatusProblem) -> Bool {
        let isFile: Bool
        do throws(SystemError) {
            isFile = try readBackwards(path: path, blockSize: blockSize)
        } catch where error.errno == ENOENT {
            return false
        } catch {
            throw StatusProblem("cannot read \(path): \(error)")
        }
        guard isFile else { throw StatusProblem("\(path) is not a regular file") }
        return true
    }

    /// Reads the file as ``read(path:blockSize:)`` says; false when it is not a regular file.
    private mutating func readBackwards(path: String, blockSize: Int) throws(SystemError) -> Bool {
        // Never waiting on a FIFO put in the file's place; a link is followed, as any reader would.
        let fd = try System.open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        defer { System.close(fd) }
        let info = try System.fileStatus(of: fd, describing: path)
        guard (info.st_mode & S_IFMT) == S_IFREG else { return false }
        var position = Int64(info.st_size)
        // The end of the line whose start lies before `position`: read, not yet complete.
        var pending: [UInt8] = []
        // Set while skipping a line longer than ``longestLine`` back to its start.
        var skipping = false
        while position > 0, !stopped {
            let start = max(0, position - Int64(blockSize))
            let block = try System.read(fd, count: Int(position - start), at: start, describing: path)
            // A file cut shorter meanwhile (logrotate's copytruncate): read what is there.
            guard !block.isEmpty else { break }
            var lineEnd = block.count
            block.withUnsafeBufferPointer { bytes in
                var index = lineEnd - 1
                while index >= 0 {
                    if bytes[index] == 0x0A {
                        if skipping {
                            skipping = false
                        } else if pending.isEmpty {
                            take(bytes[(index + 1)..<lineEnd])
                        } else {
                            take(Array(bytes[(index + 1)..<lineEnd]) + pending)
                        }
                        pending.removeAll(keepingCapacity: true)
                        lineEnd = index
                        if stopped { return }
                    }
                    index -= 1
                }
            }
            if stopped { break }
            if !skipping {
                pending = Array(block[0..<lineEnd]) + pending
                if pending.count > Self.longestLine {
                    unreadableLines += 1
                    pending = []
                    skipping = true
                }
            }
            position = start
        }
        if !stopped, !skipping, !pending.isEmpty { take(pending) }
        return true
    }

    // MARK: One line

    private static let timeKey = Array("\"time\":\"".utf8)
    private static let decisionKey = Array("\"decision\":\"".utf8)
    private static let decisions = Decision.allCases.map { Array($0.rawValue.utf8) }

    /// Counts one line (its bytes without the newline); empty lines are no lines.
    private mutating func take<Line: RandomAccessCollection<UInt8>>(_ line: Line) where Line.Index == Int {
        guard !line.isEmpty else { return }
        guard let time = Self.time(of: line) else {
            unreadableLines += 1
            return
        }
        if time < stopBefore {
            oldestSeen = min(oldestSeen ?? time, time)
            stopped = true
            return
        }
        guard let decision = Self.decision(of: line) else {
            unreadableLines += 1
            return
        }
        oldestSeen = min(oldestSeen ?? time, time)
        for (window, since) in windowStarts.enumerated() where time >= since {
            counts[window][decision] += 1
        }
    }

    /// The line's `time`, when it is an object holding one.
    static func time<Line: RandomAccessCollection<UInt8>>(of line: Line) -> Double? where Line.Index == Int {
        guard line.first == UInt8(ascii: "{"), line.last == UInt8(ascii: "}"),
              let value = stringValue(timeKey, in: line) else { return nil }
        return Timestamp.seconds(iso8601: value)
    }

    /// The index in ``Decision/allCases`` of the line's `decision`.
    static func decision<Line: RandomAccessCollection<UInt8>>(of line: Line) -> Int? where Line.Index == Int {
        guard let value = stringValue(decisionKey, in: line) else { return nil }
        return decisions.firstIndex { $0.elementsEqual(value) }
    }

    /// The text after `key` (`"name":"`) up to the next quote. A quote inside a JSON text is
    /// always escaped, so `key` cannot match inside another member's text; the values read
    /// (times, decisions) hold no escapes.
    private static func stringValue<Line: RandomAccessCollection<UInt8>>(_ key: [UInt8], in line: Line) -> Line.SubSequence?
        where Line.Index == Int {
        guard line.count > key.count else { return nil }
        var index = line.startIndex
        let last = line.endIndex - key.count
        while index <= last {
            if line[index] == key[0], line[index..<(index + key.count)].elementsEqual(key) {
                let start = index + key.count
                guard let end = line[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                return line[start..<end]
            }
            index += 1
        }
        return nil
    }
}
