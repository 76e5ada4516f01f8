import BatchgateCore

/// The kinds of place an alert can go: webhook, slack, teams, email (the config's sink types).
public typealias AlertSinkKind = DaemonConfig.AlertSink.SinkType

/// One HTTP header a sink adds to every request (an `Authorization` for a support desk, say).
public struct AlertHeader: Sendable, Equatable {
    public var name: String
    public var value: Secret

    public init(name: String, value: Secret) {
        self.name = name
        self.value = value
    }
}

/// How a sink signs its bodies: `<header>: sha256=<hex HMAC-SHA256 of the body>`.
public struct AlertSigning: Sendable, Equatable {
    public var secret: Secret
    public var header: String

    public static let defaultHeader = "X-Batchgate-Signature"

    public init(secret: Secret, header: String = AlertSigning.defaultHeader) {
        self.secret = secret
        self.header = header
    }
}

/// The SMTP side of an e-mail sink.
public struct EmailSettings: Sendable, Equatable {
    public var from: String
    public var to: [String]
    public var username: String?
    public var password: Secret?
    /// For `smtp://`: STARTTLS required (the default), so no mail crosses the network in clear.
    public var requireTLS: Bool

    public init(from: String, to: [String], username: String? = nil, password: Secret? = nil, requireTLS: Bool = true) {
        self.from = from
        self.to = to
        self.username = username
        self.password = password
        self.requireTLS = requireTLS
    }
}

/// A sink with its secrets resolved, as the senders use it.
public struct AlertSinkSettings: Sendable, Equatable {
    public var name: String
    public var kind: AlertSinkKind
    /// The webhook URL or the `smtp://` / `smtps://` server.
    public var url: Secret
    /// The decisions this sink hears about.
    public var decisions: Set<Decision>
    /// Seconds between two messages at least (0: no limit).
    public var minimumInterval: Double
    /// More than this many alerts waiting make one digest (0: never). Ignored for webhooks.
    public var digestThreshold: Int
    public var headers: [AlertHeader]
    public var signing: AlertSigning?
    public var email: EmailSettings?

    public init(name: String, kind: AlertSinkKind, url: Secret, decisions: Set<Decision> = [.needsBatch, .rejected],
                minimumInterval: Double? = nil, digestThreshold: Int? = nil, headers: [AlertHeader] = [],
                signing: AlertSigning? = nil, email: EmailSettings? = nil) {
        self.name = name
        self.kind = kind
        self.url = url
        self.decisions = decisions
        // Left out, the kind's defaults: Slack one message a second, digests past 5 for chat and mail.
        self.minimumInterval = minimumInterval ?? kind.defaultMinimumInterval.seconds
        self.digestThreshold = digestThreshold ?? kind.defaultDigestThreshold
        self.headers = headers
        self.signing = signing
        self.email = email
    }

    /// Whether alerts waiting for this sink are ever merged into a digest.
    public var digests: Bool { kind.sendsDigests && digestThreshold > 0 }
}

/// Everything the alert senders need: the sinks, the transfer limits and who the facility is.
public struct AlertSettings: Sendable, Equatable {
    public var sinks: [AlertSinkSettings]
    public var transfer: TransferOptions
    /// Alerts still failing after this many seconds are given up (moved to `outbox/dead/`).
    public var maximumAge: Double
    public var facilityName: String?
    public var licenseNumber: String?

    public init(sinks: [AlertSinkSettings] = [], transfer: TransferOptions = TransferOptions(), maximumAge: Double = 86_400,
                facilityName: String? = nil, licenseNumber: String? = nil) {
        self.sinks = sinks
        self.transfer = transfer
        self.maximumAge = maximumAge
        self.facilityName = facilityName
        self.licenseNumber = licenseNumber
    }

    /// The sink with this name.
    public func sink(named name: String) -> AlertSinkSettings? { sinks.first { $0.name == name } }
}
