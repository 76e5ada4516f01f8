import BatchgateCore

// Reading and writing one entry of `alerts.sinks`: the settings every sink has, then those of its
// kind (HTTP or e-mail), refusing the settings of the other kind.

extension DaemonConfig.AlertSink {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, type, url, decisions, rateLimit, digestThreshold, headers, signing, from, to, username, password, starttls

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
        minimumInterval = try settings.setting(.rateLimit, .rateLimit, default: type.defaultMinimumInterval)
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

    /// Writes every setting that applies to the sink's type, as the config file writes it.
    /// - Throws: `EncodingError.invalidValue` for a ``minimumInterval`` no rate gives (such as 7s).
    public func encode(to encoder: any Encoder) throws {
        var settings = encoder.container(keyedBy: CodingKeys.self)
        try settings.encode(name, forKey: .name)
        try settings.encode(type.rawValue, forKey: .type)
        try settings.encode(url, forKey: .url)
        try settings.encode(decisions.map(\.rawValue), forKey: .decisions)
        guard let rate = RateText.format(minimumInterval) else {
            throw EncodingError.invalidValue(minimumInterval, EncodingError.Context(
                codingPath: settings.codingPath + [CodingKeys.rateLimit],
                debugDescription: "no rate such as 1/s, 30/m or 10/h gives this minimum interval"
            ))
        }
        try settings.encode(rate, forKey: .rateLimit)
        if type.sendsDigests { try settings.encode(digestThreshold, forKey: .digestThreshold) }
        if type.isHTTP {
            try settings.encode(HeaderMapping(headers: headers), forKey: .headers)
            try settings.encodeIfPresent(signing, forKey: .signing)
        }
        if let email {
            try settings.encode(email.from, forKey: .from)
            try settings.encode(email.to, forKey: .to)
            try settings.encodeIfPresent(email.username, forKey: .username)
            try settings.encodeIfPresent(email.password, forKey: .password)
            if case .inline(let text) = url, SinkURL.scheme(of: text) == "smtps" {} else {
                try settings.encode(email.starttls, forKey: .starttls)
            }
        }
    }
}

/// A sink's headers written as a mapping, in their order (kept by an encoder that keeps the order
/// of keys, such as Yams'; JSONEncoder does not).
private struct HeaderMapping: Encodable {
    var headers: [DaemonConfig.AlertSink.Header]

    func encode(to encoder: any Encoder) throws {
        var mapping = encoder.container(keyedBy: AnyCodingKey.self)
        for header in headers {
            try mapping.encode(header.value, forKey: AnyCodingKey(stringValue: header.name))
        }
    }
}

extension DaemonConfig.AlertSink.Email {
    typealias Keys = DaemonConfig.AlertSink.CodingKeys

    /// Reads the e-mail settings of a sink whose url is `url`.
    init(from settings: KeyedDecodingContainer<Keys>, url: SecretReference) throws {
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
        starttls = try settings.setting(.starttls, .boolean, default: true)
        if !starttls, password != nil {
            throw ConfigProblem(
                at: settings.path(of: .starttls),
                "the password would cross the network in clear; use smtps:// or keep starttls: true"
            )
        }
    }
}
