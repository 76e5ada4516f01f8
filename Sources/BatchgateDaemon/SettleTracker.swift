/// Decides when a file found by a scan (not announced by inotify, as on SMB or NFS shares) is
/// complete: once its size and modification time have stayed the same for the settle time.
/// Pure: the caller supplies what it saw and when.
public struct SettleTracker: Sendable {
    /// What a scan saw of one file.
    public struct Observation: Sendable, Equatable {
        public var name: String
        public var size: Int64
        /// Modification time in nanoseconds since 1970.
        public var modified: Int64

        public init(name: String, size: Int64, modified: Int64) {
            self.name = name
            self.size = size
            self.modified = modified
        }
    }

    public let settleTime: Double
    private var unchangedSince: [String: (size: Int64, modified: Int64, since: Double)] = [:]

    public init(settleTime: Double) {
        self.settleTime = settleTime
    }

    /// True while some file is waiting to settle (so the caller should scan again soon).
    public var isWaiting: Bool { !unchangedSince.isEmpty }

    /// Records a scan made at `now` (monotonic seconds) and returns the names that are ready, in
    /// name order. Files no longer present are forgotten; a changed file starts its wait again.
    public mutating func scan(_ observations: [Observation], now: Double) -> [String] {
        var next: [String: (size: Int64, modified: Int64, since: Double)] = [:]
        var ready: [String] = []
        for file in observations {
            if let earlier = unchangedSince[file.name], earlier.size == file.size, earlier.modified == file.modified {
                if now - earlier.since >= settleTime {
                    ready.append(file.name)
                } else {
                    next[file.name] = earlier
                }
            } else {
                next[file.name] = (file.size, file.modified, now)
            }
        }
        unchangedSince = next
        return ready.sorted()
    }

    /// Stops tracking a file (it was taken through inotify).
    public mutating func forget(_ name: String) {
        unchangedSince[name] = nil
    }
}
