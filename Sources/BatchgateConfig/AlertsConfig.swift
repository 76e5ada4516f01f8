import BatchgateCore

extension DaemonConfig {
    /// Where alerts about manifests go, and the limits on sending them: the `alerts:` section.
    ///
    /// With no sinks (the default) no alert is sent. TLS peers are always verified; ``caFile``
    /// adds trust and there is deliberately no setting to turn verification off.
    public struct Alerts: Decodable, Sendable, Equatable {
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
        static let connectTimeoutLimit: Duration = .seconds(60)
        /// The longest ``timeout`` allowed: 5 minutes.
        static let timeoutLimit: Duration = .seconds(300)
        /// The longest ``maxAge`` allowed: 7 days.
        static let maxAgeLimit: Duration = .seconds(7 * 24 * 3600)

        /// Alert settings with the given values; every argument left out takes its default (the
        /// one place these defaults are stated: decoding takes them from here).
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
    }
}
