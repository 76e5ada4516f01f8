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

    /// What to do next.
    public enum Verdict: Sendable, Equatable {
        case delivered
        case retry(afterSeconds: Double)
        /// The receiver refused this version of the alert (HTTP 4xx other than 408 and 429, an
        /// SMTP 5xx about the message): sending it again would not help, its minimal version may.
        case refusedContent(reason: String)
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
            // the sink than at the alert say so, for the person reading the journal.
            let hint = switch status {
            case 401, 403: " (is the sink's token, header or signing secret right?)"
            case 404, 410: " (is the sink's URL right, and the webhook still there?)"
            default: ""
            }
            return .refusedContent(reason: "the endpoint refused the alert with HTTP \(status)\(hint)")
        case .refused(let message):
            return .giveUp(reason: "\(message); sending it again would not help")
        case .refusedContent(let message):
            return .refusedContent(reason: message)
        default:
            break
        }
        let backoff = min(maximumDelay, firstDelay * pow2(attempt - 1))
        // Full jitter in the upper half: spreads retries without ever waiting less than half.
        var delay = backoff / 2 + backoff / 2 * min(max(jitter, 0), 1)
        // Retry-After is honoured up to the longest backoff: a hint of a day must not, alone, make
        // the alert look too old to keep.
        if let honoured { delay = max(delay, min(honoured, maximumDelay)) }
        if age + delay > maximumAge {
            let what: String
            switch outcome {
            case .answered(let status, _): what = "HTTP \(status)"
            case .failed(let message), .refused(let message), .refusedContent(let message): what = message
            }
            return .giveUp(reason: "still failing after \(attempt) attempts over \(Int(age)) s (last: \(what)); the maximum age is \(Int(maximumAge)) s")
        }
        return .retry(afterSeconds: delay)
    }

    private func pow2(_ exponent: Int) -> Double {
        exponent >= 62 ? Double.greatestFiniteMagnitude : Double(1 << max(0, exponent))
    }
}
