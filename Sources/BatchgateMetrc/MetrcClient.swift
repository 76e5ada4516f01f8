#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import BatchgateSystem

/// Reads from Metrc for one facility within its rate limits: every GET waits for a place under
/// ``MetrcAPI/requestsPerSecond`` and ``MetrcAPI/concurrentRequests`` (shared by every thread that
/// uses this client), and a 429, a 408, a 5xx or no answer is tried again with backoff, honouring
/// `Retry-After`, up to ``Retry/attempts``. A 429 pauses every thread of the client, not only the
/// one that got it: Metrc's limits are the facility's, so the others would only be refused too.
/// Blocking: call it from threads of the caller's own, never Swift's cooperative pool. The clock,
/// the sleep and the jitter are injected, so tests drive time.
/// (Tries of one request: ``Retry/standard`` unless told otherwise.)
public final class MetrcClient: Sendable {
    public let api: MetrcAPI
    private let transport: any MetrcTransport
    private let clock: @Sendable () -> Double
    private let sleep: @Sendable (Double) -> Void
    private let jitter: @Sendable () -> Double
    private let pacer: Mutex<RequestPacer>
    private let sent = Atomic<Int>(0)
    public let retry: Retry

    /// How a failed try is tried again: `attempts` tries at most, waits doubling from `firstDelay`
    /// up to `maximumDelay`; a `Retry-After` is honoured up to `longestRetryAfter`.
    public struct Retry: Sendable, Equatable {
        public var attempts: Int
        public var firstDelay: Double
        public var maximumDelay: Double
        /// The longest `Retry-After` waited for; a longer one is waited for this long. Metrc asking
        /// for a minute is honoured (asking sooner would only be refused again), but a server
        /// asking for an hour must not hold a sync, and the catalog's look-ups with it, that long.
        public var longestRetryAfter: Double

        public init(attempts: Int, firstDelay: Double, maximumDelay: Double, longestRetryAfter: Double = 120) {
            self.attempts = max(1, attempts)
            self.firstDelay = firstDelay
            self.maximumDelay = maximumDelay
            self.longestRetryAfter = longestRetryAfter
        }

        /// Six tries over about a minute (1, 2, 4, 8, 16 s between them): a Metrc that is busy for
        /// a moment is waited for; one that is down is reported within the minute.
        public static let standard = Retry(attempts: 6, firstDelay: 1, maximumDelay: 30)

        /// The wait after failed try number `attempt`, at least what `Retry-After` asked within
        /// ``longestRetryAfter``.
        func delay(after attempt: Int, retryAfter: Double?) -> Double {
            let backoff = min(maximumDelay, firstDelay * Double(1 << min(max(0, attempt - 1), 20)))
            guard let retryAfter else { return backoff }
            return max(backoff, min(retryAfter, longestRetryAfter))
        }
    }

    /// The most a pause after a 429 is drawn out at random, as a fraction of it: threads (and
    /// other clients of the same facility) that were refused together do not all come back in
    /// the same instant to be refused together again. Only ever later, never before `Retry-After`.
    static let pauseJitter = 0.1

    /// How often a request waiting for one in flight to finish looks again.
    static let concurrencyPoll = 0.005

    /// A client for `api` over `transport`; `clock` is monotonic seconds, `jitter` a number in
    /// `0..<1` drawn for each pause after a 429 (see ``pauseJitter``).
    public init(api: MetrcAPI, transport: any MetrcTransport, retry: Retry = .standard,
                clock: @escaping @Sendable () -> Double = System.monotonicClock,
                sleep: @escaping @Sendable (Double) -> Void = MetrcClient.sleepSeconds,
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.api = api
        self.retry = retry
        self.transport = transport
        self.clock = clock
        self.sleep = sleep
        self.jitter = jitter
        pacer = Mutex(RequestPacer(perSecond: api.requestsPerSecond, concurrent: api.concurrentRequests))
    }

    /// How many GETs this client has sent, retries included.
    public var requestCount: Int { sent.load(ordering: .relaxed) }

    /// What Metrc answered: 200 with its body, or 404 for one package Metrc does not know.
    public struct Answer: Sendable, Equatable {
        public var status: Int
        public var body: [UInt8]
    }

    /// GETs `endpoint` (within `window`, at `page` in v2) until Metrc answers or gives a reason
    /// to stop. A 404 for ``MetrcEndpoint/package(label:)`` is an answer (the tag is unknown);
    /// 401, 403 and other 4xx are errors at once; the rest are tried again (``Retry``).
    public func get(_ endpoint: MetrcEndpoint, window: SyncWindow? = nil, page: Int? = nil) throws(MetrcError) -> Answer {
        var attempts = 0
        return try get(endpoint, window: window, page: page, attempts: &attempts)
    }

    /// ``get(_:window:page:)``, adding to `attempts` each GET it sends (a pull counts its own,
    /// whatever else the client is doing at the same time).
    func get(_ endpoint: MetrcEndpoint, window: SyncWindow?, page: Int?, attempts: inout Int) throws(MetrcError) -> Answer {
        if api.server.lowercased().hasPrefix("http://") && !api.isLoopback { throw .insecure(server: api.server) }
        let url = api.url(endpoint, window: window, page: page)
        // The path this client asks for (v1 or v2): a v1-only key refused at v2 must read so.
        let name = endpoint.path(api.version)
        var lastProblem = ""
        for attempt in 1...retry.attempts {
            waitForPlace()
            sent.add(1, ordering: .relaxed)
            attempts += 1
            let result = transport.get(url: url, user: api.vendorKey, password: api.userKey)
            pacer.withLock { $0.finish() }
            var retryAfter: Double?
            switch result {
            case .answered(let status, _, let body) where (200..<300).contains(status):
                return Answer(status: status, body: body)
            case .answered(404, _, let body) where !endpoint.isPaged:
                return Answer(status: 404, body: body)
            case .answered(401, _, let body):
                throw .unauthorized(endpoint: name, licenseNumber: api.licenseNumber, answer: Self.text(body))
            case .answered(403, _, let body):
                throw .forbidden(endpoint: name, answer: Self.text(body))
            case .answered(429, let after, let body):
                lastProblem = "HTTP 429" + (body.isEmpty ? "" : ": " + String(Self.text(body).prefix(200)))
                // Every thread waits, this one included: waitForPlace holds them all until then.
                let pause = retry.delay(after: attempt, retryAfter: after) * (1 + Self.pauseJitter * min(max(jitter(), 0), 1))
                pacer.withLock { pacer in pacer.pause(until: clock() + pause) }
                continue
            case .answered(let status, let after, let body) where status == 408 || status >= 500:
                lastProblem = "HTTP \(status)" + (body.isEmpty ? "" : ": " + String(Self.text(body).prefix(200)))
                retryAfter = after
            case .answered(let status, _, let body):
                throw .refused(endpoint: name, status: status, answer: Self.text(body))
            case .failed(let problem):
                lastProblem = problem
            }
            guard attempt < retry.attempts else { break }
            sleep(retry.delay(after: attempt, retryAfter: retryAfter))
        }
        throw .unreachable(endpoint: name, attempts: retry.attempts, lastProblem: lastProblem)
    }

    /// Blocks until the pacer lets one more request start, and records its start.
    private func waitForPlace() {
        while true {
            let wait: Double = pacer.withLock { pacer in
                // Read under the lock: a thread descheduled between reading the clock and taking
                // the lock would record its start too early, letting the span free its place too soon.
                let now = clock()
                guard let earliest = pacer.earliestStart(now: now) else { return Self.concurrencyPoll }
                if earliest <= now {
                    pacer.start(at: now)
                    return 0
                }
                return earliest - now
            }
            if wait == 0 { return }
            sleep(wait)
        }
    }

    private static func text(_ body: [UInt8]) -> String {
        String(decoding: body.prefix(4096), as: UTF8.self)
    }

    /// Sleeps `seconds` on this thread.
    @Sendable public static func sleepSeconds(_ seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }
}
