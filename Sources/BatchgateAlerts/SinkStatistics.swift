import Synchronization

/// What one sink's sender has done and holds, for the `STATUS=` line and the metrics: read from
/// any thread while the sender works on its own queue.
public struct SinkStatistics: Sendable, Equatable {
    public var sink: String
    /// Alerts waiting for this sink now (held by its sender).
    public var waiting = 0
    /// Wall-clock seconds since 1970 when the oldest waiting alert was written; nil when none waits.
    public var oldestWaitingSince: Double?
    /// Alerts delivered since the daemon started (a digest counts each alert it carried).
    public var delivered = 0
    /// Attempts (a single alert or a digest) that did not deliver, since the daemon started.
    public var failedAttempts = 0
    /// Alerts given up on (moved to `outbox/dead/`) since the daemon started.
    public var givenUp = 0
    /// Dead letters of this sink in `outbox/dead/` now: those counted at start (or at the last
    /// rescan of the outbox) plus those given up since.
    public var deadLetters = 0

    public init(sink: String) { self.sink = sink }
}

/// A sender's statistics behind a lock: the sender writes, the daemon's queue reads.
final class SinkStatisticsBox: Sendable {
    private let value: Mutex<SinkStatistics>

    init(sink: String) { value = Mutex(SinkStatistics(sink: sink)) }

    var current: SinkStatistics { value.withLock { $0 } }

    func update(_ change: (inout SinkStatistics) -> Void) {
        value.withLock { change(&$0) }
    }
}
