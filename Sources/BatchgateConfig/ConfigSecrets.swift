/// Every secret a configuration names, read once when it is loaded: the alert sinks' and the
/// Metrc keys. Kept apart from ``DaemonConfig`` so the config can be shown and compared without one.
public struct ConfigSecrets: Sendable, Equatable {
    /// Each alert sink's secrets, by sink name.
    public var sinks: [String: SinkSecrets]
    /// The keys of `catalog.metrc`; nil when no Metrc account is configured.
    public var metrc: DaemonConfig.MetrcKeys?

    public init(sinks: [String: SinkSecrets] = [:], metrc: DaemonConfig.MetrcKeys? = nil) {
        self.sinks = sinks
        self.metrc = metrc
    }
}

extension DaemonConfig {
    /// Every secret this configuration (paths already resolved) names, read through `resolver`.
    /// - Throws: ``ConfigError`` naming the file `fileName`, the key and the secret that could not
    ///   be had or cannot be used.
    public func secrets(resolver: SecretResolver, fileName: String) throws(ConfigError) -> ConfigSecrets {
        ConfigSecrets(sinks: try sinkSecrets(resolver: resolver, fileName: fileName),
                      metrc: try metrcKeys(resolver: resolver, fileName: fileName))
    }
}
