extension DaemonConfig {
    /// The settings the daemon runs with, from this configuration (paths already resolved), with
    /// every alert secret read through `secrets`.
    /// - Throws: ``ConfigError`` naming the file `fileName`, the sink's key and the secret that
    ///   could not be had, or a resolved value that cannot be used (a URL of the wrong scheme, a
    ///   header value with a line break).
    public func settings(secrets: SecretResolver, fileName: String) throws(ConfigError) -> DaemonSettings {
        DaemonSettings(
            layout: StateLayout(root: stateRoot, inbox: inbox),
            rescanInterval: rescanInterval.seconds,
            quietPeriod: quietPeriod.seconds,
            maxManifestSize: maxManifestSize,
            syncToDisk: fsync,
            itemsFile: catalog.items,
            packagesFile: catalog.packages,
            rules: rules.ruleSettings,
            logLevel: log.level,
            alerts: try alertSettings(secrets: secrets, fileName: fileName))
    }

    /// The alert settings with their secrets resolved.
    func alertSettings(secrets: SecretResolver, fileName: String) throws(ConfigError) -> AlertSettings {
        var sinks: [AlertSinkSettings] = []
        for (index, sink) in alerts.sinks.enumerated() {
            let key = "alerts.sinks[\(index + 1)]"
            func resolve(_ reference: SecretReference, _ field: String) throws(ConfigError) -> Secret {
                do {
                    return try secrets.resolve(reference)
                } catch {
                    throw ConfigError(file: fileName, key: "\(key).\(field)", reason: "\(error) (sink \(sink.name))")
                }
            }
            let url = try resolve(sink.url, "url")
            let scheme = url.exposedValue.split(separator: ":", maxSplits: 1).first.map { $0.lowercased() } ?? ""
            guard url.exposedValue.contains("://"), sink.type.urlSchemes.contains(scheme) else {
                throw ConfigError(file: fileName, key: "\(key).url",
                                  reason: "the \(sink.url) must hold a \(sink.type.urlSchemes.map { $0 + "://" }.joined(separator: " or ")) URL for a \(sink.type.rawValue) sink (sink \(sink.name))")
            }
            guard !url.exposedValue.contains(where: { $0.isNewline || $0 == " " }) else {
                throw ConfigError(file: fileName, key: "\(key).url", reason: "the \(sink.url) holds a space or line break (sink \(sink.name))")
            }
            var headers: [AlertHeader] = []
            for header in sink.headers {
                let value = try resolve(header.value, "headers.\(header.name)")
                guard !value.exposedValue.contains(where: { $0.isNewline || $0 == "\0" }) else {
                    throw ConfigError(file: fileName, key: "\(key).headers.\(header.name)",
                                      reason: "the \(header.value) holds a line break, which would end the header (sink \(sink.name))")
                }
                headers.append(AlertHeader(name: header.name, value: value))
            }
            let signing = try sink.signing.map { signing throws(ConfigError) in
                AlertSigning(secret: try resolve(signing.secret, "signing.secret"), header: signing.header)
            }
            let email = try sink.email.map { email throws(ConfigError) in
                EmailSettings(from: email.from, to: email.to, username: email.username,
                              password: try email.password.map { reference throws(ConfigError) in try resolve(reference, "password") },
                              requireTLS: scheme == "smtps" || email.starttls)
            }
            sinks.append(AlertSinkSettings(
                name: sink.name, kind: sink.type, url: url, decisions: Set(sink.decisions),
                minimumInterval: sink.minimumInterval.seconds, digestThreshold: sink.digestThreshold, headers: headers,
                signing: signing, email: email))
        }
        return AlertSettings(
            sinks: sinks,
            transfer: TransferOptions(connectTimeout: alerts.connectTimeout.seconds, totalTimeout: alerts.timeout.seconds,
                                      caFile: alerts.caFile),
            maximumAge: alerts.maxAge.seconds,
            facilityName: facility.name,
            licenseNumber: facility.licenseNumber)
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
