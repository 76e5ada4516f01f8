import BatchgateSystem

extension DaemonConfig {
    /// `catalog.metrc`: the facility's account at Metrc's API, from which the catalog is synced.
    ///
    /// ```yaml
    /// catalog:
    ///   metrc:
    ///     server: https://api-wv.metrc.com
    ///     licenseNumber: 402R-00123
    ///     vendorKey: {credential: metrc-vendor-key}
    ///     userKey: {credential: metrc-user-key}
    /// ```
    public struct Metrc: Decodable, Sendable, Equatable {
        /// `https://api-<state>.metrc.com`, its sandbox, or a server on this machine (plain http is
        /// allowed there only: tests, a local proxy). No path.
        public var server: String
        /// The facility's licence, sent with every request.
        public var licenseNumber: String
        /// The software vendor's API key (the Basic user name).
        public var vendorKey: SecretReference
        /// The user's API key (the Basic password); it carries that person's permissions, which
        /// must include viewing items and packages.
        public var userKey: SecretReference
        /// `v2` (paged; every state documents it) or `v1` for states that still need it.
        public var apiVersion: APIVersion
        /// How often the catalog is synced while the daemon runs.
        public var refresh: Duration
        /// How far back the first sync reads (a package older than that is fetched by its label
        /// when a manifest names it).
        public var history: Duration
        /// GETs started in any second, at most. Metrc allows 50 per facility, shared with every
        /// other program using the facility's keys, so the default leaves half to them.
        public var requestsPerSecond: Int
        /// GETs in flight at once, at most (Metrc allows 10 per facility; the default leaves half).
        public var concurrentRequests: Int
        /// How long the look-ups a batch of manifests needs may take before the manifests that
        /// need them wait for Metrc instead.
        public var lookupTimeout: Duration

        /// Metrc's API versions.
        public enum APIVersion: String, Sendable, Equatable, CaseIterable {
            case v1, v2
        }

        /// Metrc's documented limits for one facility.
        public static let maximumRequestsPerSecond = 50
        public static let maximumConcurrentRequests = 10
        /// The shortest refresh: a sync of a quiet facility is a handful of GETs, but more often
        /// than this only spends the facility's shared rate.
        public static let shortestRefresh = Duration.seconds(30)
        /// The longest history: Metrc's records reach back to a state's start, a decade at most.
        public static let longestHistory = Duration.seconds(3_660 * 86_400)

        /// An account with the given settings; every argument left out takes its default (the one
        /// place these defaults are stated: decoding takes them from here).
        public init(server: String, licenseNumber: String, vendorKey: SecretReference, userKey: SecretReference,
                    apiVersion: APIVersion = .v2, refresh: Duration = .seconds(300), history: Duration = .seconds(365 * 86_400),
                    requestsPerSecond: Int = 25, concurrentRequests: Int = 5, lookupTimeout: Duration = .seconds(10)) {
            self.server = server
            self.licenseNumber = licenseNumber
            self.vendorKey = vendorKey
            self.userKey = userKey
            self.apiVersion = apiVersion
            self.refresh = refresh
            self.history = history
            self.requestsPerSecond = requestsPerSecond
            self.concurrentRequests = concurrentRequests
            self.lookupTimeout = lookupTimeout
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case server, licenseNumber, vendorKey, userKey, apiVersion, refresh, history, requestsPerSecond,
                 concurrentRequests, lookupTimeout
        }

        /// Reads the settings: `server`, `licenseNumber` and both keys are required, the rest take
        /// their defaults; see ``DaemonConfig/init(from:)``.
        public init(from decoder: any Decoder) throws {
            let settings = try decoder.settings(keyedBy: CodingKeys.self)
            let missing = "needs server, licenseNumber, vendorKey and userKey (Metrc's API of the facility)"
            let defaults = Metrc(server: "", licenseNumber: "", vendorKey: .inline(""), userKey: .inline(""))
            server = try settings.requiredSetting(.server, .metrcServer, missing: missing)
            licenseNumber = try settings.requiredSetting(.licenseNumber, .text("a license number such as 402R-00123"), missing: missing)
            vendorKey = try settings.required(.vendorKey, missing: missing) { try SecretReference(from: $0) }
            userKey = try settings.required(.userKey, missing: missing) { try SecretReference(from: $0) }
            apiVersion = try settings.setting(.apiVersion, .oneOfTheNames, default: defaults.apiVersion)
            refresh = try settings.setting(.refresh, .duration(from: Self.shortestRefresh, to: SettingFormat.longest), default: defaults.refresh)
            history = try settings.setting(.history, .duration(from: .seconds(86_400), to: Self.longestHistory), default: defaults.history)
            requestsPerSecond = try settings.setting(.requestsPerSecond, .count(upTo: Self.maximumRequestsPerSecond,
                                                                                 "Metrc's limit for one facility"),
                                                     default: defaults.requestsPerSecond)
            concurrentRequests = try settings.setting(.concurrentRequests, .count(upTo: Self.maximumConcurrentRequests,
                                                                                   "Metrc's limit for one facility"),
                                                      default: defaults.concurrentRequests)
            lookupTimeout = try settings.setting(.lookupTimeout, .duration(from: .seconds(1), to: .seconds(60)), default: defaults.lookupTimeout)
        }
    }

    /// The keys of ``Metrc``, read through a ``SecretResolver``. Kept apart from the config, like
    /// ``SinkSecrets``, so the config can be shown and compared without holding a key.
    public struct MetrcKeys: Sendable, Equatable {
        public var vendorKey: Secret
        public var userKey: Secret

        init(vendorKey: Secret, userKey: Secret) {
            self.vendorKey = vendorKey
            self.userKey = userKey
        }
    }

    /// The keys of `catalog.metrc`, read through `resolver`; nil when no Metrc account is configured.
    /// - Throws: ``ConfigError`` naming the file, the key and the secret that could not be had, or a
    ///   key with a space, colon or line break (Basic auth could not carry it as written).
    public func metrcKeys(resolver: SecretResolver, fileName: String) throws(ConfigError) -> MetrcKeys? {
        guard let metrc = catalog.metrc else { return nil }
        func resolve(_ reference: SecretReference, _ field: String) throws(ConfigError) -> Secret {
            let key = "catalog.metrc.\(field)"
            let value: Secret
            do {
                value = try resolver.resolve(reference)
            } catch {
                throw ConfigError(file: fileName, key: key, reason: "\(error)")
            }
            // A key pasted with a line break or padded would be refused by Metrc as a wrong key,
            // which sends the user looking at the wrong thing; a colon would split Basic's pair.
            guard !value.exposedValue.isEmpty,
                  !value.exposedValue.contains(where: { $0.isWhitespace || $0 == ":" || $0 == "\0" }) else {
                throw ConfigError(file: fileName, key: key,
                                  reason: "the \(reference) is empty or holds a space, line break or colon; an API key is one word")
            }
            return value
        }
        return MetrcKeys(vendorKey: try resolve(metrc.vendorKey, "vendorKey"), userKey: try resolve(metrc.userKey, "userKey"))
    }
}

extension SettingFormat where Value == String {
    /// Metrc's server: an https URL with no path, or http to this machine.
    static var metrcServer: Self {
        Self(expected: "an https URL such as https://api-wv.metrc.com (no path)") { text throws(SettingRefusal) in
            let server = text.hasSuffix("/") ? String(text.dropLast()) : text
            let lowered = server.lowercased()
            guard let schemeEnd = lowered.range(of: "://") else { throw .unreadable }
            let scheme = lowered[..<schemeEnd.lowerBound]
            let rest = server[schemeEnd.upperBound...]
            guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@"), !rest.contains("?"),
                  !rest.contains(where: { $0.isWhitespace }) else {
                throw .notAllowed("an https URL with a host and no path, user or query, such as https://api-wv.metrc.com")
            }
            switch scheme {
            case "https":
                return server
            case "http" where URIComponent.hasLoopbackHost(server):
                return server
            case "http":
                throw .notAllowed("https (plain http would send the API keys readable over the network; it is allowed only to 127.0.0.1, [::1] or localhost)")
            default:
                throw .unreadable
            }
        }
    }
}

extension SettingFormat where Value == Int {
    /// A whole number from 1 to `limit`; `why` names where the limit comes from.
    static func count(upTo limit: Int, _ why: String) -> Self {
        Self(expected: "a whole number from 1 to \(limit)") { text throws(SettingRefusal) in
            guard let value = Int(text) else { throw .unreadable }
            guard value >= 1, value <= limit else { throw .notAllowed("from 1 to \(limit) (\(why))") }
            return value
        }
    }
}

extension SettingFormat where Value == Duration {
    /// A duration from `shortest` to `longest`.
    static func duration(from shortest: Duration, to longest: Duration) -> Self {
        let range = "from \(DurationText.format(shortest)) to \(DurationText.format(longest))"
        return Self(expected: "a duration such as 5m or 1h, \(range)") { text throws(SettingRefusal) in
            let duration = try DurationText.duration(text, upTo: longest)
            guard duration >= shortest else { throw .notAllowed(range) }
            return duration
        }
    }
}
