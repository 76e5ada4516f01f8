@testable import BatchgateConfig
@testable import BatchgateAlerts

extension DaemonConfig.AlertSink {
    /// The secrets of a test sink whose url, header values, signing key and password are all
    /// written inline: each value as written, unchecked (so that a test may pair any url with
    /// any type).
    public var inlineSecrets: SinkSecrets {
        func value(_ reference: SecretReference) -> Secret {
            guard case .inline(let text) = reference else { fatalError("a test sink's secrets are written inline") }
            return Secret(text)
        }
        return SinkSecrets(
            url: value(url),
            headers: Dictionary(uniqueKeysWithValues: headers.map { ($0.name, value($0.value)) }),
            signingKey: signing.map { value($0.secret) },
            password: email?.password.map(value))
    }
}

extension [DaemonConfig.AlertSink] {
    /// The ``DaemonConfig/AlertSink/inlineSecrets`` of each sink, by name.
    public var inlineSecrets: [String: SinkSecrets] {
        Dictionary(uniqueKeysWithValues: map { ($0.name, $0.inlineSecrets) })
    }
}

extension Redactor {
    /// A redactor for a test sink whose secrets are written inline.
    public init(sink: DaemonConfig.AlertSink) {
        self.init(sink: sink, secrets: sink.inlineSecrets)
    }
}
