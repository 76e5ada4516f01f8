import BatchgateSystem

/// An alert about the service itself rather than a manifest: Metrc, which the catalog is read
/// from, stopped answering, or answers again. It goes to every configured sink, whatever
/// decisions the sink alerts on, and is never merged into a digest (docs/alerts.md).
public struct ServiceNotice: Sendable, Equatable {
    /// What the notice is about; the raw value is its `event` in a webhook's body and, after
    /// `batchgate.`, its CloudEvents `ce-type`.
    public enum Kind: String, Sendable, CaseIterable {
        case catalogUnreachable = "catalog.unreachable"
        case catalogReachable = "catalog.reachable"
    }

    /// One labelled value shown under the text: "Server", "Since", "Waiting manifests", "Last error".
    public struct Detail: Sendable, Equatable {
        public var label: String
        public var value: String

        /// A value under its label.
        public init(_ label: String, _ value: String) {
            self.label = label
            self.value = value
        }
    }

    /// What it is about.
    public var kind: Kind
    /// Unique per notice: its alerts' ids (`Idempotency-Key`, the outbox's file names) are made
    /// from it as a manifest's are from its route id, so posting it again while it waits in the
    /// outbox changes nothing, and a receiver can drop a repeat by its key.
    public var id: String
    /// ISO 8601, as ``Timestamp/iso8601(_:)`` gives it.
    public var time: String
    /// "Metrc unreachable": the heading, to which each sink adds the facility.
    public var title: String
    /// One paragraph saying what happens and what to do.
    public var text: String
    /// Labelled values shown under the text, in this order.
    public var details: [Detail]

    /// A notice whose details are (label, value) pairs, kept in this order.
    public init(kind: Kind, id: String, time: String, title: String, text: String, details: [(String, String)]) {
        self.kind = kind
        self.id = id
        self.time = time
        self.title = title
        self.text = text
        self.details = details.map { Detail($0.0, $0.1) }
    }

    /// "Metrc unreachable": Metrc at `server` has not answered since `since` (seconds since
    /// 1970), `waiting` manifests wait for it, and `lastError` is what the last try met. `at` is
    /// now, the notice's time.
    public static func catalogUnreachable(id: String, at: Double, server: String, since: Double, waiting: Int,
                                          lastError: String) -> ServiceNotice {
        let waits = switch waiting {
        case 0: "Manifests that need it will wait in processing/"
        case 1: "1 manifest that needs it waits in processing/"
        default: "\(waiting) manifests that need it wait in processing/"
        }
        let text = "\(server) has not answered since \(Timestamp.iso8601(since)). \(waits) and will be decided automatically "
            + "once it answers; nothing is rejected because of it. If this lasts, check this server's network and Metrc's status."
        return ServiceNotice(kind: .catalogUnreachable, id: id, time: Timestamp.iso8601(at), title: "Metrc unreachable", text: text,
                             details: [("Server", server), ("Since", Timestamp.iso8601(since)), ("Waiting manifests", String(waiting)),
                                       ("Last error", lastError)])
    }

    /// "Metrc reachable again": Metrc at `server`, unreachable since `unreachableSince`, answered
    /// at `at`, and the `waiting` manifests that waited for it are being decided.
    public static func catalogReachable(id: String, at: Double, server: String, unreachableSince: Double, waiting: Int) -> ServiceNotice {
        let decided = switch waiting {
        case 0: "No manifest was waiting for it."
        case 1: "1 manifest that waited is being decided."
        default: "\(waiting) manifests that waited are being decided."
        }
        let text = "\(server) answers again, after \(spoken(at - unreachableSince)) without an answer "
            + "(since \(Timestamp.iso8601(unreachableSince))). \(decided)"
        return ServiceNotice(kind: .catalogReachable, id: id, time: Timestamp.iso8601(at), title: "Metrc reachable again", text: text,
                             details: [("Server", server), ("Unreachable since", Timestamp.iso8601(unreachableSince)),
                                       ("Waiting manifests", String(waiting))])
    }

    /// A span of time as a person says it: "40 s", "45 min", "3 h 5 min".
    static func spoken(_ seconds: Double) -> String {
        let whole = Int(max(0, seconds).rounded())
        if whole < 60 { return "\(whole) s" }
        let minutes = whole / 60
        if minutes < 60 { return "\(minutes) min" }
        return minutes % 60 == 0 ? "\(minutes / 60) h" : "\(minutes / 60) h \(minutes % 60) min"
    }
}

/// A notice as the sinks show it: with the host it comes from and the facility it is for, and
/// every text bounded. The texts come from the service but may carry a server name or an error
/// that libcurl or Metrc wrote, so they are as untrusted as a manifest's: bounded here, before
/// any sink or the outbox sees them, and then shown by each sink as text, never as markup.
struct NoticeMessage: Sendable, Equatable {
    var id: String
    var kind: ServiceNotice.Kind
    var time: String
    var licenseNumber: String?
    var facility: String?
    var host: String
    var title: String
    var text: String
    var details: [ServiceNotice.Detail]

    /// Bounds, in code points, far above what a notice needs, so that a runaway error text (a
    /// whole HTML error page) cannot make an outbox file too large to read back
    /// (``Outbox/largestFile``); each sink cuts further to its own limits.
    enum Bound {
        static let title = 200
        static let text = 4_000
        static let label = 200
        static let value = 2_000
        /// Past it, a last detail says how many more there were.
        static let details = 20
    }

    init(_ notice: ServiceNotice, licenseNumber: String?, facility: String?, host: String) {
        // It names the outbox's files and goes into ids and headers, as a route id does.
        id = OutboxEntry.safeName(notice.id)
        kind = notice.kind
        time = notice.time
        self.licenseNumber = licenseNumber
        self.facility = facility
        self.host = host
        title = Sinks.Slack.fitted(notice.title, within: Bound.title)
        text = Sinks.Slack.fitted(notice.text, within: Bound.text)
        var details = notice.details.prefix(Bound.details).map { detail in
            ServiceNotice.Detail(Sinks.Slack.fitted(detail.label, within: Bound.label), Sinks.Slack.fitted(detail.value, within: Bound.value))
        }
        if notice.details.count > Bound.details {
            details.append(ServiceNotice.Detail("More", "\(notice.details.count - Bound.details) more details were left out"))
        }
        self.details = details
    }

    /// "Metrc unreachable (North Plant, 402-00123)": the title and where, as a manifest alert's
    /// title names its place.
    var headline: String {
        let place = [facility, licenseNumber].compactMap { $0 }.joined(separator: ", ")
        return place.isEmpty ? title : "\(title) (\(place))"
    }

    /// What happened, as webhooks and CloudEvents' `ce-type` name it: `catalog.unreachable`.
    var event: String { kind.rawValue }

    /// A line standing for the notice should it ever be listed with others (it never joins a
    /// digest; see ``OutboxEntry/isServiceNotice``).
    var digestLine: String { "\(headline) — \(text)" }
}
