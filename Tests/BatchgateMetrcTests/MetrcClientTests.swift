import Synchronization
import Testing
@testable import BatchgateMetrc

/// Time the test drives: `sleep` moves it on at once, so pacing and backoff are checked to the
/// millisecond without waiting.
final class VirtualTime: Sendable {
    private let now = Mutex<Double>(1_000)
    private let slept = Mutex<[Double]>([])

    var clock: @Sendable () -> Double { { [self] in now.withLock { $0 } } }
    var sleep: @Sendable (Double) -> Void {
        { [self] seconds in
            slept.withLock { $0.append(seconds) }
            now.withLock { $0 += seconds }
        }
    }
    var sleeps: [Double] { slept.withLock { $0 } }
    var current: Double { now.withLock { $0 } }
}

/// A second worker of one client, started from inside the first's wait.
final class OtherWorker: @unchecked Sendable {
    private let lock = Mutex<Void>(())
    /// Set once; taken by the first wait.
    var client: MetrcClient?
    var result: Result<MetrcClient.Answer, MetrcError>?

    func takeClient() -> MetrcClient? {
        lock.withLock { _ in
            defer { client = nil }
            return client
        }
    }
}

/// Answers from a script, recording each URL and the time it was asked.
final class ScriptedMetrc: MetrcTransport {
    private let state = Mutex<(script: [MetrcTransportResult], asked: [(url: String, user: String, password: String, at: Double)])>(([], []))
    let time: VirtualTime

    init(time: VirtualTime, _ script: [MetrcTransportResult] = []) {
        self.time = time
        state.withLock { $0.script = script }
    }

    var asked: [(url: String, user: String, password: String, at: Double)] { state.withLock { $0.asked } }

    func get(url: String, user: String, password: String) -> MetrcTransportResult {
        state.withLock { state in
            state.asked.append((url, user, password, time.current))
            return state.script.isEmpty ? .answered(status: 200, retryAfter: nil, body: Array("[]".utf8)) : state.script.removeFirst()
        }
    }
}

@Suite("Metrc client")
struct MetrcClientTests {
    static let api = MetrcAPI(server: "https://api-wv.metrc.com/", licenseNumber: "PR-000123", vendorKey: "vendor", userKey: "user")

    func client(_ script: [MetrcTransportResult], api: MetrcAPI = Self.api) -> (MetrcClient, ScriptedMetrc, VirtualTime) {
        let time = VirtualTime()
        let transport = ScriptedMetrc(time: time, script)
        return (MetrcClient(api: api, transport: transport, clock: time.clock, sleep: time.sleep, jitter: { 0 }), transport, time)
    }

    static func answer(_ status: Int, _ body: String = "", retryAfter: Double? = nil) -> MetrcTransportResult {
        .answered(status: status, retryAfter: retryAfter, body: Array(body.utf8))
    }

    // MARK: Requests

    @Test func urlsCarryTheLicenceTheWindowAndThePage() {
        let window = SyncWindow(start: 1_764_806_400, end: 1_764_892_800)  // 2025-12-04, one day
        #expect(Self.api.url(.activePackages, window: window, page: 3)
                == "https://api-wv.metrc.com/packages/v2/active?licenseNumber=PR-000123"
                + "&lastModifiedStart=2025-12-04T00%3A00%3A00%2B00%3A00&lastModifiedEnd=2025-12-05T00%3A00%3A00%2B00%3A00"
                + "&pageNumber=3&pageSize=20")
        #expect(Self.api.url(.package(label: "1A4FF0100000022000000001"))
                == "https://api-wv.metrc.com/packages/v2/1A4FF0100000022000000001?licenseNumber=PR-000123")
        var v1 = Self.api
        v1.version = .v1
        #expect(v1.url(.activeItems, window: window, page: 2).hasPrefix("https://api-wv.metrc.com/items/v1/active?licenseNumber=PR-000123&lastModifiedStart="))
        #expect(!v1.url(.activeItems, window: window, page: 2).contains("pageNumber"), "v1 has no paging")
        #expect(MetrcAPI.queryEncoded("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9")
    }

    @Test func windowsAreADayAtMostOldestFirst() {
        let windows = SyncWindow.plan(from: 0, to: 3.5 * 86_400)
        #expect(windows.map(\.start) == [0, 86_400, 172_800, 259_200])
        #expect(windows.last?.end == 3.5 * 86_400)
        #expect(windows.allSatisfy { $0.end - $0.start <= SyncWindow.longest })
        #expect(SyncWindow.plan(from: 10, to: 10).isEmpty)
        #expect(SyncWindow.plan(from: 10, to: 5).isEmpty)
    }

    @Test func limitsAreMetrcsAtMost() {
        let greedy = MetrcAPI(server: "https://x", licenseNumber: "L", vendorKey: "v", userKey: "u", requestsPerSecond: 500, concurrentRequests: 0)
        #expect(greedy.requestsPerSecond == 50 && greedy.concurrentRequests == 1)
    }

    // MARK: Pacing

    @Test func thePacerKeepsToTheRateAndTheConcurrency() {
        var pacer = RequestPacer(perSecond: 3, concurrent: 2)
        #expect(pacer.earliestStart(now: 0) == 0)
        pacer.start(at: 0)
        pacer.start(at: 0.1)
        #expect(pacer.earliestStart(now: 0.2) == nil, "two in flight: wait for one to finish")
        pacer.finish()
        pacer.finish()
        pacer.start(at: 0.2)
        pacer.finish()
        // The span is 1.25 s (RequestPacer.span): what Metrc counts as a second, with room for jitter.
        #expect(pacer.earliestStart(now: 0.3) == 1.25, "three in the span: the first leaves it at 1.25")
        #expect(pacer.earliestStart(now: 1.2) == 1.25)
        #expect(pacer.earliestStart(now: 1.3) == 1.3, "the start at 0 has left the span")
        pacer.start(at: 1.3)
        pacer.finish()
        #expect(abs(pacer.earliestStart(now: 1.31)! - 1.35) < 1e-9, "0.1, 0.2 and 1.3 in the span: the next place is at 1.35")
        #expect(pacer.earliestStart(now: 2.5) == 2.5)
    }

    @Test func aHundredAndTwentyGETsNeverPassFiftyInAnySecond() throws {
        let (client, transport, time) = client([])
        for _ in 0..<120 { _ = try client.get(.activeItems, window: SyncWindow(start: 0, end: 1), page: 1) }
        let starts = transport.asked.map(\.at)
        for start in starts {
            #expect(starts.filter { $0 >= start && $0 < start + 1 }.count <= 50)
        }
        #expect(time.current - 1_000 >= 2.0, "120 at 50 a second take two seconds at least")
        #expect(client.requestCount == 120)
        #expect(transport.asked.allSatisfy { $0.user == "vendor" && $0.password == "user" }, "Basic auth: vendor key, user key")
    }

    // MARK: Answers

    @Test func aBusyOrFailingMetrcIsAskedAgainWithBackoffAndRetryAfter() throws {
        let (client, transport, time) = client([Self.answer(503), .failed("Timeout was reached (curl error 28)"),
                                               Self.answer(429, retryAfter: 7), Self.answer(200, "[]")])
        let answer = try client.get(.activePackages, window: SyncWindow(start: 0, end: 1), page: 1)
        #expect(answer.status == 200)
        #expect(transport.asked.count == 4)
        #expect(time.sleeps.filter { $0 >= 1 } == [1, 2, 7], "1 s, 2 s, then Retry-After's 7 s over the 4 s backoff")
    }

    @Test func afterEveryAttemptMetrcIsUnreachableWithTheLastProblem() {
        let (client, transport, _) = client(Array(repeating: Self.answer(502, "Bad Gateway"), count: MetrcClient.Retry.standard.attempts))
        #expect(throws: MetrcError.unreachable(endpoint: "/packages/v2/onhold", attempts: 6, lastProblem: "HTTP 502: Bad Gateway")) {
            try client.get(.onHoldPackages, window: SyncWindow(start: 0, end: 1), page: 1)
        }
        #expect(transport.asked.count == MetrcClient.Retry.standard.attempts)
        let error = MetrcError.unreachable(endpoint: "/packages/v2/onhold", attempts: 6, lastProblem: "HTTP 502: Bad Gateway")
        #expect(error.isTransient)
        #expect(error.description == "Metrc did not answer /packages/v2/onhold after 6 attempts (last: HTTP 502: Bad Gateway)")
    }

    @Test func refusedKeysAndMissingPermissionsSayWhichAtOnce() {
        let (keys, keysTransport, _) = client([Self.answer(401, "Unauthorized")])
        do {
            _ = try keys.get(.activePackages, window: SyncWindow(start: 0, end: 1), page: 1)
            Issue.record("a 401 must throw")
        } catch {
            #expect(error.description == "Metrc refused the keys for /packages/v2/active (HTTP 401: Unauthorized): check the vendor key "
                    + "and the user key, and that the licence PR-000123 is one their user may act for")
            #expect(!error.isTransient)
        }
        #expect(keysTransport.asked.count == 1, "never asked again")

        let (permission, _, _) = client([Self.answer(403, "")])
        #expect(throws: MetrcError.forbidden(endpoint: "/items/v2/active", answer: "")) {
            try permission.get(.activeItems, window: SyncWindow(start: 0, end: 1), page: 1)
        }
        #expect(MetrcError.forbidden(endpoint: "/packages/v2/active", answer: "").description.contains("View Packages"))

        let (window, _, _) = client([Self.answer(400, #"{"Message":"The date range may not exceed 24 hours."}"#)])
        #expect(throws: MetrcError.refused(endpoint: "/packages/v2/active", status: 400,
                                           answer: #"{"Message":"The date range may not exceed 24 hours."}"#)) {
            try window.get(.activePackages, window: SyncWindow(start: 0, end: 1), page: 1)
        }
    }

    @Test func anUnknownLabelIsAnAnswerNotAnError() throws {
        let (client, _, _) = client([Self.answer(404, "")])
        let answer = try client.get(.package(label: "1A4FF0100000022000000999"))
        #expect(answer.status == 404)
        let (list, _, _) = self.client([Self.answer(404, "")])
        #expect(throws: MetrcError.self) { try list.get(.activeItems, window: SyncWindow(start: 0, end: 1), page: 1) }
    }

    @Test func backoffDoublesUpToTheLongestWait() {
        #expect((1...7).map { MetrcClient.Retry.standard.delay(after: $0, retryAfter: nil) } == [1, 2, 4, 8, 16, 30, 30])
        #expect(MetrcClient.Retry.standard.delay(after: 1, retryAfter: 45) == 45, "a Retry-After over the longest backoff is honoured")
        #expect(MetrcClient.Retry.standard.delay(after: 1, retryAfter: 600) == 120, "up to two minutes")
    }

    // MARK: A 429 pauses the whole client

    @Test func aPauseHoldsEveryStartUntilItEnds() {
        var pacer = RequestPacer(perSecond: 50, concurrent: 10)
        pacer.pause(until: 45)
        #expect(pacer.earliestStart(now: 0) == 45)
        pacer.pause(until: 30)
        #expect(pacer.earliestStart(now: 10) == 45, "a shorter pause never shortens a longer one")
        #expect(pacer.earliestStart(now: 46) == 46)
    }

    @Test func a429OnOneThreadHoldsBackTheOthersUntilItsRetryAfter() throws {
        let time = VirtualTime()
        let transport = ScriptedMetrc(time: time, [Self.answer(429, retryAfter: 45), Self.answer(200, "[]"), Self.answer(200, "[]")])
        let other = OtherWorker()
        // The first wait is the pause the 429 began: another worker asks for its page during it,
        // before any time has passed.
        let sleep: @Sendable (Double) -> Void = { seconds in
            if let client = other.takeClient() {
                other.result = Result { () throws(MetrcError) in try client.get(.activeItems, window: SyncWindow(start: 0, end: 1), page: 2) }
            }
            time.sleep(seconds)
        }
        let client = MetrcClient(api: Self.api, transport: transport, clock: time.clock, sleep: sleep, jitter: { 0 })
        other.client = client
        #expect(try client.get(.activeItems, window: SyncWindow(start: 0, end: 1), page: 1).status == 200)
        #expect(try other.result?.get().status == 200)
        let asked = transport.asked
        #expect(asked.count == 3)
        #expect(asked[0].at == 1_000 && asked[0].url.contains("pageNumber=1"))
        #expect(asked[1].url.contains("pageNumber=2") && asked[1].at == 1_045, "the other worker waited out the Retry-After (above 30 s)")
        #expect(asked[2].url.contains("pageNumber=1") && asked[2].at >= 1_045)
    }

    @Test func aPauseIsDrawnOutAtRandomButNeverShortened() throws {
        let time = VirtualTime()
        let transport = ScriptedMetrc(time: time, [Self.answer(429, retryAfter: 600), Self.answer(429), Self.answer(200, "[]")])
        let client = MetrcClient(api: Self.api, transport: transport, clock: time.clock, sleep: time.sleep, jitter: { 0.5 })
        _ = try client.get(.activeItems, window: SyncWindow(start: 0, end: 1), page: 1)
        let waits = zip(transport.asked.dropFirst(), transport.asked).map { $0.at - $1.at }
        // 600 s asked: two minutes at most, then 5 % more; no Retry-After: the 2 s backoff, 5 % more.
        #expect(waits.count == 2 && abs(waits[0] - 126) < 1e-6 && abs(waits[1] - 2.1) < 1e-6, "\(waits)")
    }
}
