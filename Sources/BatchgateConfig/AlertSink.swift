import BatchgateCore

extension DaemonConfig {
    /// One place alerts go: a webhook, a Slack or Teams channel, or e-mail recipients; one entry
    /// of `alerts.sinks`.
    ///
    /// Which settings apply depends on ``type``: ``headers`` and ``signing`` are for HTTP sinks
    /// (webhook, slack, teams) only, ``email`` is set for e-mail sinks and only for them, and
    /// ``digestThreshold`` is 0 for webhooks. Decoding refuses a setting of the other kind. The
    /// secrets it names are read by ``DaemonConfig/sinkSecrets(resolver:fileName:)``.
    public struct AlertSink: Decodable, Sendable, Equatable {
        /// The sink's name: 1 to 64 letters, digits, `-` and `_`, unique among the sinks.
        public var name: String
        /// Where the alerts go and in what form.
        public var type: SinkType
        /// The webhook URL (`http://` or `https://`) or mail server (`smtp://` or `smtps://`).
        var url: SecretReference
        /// The decisions alerted on, in the order of `Decision.allCases`, each once; never empty.
        public var decisions: [Decision]
        /// Whether a manifest accepted or needing a batch with pre-flight check warnings is
        /// alerted even when ``decisions`` leaves its decision out (default true).
        public var warnings: Bool
        /// The shortest time between two messages to the sink; zero for no limit. Written as a
        /// rate (`1/s`, `30/m`, `10/h`; see ``RateText``).
        public var rateLimit: Duration
        /// When more than this many alerts wait, one digest is sent instead of them; 0 for never
        /// (always 0 for a webhook).
        public var digestThreshold: Int
        /// Headers added to each request, in the order written (HTTP sinks only).
        public var headers: [Header]
        /// How requests are signed, or nil for not signed (HTTP sinks only).
        public var signing: Signing?
        /// The e-mail settings: set for an e-mail sink, nil for the others.
        public var email: Email?

        /// The decisions alerted on when none are written.
        public static let defaultDecisions: [Decision] = [.needsBatch, .rejected]
        /// ``warnings`` when none is written: a warning is meant to be seen.
        public static let defaultWarnings = true
        /// The largest ``digestThreshold`` allowed.
        static let largestDigestThreshold = 1000

        /// A sink with the given settings. A nil `rateLimit` or `digestThreshold` takes the
        /// type's default; `decisions` are put in order, each once.
        public init(
            name: String,
            type: SinkType,
            url: SecretReference,
            decisions: [Decision] = AlertSink.defaultDecisions,
            warnings: Bool = AlertSink.defaultWarnings,
            rateLimit: Duration? = nil,
            digestThreshold: Int? = nil,
            headers: [Header] = [],
            signing: Signing? = nil,
            email: Email? = nil
        ) {
            self.name = name
            self.type = type
            self.url = url
            self.decisions = Decision.allCases.filter(decisions.contains)
            self.warnings = warnings
            self.rateLimit = rateLimit ?? type.defaultRateLimit
            self.digestThreshold = digestThreshold ?? type.defaultDigestThreshold
            self.headers = headers
            self.signing = signing
            self.email = email
        }

        /// Whether alerts go over HTTP (webhook, slack, teams).
        var isHTTP: Bool { type.isHTTP }
        /// Whether many waiting alerts go as one digest: a digest-capable type with a threshold.
        public var sendsDigests: Bool { type.sendsDigests && digestThreshold > 0 }
        /// Whether messages to the sink are spaced out.
        public var isRateLimited: Bool { rateLimit > .zero }

        /// Whether a manifest given `decision` is alerted to this sink.
        public func alertsOn(_ decision: Decision) -> Bool {
            decisions.contains(decision)
        }

        /// Whether a manifest given `decision` is alerted to this sink when its pre-flight checks
        /// warned (`hasCheckWarnings`): as ``alertsOn(_:)``, and also, with ``warnings``, when it
        /// was accepted or needs a batch. A rejected manifest is alerted by its decision alone: the
        /// sink that chose not to hear of rejections is not told of one for a warning.
        public func alertsOn(_ decision: Decision, hasCheckWarnings: Bool) -> Bool {
            alertsOn(decision) || (warnings && hasCheckWarnings && decision != .rejected)
        }

        /// This sink with every relative secret file path resolved against `baseDirectory`.
        func resolvingRelativePaths(against baseDirectory: String) -> AlertSink {
            let resolve = { (reference: SecretReference) in reference.resolvingRelativePath(against: baseDirectory) }
            var sink = self
            sink.url = resolve(url)
            sink.headers = headers.map { Header(name: $0.name, value: resolve($0.value)) }
            if let signing { sink.signing = Signing(secret: resolve(signing.secret), header: signing.header) }
            sink.email?.password = email?.password.map(resolve)
            return sink
        }
    }
}

// MARK: - The parts of a sink: its type, its headers, its signing and its e-mail settings

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
        var isHTTP: Bool { self != .email }
        /// Whether many waiting alerts may go as one digest (slack, teams, email).
        var sendsDigests: Bool { self != .webhook }
        /// The ``AlertSink/rateLimit`` when none is written: 1s for Slack (its limit for an
        /// incoming webhook is one message a second), none for the others.
        var defaultRateLimit: Duration { self == .slack ? .seconds(1) : .zero }
        /// The ``AlertSink/digestThreshold`` when none is written: 5, or 0 for a webhook.
        var defaultDigestThreshold: Int { sendsDigests ? 5 : 0 }
        /// The URL schemes the sink's url may have, in lower case.
        var urlSchemes: [String] { isHTTP ? ["http", "https"] : ["smtp", "smtps"] }
    }

    /// A header added to each request of an HTTP sink (an `Authorization` for a support desk, say).
    public struct Header: Sendable, Equatable {
        /// The header's name, as written.
        public var name: String
        /// Where the header's value comes from (a token, say).
        var value: SecretReference

        /// A header called `name` with the value `value`.
        public init(name: String, value: SecretReference) {
            self.name = name
            self.value = value
        }
    }

    /// How an HTTP sink's requests are signed: `<header>: sha256=<hex HMAC-SHA256 of the body>`,
    /// keyed with ``secret``.
    public struct Signing: Decodable, Sendable, Equatable {
        /// The key the body is signed with.
        var secret: SecretReference
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
        var password: SecretReference?
        /// For an `smtp://` url, whether STARTTLS is required (true, the default), so that no mail
        /// crosses the network in clear, or the mail goes in clear (false; refused with a
        /// password). Not used with `smtps://`, which is encrypted from the start.
        public var starttls: Bool

        /// ``starttls`` when none is written.
        public static let defaultStarttls = true

        /// E-mail from `from` to `to`, logging in as `username` with `password` when given.
        public init(
            from: String, to: [String], username: String? = nil, password: SecretReference? = nil,
            starttls: Bool = Email.defaultStarttls
        ) {
            self.from = from
            self.to = to
            self.username = username
            self.password = password
            self.starttls = starttls
        }
    }
}

// MARK: - Reading one entry of `alerts.sinks`: the settings every sink has, then those of its kind
// (HTTP or e-mail), refusing the settings of the other kind.

extension DaemonConfig.AlertSink {
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, type, url, decisions, warnings, rateLimit, digestThreshold, headers, signing, from, to, username, password, starttls

        /// The settings of HTTP sinks (webhook, slack, teams) only.
        static let httpOnly: [Self] = [.headers, .signing]
        /// The settings of e-mail sinks only.
        static let emailOnly: [Self] = [.from, .to, .username, .password, .starttls]
    }

    /// Reads one sink, each optional key left out taking its default; see ``DaemonConfig/init(from:)``.
    /// - Throws: `ConfigProblem` for a missing name, type or url (or, for e-mail, from or to), a
    ///   setting of another type's, a value of the wrong kind or out of range, or an inline url
    ///   whose scheme does not suit the type.
    public init(from decoder: any Decoder) throws {
        let settings = try decoder.settings(keyedBy: CodingKeys.self)
        name = try settings.requiredSetting(
            .name, .sinkName, missing: "needs a name: 1 to 64 letters, digits, - and _, such as compliance-slack")
        let type = try settings.requiredSetting(.type, .sinkType, missing: "needs a type: webhook, slack, teams or email")
        self.type = type
        try Self.refuseSettingsOfOtherTypes(in: settings, type: type)
        url = try settings.required(
            .url, missing: "needs a url, written inline or as {file: PATH}, {credential: NAME} or {env: NAME}"
        ) { decoder in
            let url = try SecretReference(from: decoder)
            if case .inline(let text) = url, let problem = SinkURL.problem(with: text, schemes: type.urlSchemes) {
                throw ConfigProblem(at: decoder.codingPath, problem)
            }
            return url
        }
        decisions = try Self.decisions(in: settings)
        warnings = try settings.setting(.warnings, .boolean, default: Self.defaultWarnings)
        rateLimit = try settings.setting(.rateLimit, .rateLimit, default: type.defaultRateLimit)
        digestThreshold = type.sendsDigests
            ? try settings.setting(.digestThreshold, .digestThreshold, default: type.defaultDigestThreshold)
            : 0
        if type.isHTTP {
            signing = try settings.decodeIfPresent(Signing.self, forKey: .signing)
            headers = try Self.headers(in: settings, signingHeader: signing?.header)
            email = nil
        } else {
            signing = nil
            headers = []
            email = try Email(from: settings, url: url)
        }
    }

    /// Throws for the first setting that belongs to another type of sink.
    private static func refuseSettingsOfOtherTypes(in settings: KeyedDecodingContainer<CodingKeys>, type: SinkType) throws {
        if let key = (type.isHTTP ? CodingKeys.emailOnly : CodingKeys.httpOnly).first(where: settings.contains) {
            let reason = type.isHTTP
                ? "is an email setting; this sink's type is \(type.rawValue)"
                : "is a setting of HTTP sinks (webhook, slack, teams); this sink's type is email"
            throw ConfigProblem(at: settings.path(of: key), reason)
        }
        if !type.sendsDigests, settings.contains(.digestThreshold) {
            throw ConfigProblem(
                at: settings.path(of: .digestThreshold),
                "webhook sinks send every alert on its own; digests are for chat and mail sinks"
            )
        }
    }

    private static func decisions(in settings: KeyedDecodingContainer<CodingKeys>) throws -> [Decision] {
        let written = try settings.listSetting(
            .decisions, of: .decision, expected: "a list of decisions, such as [needs-batch, rejected]",
            default: defaultDecisions
        )
        let path = settings.path(of: .decisions)
        guard !written.isEmpty else {
            let names = Decision.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigProblem(at: path, "must list at least one of \(names); found an empty list")
        }
        for (index, decision) in written.enumerated() where written[..<index].contains(decision) {
            throw ConfigProblem(
                at: ConfigPath(path.components + [.index(index)]), "\(decision.rawValue) is listed twice; keep one")
        }
        return Decision.allCases.filter(written.contains)
    }

    /// The `headers` mapping, in the order written. Refuses names that are not HTTP header names,
    /// the headers batchgate sets itself, a name given twice (in two cases) and an inline value
    /// of more than one line.
    private static func headers(in settings: KeyedDecodingContainer<CodingKeys>, signingHeader: String?) throws -> [Header] {
        guard settings.contains(.headers), try !settings.decodeNil(forKey: .headers) else { return [] }
        let decoder = try settings.superDecoder(forKey: .headers)
        guard let mapping = try? decoder.container(keyedBy: AnyCodingKey.self) else {
            let found = decoder.writtenValue() == .list ? "a list" : "a value (not shown: it may be secret)"
            throw ConfigProblem(
                at: decoder.codingPath,
                "must be a mapping of header names to values, such as {Authorization: {credential: NAME}}; found \(found)"
            )
        }
        var headers: [Header] = []
        for key in mapping.allKeys {
            let name = key.stringValue
            let path = ConfigPath(decoder.codingPath).appending(key: name)
            var refusal: String?
            if !HTTPHeaderName.isValid(name) {
                refusal = "is not a header name: write letters, digits and !#$%&'*+-.^_`|~ only"
            } else if HTTPHeaderName.isSetByBatchgate(name) {
                refusal = "is set by batchgate itself (\(HTTPHeaderName.setByBatchgateList)); remove it"
            } else if let signingHeader, HTTPHeaderName.same(name, signingHeader) {
                refusal = "is the header batchgate sends the signature in (signing.header); remove it"
            } else if let earlier = headers.first(where: { HTTPHeaderName.same($0.name, name) }) {
                refusal = "is the header \(earlier.name) again (header names ignore case); keep one"
            }
            if let refusal { throw ConfigProblem(at: path, refusal) }
            let value = try SecretReference(from: mapping.superDecoder(forKey: key))
            if case .inline(let text) = value, text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                throw ConfigProblem(
                    at: path, "must be one line; found a line break or NUL (not shown: the value may be secret)")
            }
            headers.append(Header(name: name, value: value))
        }
        return headers
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
}

extension DaemonConfig.AlertSink.Email {
    public typealias Keys = DaemonConfig.AlertSink.CodingKeys

    /// Reads the e-mail settings of a sink whose url is `url`.
    public init(from settings: KeyedDecodingContainer<Keys>, url: SecretReference) throws {
        from = try settings.requiredSetting(
            .from, .emailAddress, missing: "needs from: the address alerts come from, such as batchgate@plant.example.com")
        to = try settings.required(
            .to, missing: "needs to: the addresses alerts go to, such as [compliance@plant.example.com]"
        ) { decoder in
            if case .text = decoder.writtenValue() { return [try SettingFormat.emailAddress.read(from: decoder)] }
            let addresses = try decoder.entries(
                expected: "an e-mail address or a list of them, such as [compliance@plant.example.com]",
                read: SettingFormat.emailAddress.read
            )
            guard !addresses.isEmpty else {
                throw ConfigProblem(at: decoder.codingPath, "must list at least one address; found an empty list")
            }
            return addresses
        }
        username = try settings.optionalSetting(.username, .text("the user name to log in to the mail server with"))
        if settings.contains(.password), try !settings.decodeNil(forKey: .password) {
            password = try SecretReference(from: settings.superDecoder(forKey: .password))
            guard username != nil else {
                throw ConfigProblem(at: settings.path(of: .password), "needs a username to log in with; add username")
            }
        } else {
            password = nil
        }
        if settings.contains(.starttls), case .inline(let text) = url, SinkURL.scheme(of: text) == "smtps" {
            throw ConfigProblem(
                at: settings.path(of: .starttls),
                "applies to smtp:// only; an smtps:// connection is encrypted from the start, so remove it"
            )
        }
        starttls = try settings.setting(.starttls, .boolean, default: Self.defaultStarttls)
        if !starttls, password != nil {
            throw ConfigProblem(
                at: settings.path(of: .starttls),
                "the password would cross the network in clear; use smtps:// or keep starttls: true"
            )
        }
    }
}
