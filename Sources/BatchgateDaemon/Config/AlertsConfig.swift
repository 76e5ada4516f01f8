import BatchgateCore

extension DaemonConfig {
    /// Where alerts about manifests go, and the limits on sending them: the `alerts:` section.
    ///
    /// With no sinks (the default) no alert is sent. TLS peers are always verified; ``caFile``
    /// adds trust and there is deliberately no setting to turn verification off.
    public struct Alerts: Codable, Sendable, Equatable {
        /// How long connecting to a sink may take (more than 0, at most 1m).
        public var connectTimeout: Duration
        /// How long one transfer may take in all, connecting included (more than 0, at most 5m,
        /// and at least ``connectTimeout``).
        public var timeout: Duration
        /// A PEM file of CA certificates trusted besides the system's, or nil for none.
        public var caFile: String?
        /// An alert not delivered by this age is given up on (more than 0, at most 7 days).
        public var maxAge: Duration
        /// Where alerts go, in the order written; names are unique.
        public var sinks: [AlertSink]

        /// The longest ``connectTimeout`` allowed: 1 minute.
        public static let connectTimeoutLimit: Duration = .seconds(60)
        /// The longest ``timeout`` allowed: 5 minutes.
        public static let timeoutLimit: Duration = .seconds(300)
        /// The longest ``maxAge`` allowed: 7 days.
        public static let maxAgeLimit: Duration = .seconds(7 * 24 * 3600)

        /// Alert settings with the given values; every argument left out takes its default.
        public init(
            connectTimeout: Duration = .seconds(5),
            timeout: Duration = .seconds(15),
            caFile: String? = nil,
            maxAge: Duration = .seconds(24 * 3600),
            sinks: [AlertSink] = []
        ) {
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.caFile = caFile
            self.maxAge = maxAge
            self.sinks = sinks
        }

        /// These settings with the CA file and every secret file resolved against `baseDirectory`.
        func resolvingRelativePaths(against baseDirectory: String) -> Alerts {
            var alerts = self
            alerts.caFile = caFile.map { FilePaths.resolve($0, against: baseDirectory) }
            alerts.sinks = sinks.map { $0.resolvingRelativePaths(against: baseDirectory) }
            return alerts
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case connectTimeout, timeout, caFile, maxAge, sinks
        }

        /// Reads the settings, each key left out taking its default; see ``DaemonConfig/init(from:)``.
        /// Also refuses a ``timeout`` shorter than ``connectTimeout`` and two sinks of one name.
        public init(from decoder: any Decoder) throws {
            let settings = try decoder.settings(keyedBy: CodingKeys.self)
            let defaults = Alerts()
            connectTimeout = try settings.setting(
                .connectTimeout, .positiveDuration(upTo: Self.connectTimeoutLimit), default: defaults.connectTimeout)
            timeout = try settings.setting(.timeout, .positiveDuration(upTo: Self.timeoutLimit), default: defaults.timeout)
            caFile = try settings.optionalSetting(.caFile, .path(to: "a PEM file of CA certificates"))
            maxAge = try settings.setting(.maxAge, .alertMaxAge, default: defaults.maxAge)
            if settings.contains(.sinks), try !settings.decodeNil(forKey: .sinks) {
                sinks = try settings.superDecoder(forKey: .sinks).entries(
                    expected: "a list of sinks, each a mapping with a name, type and url", read: AlertSink.init(from:))
            } else {
                sinks = []
            }
            try checkTimeouts(settings)
            try checkNamesAreUnique(at: settings.path(of: .sinks))
        }

        private func checkTimeouts(_ settings: KeyedDecodingContainer<CodingKeys>) throws {
            guard timeout < connectTimeout else { return }
            let reason: String, key: CodingKeys
            if settings.contains(.timeout) {
                key = .timeout
                reason = "must be at least connectTimeout (\(DurationText.format(connectTimeout))), as it includes connecting"
            } else {
                key = .connectTimeout
                reason = "must be at most timeout (\(DurationText.format(timeout)) by default), which includes connecting"
            }
            let written = try settings.superDecoder(forKey: key).writtenValue().described
            throw ConfigProblem(at: settings.path(of: key), "\(reason); found \(written)")
        }

        private func checkNamesAreUnique(at path: ConfigPath) throws {
            for (index, sink) in sinks.enumerated() {
                guard let first = sinks[..<index].firstIndex(where: { $0.name == sink.name }) else { continue }
                let firstPath = ConfigPath(path.components + [.index(first)]).keyPath(showingLastPosition: true) ?? ""
                throw ConfigProblem(
                    at: ConfigPath(path.components + [.index(index), .key("name")]),
                    "\"\(sink.name)\" is the name of \(firstPath) already; give each sink a name of its own"
                )
            }
        }

        /// Writes every setting as the config file writes it; see ``DaemonConfig/encode(to:)``.
        public func encode(to encoder: any Encoder) throws {
            var settings = encoder.container(keyedBy: CodingKeys.self)
            try settings.encode(DurationText.format(connectTimeout), forKey: .connectTimeout)
            try settings.encode(DurationText.format(timeout), forKey: .timeout)
            try settings.encodeIfPresent(caFile, forKey: .caFile)
            try settings.encode(DurationText.format(maxAge), forKey: .maxAge)
            try settings.encode(sinks, forKey: .sinks)
        }
    }

    /// One place alerts go: a webhook, a Slack or Teams channel, or e-mail recipients.
    ///
    /// Which settings apply depends on ``type``: ``headers`` and ``signing`` are for HTTP sinks
    /// (webhook, slack, teams) only, ``email`` is set for e-mail sinks and only for them, and
    /// ``digestThreshold`` is 0 for webhooks. Decoding refuses a setting of the other kind.
    public struct AlertSink: Codable, Sendable, Equatable {
        /// The sink's name: 1 to 64 letters, digits, `-` and `_`, unique among the sinks.
        public var name: String
        /// Where the alerts go and in what form.
        public var type: SinkType
        /// The webhook URL (`http://` or `https://`) or mail server (`smtp://` or `smtps://`).
        public var url: SecretReference
        /// The decisions alerted on, in the order of `Decision.allCases`, each once; never empty.
        public var decisions: [Decision]
        /// The shortest time between two messages to the sink; zero for no limit.
        public var minimumInterval: Duration
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
        /// The largest ``digestThreshold`` allowed.
        public static let largestDigestThreshold = 1000

        /// A sink with the given settings. A nil `minimumInterval` or `digestThreshold` takes the
        /// type's default; `decisions` are put in order, each once.
        public init(
            name: String,
            type: SinkType,
            url: SecretReference,
            decisions: [Decision] = AlertSink.defaultDecisions,
            minimumInterval: Duration? = nil,
            digestThreshold: Int? = nil,
            headers: [Header] = [],
            signing: Signing? = nil,
            email: Email? = nil
        ) {
            self.name = name
            self.type = type
            self.url = url
            self.decisions = Decision.allCases.filter(decisions.contains)
            self.minimumInterval = minimumInterval ?? type.defaultMinimumInterval
            self.digestThreshold = digestThreshold ?? type.defaultDigestThreshold
            self.headers = headers
            self.signing = signing
            self.email = email
        }

        /// Whether alerts go over HTTP (webhook, slack, teams).
        public var isHTTP: Bool { type.isHTTP }
        /// Whether the sink is a chat channel (slack, teams).
        public var isChat: Bool { type.isChat }
        /// Whether the sink is e-mail.
        public var isEmail: Bool { type == .email }
        /// Whether many waiting alerts go as one digest: a digest-capable type with a threshold.
        public var sendsDigests: Bool { type.sendsDigests && digestThreshold > 0 }
        /// Whether messages to the sink are spaced out.
        public var isRateLimited: Bool { minimumInterval > .zero }

        /// Whether a manifest given `decision` is alerted to this sink.
        public func alertsOn(_ decision: Decision) -> Bool {
            decisions.contains(decision)
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
