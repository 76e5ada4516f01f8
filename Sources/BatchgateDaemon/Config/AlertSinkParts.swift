// The parts of an alert sink's settings: its type, its headers, its signing and its e-mail settings.

extension DaemonConfig.AlertSink {
    /// Where a sink's alerts go and what they look like.
    public enum SinkType: String, CaseIterable, Sendable {
        /// A JSON POST to any HTTP endpoint, one per alert.
        case webhook
        /// A Slack incoming webhook.
        case slack
        /// A Microsoft Teams incoming webhook (workflow).
        case teams
        /// E-mail through an SMTP server.
        case email

        /// Whether alerts are POSTed over HTTP (webhook, slack, teams).
        public var isHTTP: Bool { self != .email }
        /// Whether the sink is a chat channel (slack, teams).
        public var isChat: Bool { self == .slack || self == .teams }
        /// Whether many waiting alerts may go as one digest (slack, teams, email).
        public var sendsDigests: Bool { self != .webhook }
        /// The ``AlertSink/minimumInterval`` when none is written: 1s for Slack (its limit
        /// for an incoming webhook is one message a second), none for the others.
        public var defaultMinimumInterval: Duration { self == .slack ? .seconds(1) : .zero }
        /// The ``AlertSink/digestThreshold`` when none is written: 5, or 0 for a webhook.
        public var defaultDigestThreshold: Int { sendsDigests ? 5 : 0 }
        /// The URL schemes the sink's url may have, in lower case.
        public var urlSchemes: [String] { isHTTP ? ["http", "https"] : ["smtp", "smtps"] }
    }

    /// A header added to each request of an HTTP sink.
    public struct Header: Sendable, Equatable {
        /// The header's name, as written.
        public var name: String
        /// Where the header's value comes from (a token, say).
        public var value: SecretReference

        /// A header called `name` with the value `value`.
        public init(name: String, value: SecretReference) {
            self.name = name
            self.value = value
        }
    }

    /// How an HTTP sink's requests are signed: an HMAC-SHA256 of the body with ``secret``,
    /// sent in the header ``header``.
    public struct Signing: Codable, Sendable, Equatable {
        /// The key the body is signed with.
        public var secret: SecretReference
        /// The header the signature goes in.
        public var header: String

        /// The header used when none is written.
        public static let defaultHeader = "X-Batchgate-Signature"

        /// Signing with `secret`, the signature sent in `header`.
        public init(secret: SecretReference, header: String = Signing.defaultHeader) {
            self.secret = secret
            self.header = header
        }
    }

    /// The e-mail settings of an e-mail sink.
    public struct Email: Sendable, Equatable {
        /// The sender's address.
        public var from: String
        /// The recipients' addresses; never empty.
        public var to: [String]
        /// The user name to log in to the mail server with, or nil to send without logging in.
        public var username: String?
        /// The password that goes with ``username``, or nil for none.
        public var password: SecretReference?
        /// For an `smtp://` url, whether STARTTLS is required (true, the default) or the mail
        /// goes in clear (false; refused with a password). Not used with `smtps://`.
        public var starttls: Bool

        /// E-mail from `from` to `to`, logging in as `username` with `password` when given.
        public init(
            from: String, to: [String], username: String? = nil, password: SecretReference? = nil, starttls: Bool = true
        ) {
            self.from = from
            self.to = to
            self.username = username
            self.password = password
            self.starttls = starttls
        }
    }
}

extension DaemonConfig.AlertSink.Signing {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case secret, header
    }

    /// Reads `signing:`; the secret is required.
    public init(from decoder: any Decoder) throws {
        if case .text = decoder.writtenValue() {
            throw ConfigProblem(
                at: decoder.codingPath,
                "must be a mapping of settings (secret, header), such as {secret: {credential: NAME}}; "
                    + "found text (not shown: it may be secret)"
            )
        }
        let settings = try decoder.settings(keyedBy: CodingKeys.self)
        secret = try settings.required(
            .secret, missing: "needs a secret: the key requests are signed with, such as {credential: NAME}",
            read: SecretReference.init(from:)
        )
        header = try settings.setting(.header, .signingHeaderName, default: Self.defaultHeader)
    }

    /// Writes the secret as ``SecretReference`` does, and the header.
    public func encode(to encoder: any Encoder) throws {
        var settings = encoder.container(keyedBy: CodingKeys.self)
        try settings.encode(secret, forKey: .secret)
        try settings.encode(header, forKey: .header)
    }
}
