import BatchgateConfig
import BatchgateHTTP
/// What sets one kind of sink apart: how it shows one alert, a digest of many and a notice about
/// the service, and what goes out to it. Each kind is one file of `Sinks/` (``Sinks/Webhook``,
/// ``Sinks/Slack``, ``Sinks/Teams``, ``Sinks/Email``), as Alertmanager's `notify/` has one
/// package per receiver; what every kind shares (the outbox, the sender's order and rate limit,
/// the retry policy, the libcurl transfers, redaction) knows no kind. Pure: the time and host
/// come from the caller.
protocol SinkKind {
    /// One alert, as the router writes it to the outbox for a sink of this kind.
    static func alert(_ message: AlertMessage) -> SinkMessage
    /// The alert's minimal version: the decision, the file, the counts and the report's path,
    /// plain, with nothing from the manifest's packages. Sent once when the receiver refuses
    /// ``alert(_:)`` for its content, before the alert is given up (docs/alerts.md).
    static func fallback(_ message: AlertMessage) -> SinkMessage
    /// One message that stands for the alerts `digest` lists.
    static func digest(_ digest: AlertDigest) -> SinkMessage
    /// A notice about the service itself (Metrc unreachable, reachable again), within the same
    /// limits and escaping as ``alert(_:)``: its texts may carry a server name or an error text.
    static func notice(_ notice: NoticeMessage) -> SinkMessage
    /// The notice's minimal version: its title and text, without the details. Sent once when the
    /// receiver refuses ``notice(_:)`` for its content, as an alert's ``fallback(_:)`` is.
    static func noticeFallback(_ notice: NoticeMessage) -> SinkMessage
    /// The largest digest body the sink takes, in bytes (`Int.max` when the limit is not a
    /// concern): a digest that would be larger lists fewer alerts, and the rest go in the next.
    static var digestBodyLimit: Int { get }
    /// What goes out for `delivery`: the POST of an HTTP sink or the mail of an e-mail sink, the
    /// mail dated `date` and its Message-ID naming `host`.
    static func request(for delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
                        host: String, date: Double) -> SinkRequest
}

extension SinkKind {
    static var digestBodyLimit: Int { .max }
}

/// The sink kinds, one file each under `Sinks/`.
enum Sinks {
    /// `text` on one line: control characters (line breaks, tabs, escape sequences, NUL) and
    /// Unicode's line and paragraph separators become spaces, so that a name from a manifest can
    /// neither start a line of its own that reads like one of ours ("Fix: none") nor send a
    /// control character on to a chat or a mail reader.
    static func oneLine(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator: scalars.append(" ")
            default: scalars.append(scalar)
            }
        }
        return String(scalars)
    }
}

extension DaemonConfig.AlertSink.SinkType {
    /// The code of this type of sink: the one place a type is mapped to its kind.
    var kind: any SinkKind.Type {
        switch self {
        case .webhook: Sinks.Webhook.self
        case .slack: Sinks.Slack.self
        case .teams: Sinks.Teams.self
        case .email: Sinks.Email.self
        }
    }
}

/// An alert or a digest as a kind of sink shows it: the JSON body of an HTTP sink, or the plain
/// text and subject of an e-mail.
struct SinkMessage: Sendable, Equatable {
    var body: [UInt8]
    /// The e-mail's subject; nil for HTTP sinks.
    var subject: String?

    /// The body as text, as the outbox keeps it.
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// What goes out for one delivery.
enum SinkRequest: Sendable {
    /// A POST to an HTTP sink.
    case post(HTTPRequest)
    /// A mail through an SMTP server.
    case mail(MailDelivery)
    /// Nothing can go: the sink lacks what its kind needs. `reason` is why the delivery is given
    /// up, `answer` what the log and the dead letter show as the answer.
    case refused(reason: String, answer: String)
}
