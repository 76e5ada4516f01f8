import Synchronization

/// What one sink's sender has done and holds, for the `STATUS=` line and the metrics: read from
/// any thread while the sender works on its own queue.
public struct SinkStatistics: Sendable, Equatable {
    public var sink: String
    /// Alerts waiting for this sink now (held by its sender).
    public var waiting = 0
    /// Wall-clock seconds since 1970 since when the oldest waiting alert has waited: when it was
    /// written or, for one `batchgate alert retry` sent back, when it came back (the age `maxAge`
    /// limits); nil when none waits.
    public var oldestWaitingSince: Double?
    /// Alerts delivered since the daemon started (a digest counts each alert it carried).
    public var delivered = 0
    /// Attempts (a single alert or a digest) that did not deliver, since the daemon started.
    public var failedAttempts = 0
    /// Alerts given up on (moved to `outbox/dead/`) since the daemon started.
    public var givenUp = 0
    /// Dead letters of this sink in `outbox/dead/` now, as the sender last listed the folder (at
    /// its start, after a burial by the dispatcher, at a rescan and every
    /// ``AlertDispatcher/deadLetterRecountInterval``) plus those it has given up since.
    public var deadLetters = 0

    public init(sink: String) { self.sink = sink }
}

/// A sender's statistics behind a lock: the sender writes, the daemon's queue reads. A change of
/// what the status line shows (the count waiting or dead) is told to `onChange`, outside the lock.
final class SinkStatisticsBox: Sendable {
    private let value: Mutex<SinkStatistics>
    private let onChange: @Sendable () -> Void

    init(sink: String, onChange: @escaping @Sendable () -> Void = {}) {
        value = Mutex(SinkStatistics(sink: sink))
        self.onChange = onChange
    }

    var current: SinkStatistics { value.withLock { $0 } }

    func update(_ change: (inout SinkStatistics) -> Void) {
        let changed = value.withLock { statistics in
            let before = (statistics.waiting, statistics.deadLetters)
            change(&statistics)
            return before != (statistics.waiting, statistics.deadLetters)
        }
        if changed { onChange() }
    }
}
