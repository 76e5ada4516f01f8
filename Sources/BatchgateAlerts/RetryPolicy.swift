import BatchgateConfig
/// When to try an alert again, and when to give up (docs/alerts.md): exponential backoff with jitter from
/// 1 s up to 10 min; `Retry-After` honoured on 429 and 503; 408 tried again like a timeout; any
/// other 4xx, and an SMTP server's 5xx about the message, is a refusal of the content (the sender
/// then tries the alert's minimal version once); the rest given up once the alert is older than
/// the maximum age (24 h by default). Pure: the caller supplies the answer, the alert's age and a
/// random fraction for the jitter.
public struct RetryPolicy: Sendable, Equatable {
    var firstDelay: Double
    var maximumDelay: Double
    var maximumAge: Double

    public init(firstDelay: Double = 1, maximumDelay: Double = 600, maximumAge: Double = DaemonConfig.Alerts().maxAge.seconds) {
        self.firstDelay = firstDelay
        self.maximumDelay = maximumDelay
        self.maximumAge = maximumAge
    }

    /// How one attempt ended.
    public enum Attempt: Sendable, Equatable {
        /// The endpoint answered with this status (and `Retry-After`, in seconds, if it sent one).
        case answered(status: Int, retryAfter: Double?)
        /// No answer: no connection, a timeout, a TLS failure.
        case failed(String)
        /// Refused for good without an HTTP status, for something other than the message: a login
        /// or a recipient refused, a setting missing. Sending any other version would not help.
        case refused(String)
        /// An SMTP server's 5xx about the message itself (its lines, size or content): another
        /// version of the alert may pass.
        case refusedContent(String)
    }

    /// What to do next. The reasons never repeat the answer, which the caller states beside them
    /// (``AlertAttemptResult/answer`` says what happened and what to check).
    public enum Verdict: Sendable, Equatable {
        case delivered
        case retry(afterSeconds: Double)
        /// The receiver refused this version of the alert (HTTP 4xx other than 408 and 429, an
        /// SMTP 5xx about the message): sending it again would not help, its minimal version may.
        case refusedContent
        /// No attempt will do better: why, in a few words (`sending it again would not help`).
        case giveUp(reason: String)
    }

    /// The verdict after attempt number `attempt` (1 for the first) of an alert `age` seconds old;
    /// `jitter` is a random fraction in 0..<1.
    public func verdict(after outcome: Attempt, attempt: Int, age: Double, jitter: Double) -> Verdict {
        var honoured: Double?
        switch outcome {
        case .answered(let status, _) where (200..<300).contains(status):
            return .delivered
        case .answered(let status, let retryAfter) where status == 429 || status == 503:
            honoured = retryAfter
        case .answered(let status, _) where (400..<500).contains(status) && status != 408:
            // Every such 4xx counts: which part of a request a receiver objects to is its own
            // business, and one minimal version costs a request. Those that more likely point at
            // the sink than at the alert (401, 404) say so in the answer (TransferProblem's advice).
            return .refusedContent
        case .refused:
            return .giveUp(reason: "sending it again would not help")
        case .refusedContent:
            return .refusedContent
        default:
            break
        }
        let backoff = min(maximumDelay, firstDelay * pow2(attempt - 1))
        // Full jitter in the upper half: spreads retries without ever waiting less than half.
        var delay = backoff / 2 + backoff / 2 * min(max(jitter, 0), 1)
        // Retry-After is honoured up to the longest backoff: a hint of a day must not, alone, make
        // the alert look too old to keep.
        if let honoured { delay = max(delay, min(honoured, maximumDelay)) }
        // The last try comes at the maximum age itself, not a backoff before it: an alert is kept
        // as long as alerts.maxAge says, and given up only once it is that old.
        let remaining = maximumAge - age
        guard remaining > 0 else {
            return .giveUp(reason: "still failing at its maximum age, alerts.maxAge \(DurationText.format(.seconds(Int(maximumAge.rounded()))))")
        }
        return .retry(afterSeconds: min(delay, remaining))
    }

    private func pow2(_ exponent: Int) -> Double {
        exponent >= 62 ? Double.greatestFiniteMagnitude : Double(1 << max(0, exponent))
    }
}
