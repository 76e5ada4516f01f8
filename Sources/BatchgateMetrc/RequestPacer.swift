/// Metrc's rate limits for one facility, as a decision: at most `perSecond` GETs started in any
/// one-second span and at most `concurrent` in flight. Pure: the caller gives the time (monotonic
/// seconds) and says when a request starts and finishes; ``MetrcClient`` waits as it says.
///
/// The span counted is ``span``, a little over a second: Metrc counts arrivals, which a network
/// and threads delay by different amounts, so starts exactly a second apart can arrive closer
/// (seen against the test server: 51 arrivals in one second from starts paced at 50 over 1.1 s,
/// on a machine at load 11; `bench/metrc_rate.py`). A sustained rate of 40 a second at the limit
/// of 50 is the price of never being refused for it.
struct RequestPacer: Sendable, Equatable {
    let perSecond: Int
    let concurrent: Int
    /// The span `perSecond` starts at most fall in.
    static let span = 1.25
    /// Start times within the last span, oldest first.
    private(set) var recentStarts: [Double] = []
    private(set) var inFlight = 0
    /// No request starts before this time: Metrc answered 429, so the facility's limit is
    /// reached whatever this pacer counted (another program with the same keys, a server that
    /// counts differently).
    private(set) var pausedUntil = -Double.infinity

    init(perSecond: Int, concurrent: Int) {
        self.perSecond = max(1, perSecond)
        self.concurrent = max(1, concurrent)
    }

    /// When a request may start, seen at `now`: `now` or later when only the rate holds it back,
    /// nil when as many as allowed are in flight (one must finish first).
    func earliestStart(now: Double) -> Double? {
        guard inFlight < concurrent else { return nil }
        let current = recentStarts.filter { $0 > now - Self.span }
        guard current.count >= perSecond else { return max(now, pausedUntil) }
        // The span frees a place when its oldest start is a full span old.
        return max(current[current.count - perSecond] + Self.span, pausedUntil)
    }

    /// Holds every request back until `time` (a pause already longer is kept).
    mutating func pause(until time: Double) {
        pausedUntil = max(pausedUntil, time)
    }

    /// Records a start at `now` (which ``earliestStart(now:)`` allowed).
    mutating func start(at now: Double) {
        recentStarts.removeAll { $0 <= now - Self.span }
        recentStarts.append(now)
        inFlight += 1
    }

    /// Records that a request finished.
    mutating func finish() {
        inFlight = max(0, inFlight - 1)
    }
}
