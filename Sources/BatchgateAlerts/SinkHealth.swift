import BatchgateSystem
import BatchgateHTTP

/// How one sink's deliveries go, as its log tells a person: a warning when it starts failing, one
/// when its failure changes kind (no DNS answer, then a refused certificate; a 503, then a 401), a
/// notice when it delivers again, and a summary on demand while it fails. Everything between is
/// more of the same, which the sender logs at debug level only: a sink down for a day is a handful
/// of lines, not one per retry of every alert.
///
/// Pure: the sender feeds it each attempt's outcome with the time and the count waiting, and
/// logs the line it returns.
struct SinkHealth {
    let sink: String
    /// The outbox folder, named in the lines.
    let folder: String
    /// Set while the sink fails; nil while it delivers.
    private(set) var failure: Failure?

    /// A sink's current trouble.
    struct Failure: Equatable {
        /// Wall-clock seconds since 1970 of the first failed attempt in a row.
        var since: Double
        /// The kind of the latest failure: a change of it is logged.
        var problem: TransferProblem
        /// The latest answer (what happened and what to check), for the summary.
        var answer: String
    }

    /// How one attempt (an alert or a digest) went, as far as the sink's health goes. A refusal of
    /// one alert's content tells nothing about the sink and is not fed.
    enum Outcome: Equatable {
        case delivered
        /// `retrying` when the alerts are tried again later; false when they are refused for good.
        case failed(TransferProblem, answer: String, retrying: Bool)
    }

    /// A line for the log.
    struct Line: Equatable {
        var level: LogLevel
        var text: String
    }

    init(sink: String, folder: String) {
        self.sink = sink
        self.folder = folder
    }

    /// Takes an attempt's outcome at `now`; `waiting` alerts were held when it ended (for a
    /// delivery: held before it, the delivered ones included). Returns the line to log when the
    /// state changed, nil when it is more of the same.
    mutating func record(_ outcome: Outcome, at now: Double, waiting: Int) -> Line? {
        switch outcome {
        case .delivered:
            guard let failure else { return nil }
            self.failure = nil
            return Line(level: .notice, text: "\(sink) delivers again after \(ElapsedText.format(now - failure.since)) failing; \(waiting) alert(s) had waited")
        case .failed(let problem, let answer, let retrying):
            let fate = retrying ? "retried with backoff" : "those it refuses so are given up into \(folder)/dead"
            guard var failure else {
                failure = Failure(since: now, problem: problem, answer: answer)
                return Line(level: .warning, text: "\(sink) cannot deliver: \(answer); \(waiting) alert(s) wait in \(folder), \(fate)")
            }
            let changed = failure.problem != problem
            failure.problem = problem
            failure.answer = answer
            self.failure = failure
            guard changed else { return nil }
            return Line(level: .warning, text: "\(sink) still cannot deliver, now for another reason: \(answer); failing since \(Timestamp.iso8601(failure.since)), \(waiting) alert(s) wait in \(folder), \(fate)")
        }
    }

    /// The periodic line while the sink fails and alerts wait for it; nil otherwise (with none
    /// waiting, no attempt is made, so there is nothing new to tell).
    func summary(at now: Double, waiting: Int, oldestWaitingSince: Double?) -> Line? {
        guard let failure, waiting > 0 else { return nil }
        let oldest = oldestWaitingSince.map { ", oldest \(ElapsedText.format(now - $0))" } ?? ""
        return Line(level: .warning, text: "\(sink) still failing since \(Timestamp.iso8601(failure.since)) (\(ElapsedText.format(now - failure.since))): \(waiting) waiting\(oldest), last answer: \(failure.answer)")
    }
}
