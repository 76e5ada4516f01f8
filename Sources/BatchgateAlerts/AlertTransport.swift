import BatchgateSystem
import BatchgateConfig
import BatchgateHTTP
/// One message for one sink: a single alert or a digest of several.
public struct AlertDelivery: Sendable, Equatable {
    /// Stable across retries, sent as `Idempotency-Key` (and the mail's Message-ID).
    var id: String
    /// The JSON body for an HTTP sink, the plain text of an e-mail.
    var body: [UInt8]
    /// The e-mail's subject.
    var subject: String?
    /// How many alerts the message stands for.
    var alertCount: Int
    /// What happened, for a single alert: `manifest.needs-batch` (a webhook's `event`, CloudEvents'
    /// `ce-type`); nil for a digest.
    var event: String?
    /// Wall-clock seconds since 1970 when it happened (the alert was written as its manifest was
    /// routed): CloudEvents' `ce-time`.
    var occurredAt: Double?

    public init(id: String, body: [UInt8], subject: String? = nil, alertCount: Int = 1, event: String? = nil,
                occurredAt: Double? = nil) {
        self.id = id
        self.body = body
        self.subject = subject
        self.alertCount = alertCount
        self.event = event
        self.occurredAt = occurredAt
    }
}

/// How an attempt ended, with the answer in words for the log and the dead letter.
public struct AlertAttemptResult: Sendable, Equatable {
    public var attempt: RetryPolicy.Attempt
    /// `HTTP 202: <first KiB of the answer>`, `SMTP 250`, or the transfer error.
    public var answer: String
    /// For a mail the server took: the recipients it refused (they did not get it).
    var refusedRecipients: [String]
    /// The kind of failure, for telling a sink's new trouble from more of the same; nil when
    /// the attempt delivered.
    var problem: TransferProblem?

    /// A result; without `problem`, the kind is told from the attempt alone (its HTTP status,
    /// else one kind for every failure without one).
    init(attempt: RetryPolicy.Attempt, answer: String, refusedRecipients: [String] = [], problem: TransferProblem? = nil) {
        self.attempt = attempt
        self.answer = answer
        self.refusedRecipients = refusedRecipients
        switch attempt {
        case .answered(let status, _) where (200..<300).contains(status): self.problem = nil
        case .answered(let status, _): self.problem = problem ?? TransferProblem(httpStatus: status)
        case .failed, .refused, .refusedContent: self.problem = problem ?? .transfer(0)
        }
    }
}

/// Sends a delivery to a sink and says how it went. Blocking: called from a sender's own queue.
/// ``LibcurlAlertTransport`` is the real one; tests may give a fake.
public protocol AlertTransport: Sendable {
    func send(_ delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
              options: DaemonConfig.Alerts) -> AlertAttemptResult
}

/// HTTP sinks through ``HTTPTransfer`` and e-mail through ``MailTransfer``, both on libcurl.
public struct LibcurlAlertTransport: AlertTransport {
    /// The host named in Message-IDs.
    var host: String

    public init(host: String = AlertPlanner.hostName()) {
        self.host = host
    }

    /// The most of an answer kept, in UTF-8 bytes: `HTTP 400: `, what to check
    /// (``TransferProblem/advice(peer:options:)``) and the first KiB of the body.
    static let keptAnswerBytes = HTTPTransfer.keptBodyBytes + 320

    /// Sends, and returns the result with the sink's secrets scrubbed from the answer: the one
    /// place every answer passes before the log, the outbox and `alert test` see it.
    public func send(_ delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
                     options: DaemonConfig.Alerts) -> AlertAttemptResult {
        let redactor = Redactor(sink: sink, secrets: secrets)
        var result = redactor.scrub(attempt(delivery, to: sink, secrets: secrets, options: options, readAhead: redactor.longestForm))
        // Cut only now: a secret that ran over the end of what is kept was read whole and removed.
        result.answer = Self.clipped(result.answer, toUTF8: Self.keptAnswerBytes)
        return result
    }

    /// One attempt, its answer as it came: what goes out is the sink kind's ``SinkKind/request(for:to:secrets:host:date:)``.
    /// `readAhead` more bytes than are kept are read of an HTTP body, so that a secret starting
    /// within the kept part is seen whole by the redactor.
    private func attempt(_ delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
                         options: DaemonConfig.Alerts, readAhead: Int) -> AlertAttemptResult {
        switch sink.type.kind.request(for: delivery, to: sink, secrets: secrets, host: host, date: System.wallClock()) {
        case .post(let request): post(request, options: options, readAhead: readAhead)
        case .mail(let mail): submit(mail, options: options)
        case .refused(let reason, let answer): AlertAttemptResult(attempt: .refused(reason), answer: answer)
        }
    }

    /// A POST to an HTTP sink: its status, and the start of its body on one line.
    private func post(_ request: HTTPRequest, options: DaemonConfig.Alerts, readAhead: Int) -> AlertAttemptResult {
        do {
            let answer = try HTTPTransfer.post(request, options: options.transferOptions, keepingBodyBytes: Self.keptAnswerBytes + readAhead)
            return AlertAttemptResult(attempt: .answered(status: answer.status, retryAfter: answer.retryAfter),
                                      answer: answer.explained(options: options.transferOptions))
        } catch {
            let text = error.explained(peer: .receiver, options: options.transferOptions)
            return AlertAttemptResult(attempt: .failed(text), answer: text, problem: TransferProblem(curlCode: error.code))
        }
    }

    /// Mail through an SMTP server: a message the server took counts as delivered (`SMTP 250`),
    /// and the recipients it refused are named, as they did not get it. A 5xx about the message
    /// itself is a refusal of this content (its minimal version may pass); a refused login,
    /// sender or recipient is a refusal for good, as any version would meet it again.
    private func submit(_ mail: MailDelivery, options: DaemonConfig.Alerts) -> AlertAttemptResult {
        do {
            let receipt = try MailTransfer.send(mail, options: options)
            var answer = "SMTP \(receipt.status)"
            if !receipt.refused.isEmpty {
                answer += "; the server refused " + receipt.refused.map { "\($0.address) (\($0.reply))" }.joined(separator: ", ")
            }
            return AlertAttemptResult(attempt: .answered(status: 200, retryAfter: nil), answer: answer,
                                      refusedRecipients: receipt.refused.map(\.address))
        } catch {
            let attempt: RetryPolicy.Attempt = if error.refusesMessage {
                .refusedContent(error.description)
            } else if error.isPermanent {
                .refused(error.description)
            } else {
                .failed(error.description)
            }
            return AlertAttemptResult(attempt: attempt, answer: error.description, problem: error.problem)
        }
    }

    /// The longest prefix of `text` of at most `limit` UTF-8 bytes that ends between two characters.
    static func clipped(_ text: String, toUTF8 limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var end = text.startIndex
        var used = 0
        for index in text.indices {
            let next = text.index(after: index)
            used += text.utf8.distance(from: index, to: next)
            if used > limit { break }
            end = next
        }
        return String(text[..<end])
    }
}
