/// The secrets of one alert sink, read through a ``SecretResolver``: all the alert senders need
/// besides the sink's ``DaemonConfig/AlertSink`` itself. Kept apart from the config so that the
/// config can be shown, compared and logged without holding a secret, and so that a secret is
/// read once, when the config is loaded, not at each send.
public struct SinkSecrets: Sendable, Equatable {
    /// The webhook URL or the `smtp://` / `smtps://` server (``DaemonConfig/AlertSink/url``).
    public var url: Secret
    /// The value of each of the sink's ``DaemonConfig/AlertSink/headers``, by header name as written.
    public var headers: [String: Secret]
    /// The key of ``DaemonConfig/AlertSink/signing``, when the sink signs.
    public var signingKey: Secret?
    /// The ``DaemonConfig/AlertSink/Email/password``, when the sink logs in with one.
    public var password: Secret?

    /// Secrets with the given values.
    init(url: Secret, headers: [String: Secret] = [:], signingKey: Secret? = nil, password: Secret? = nil) {
        self.url = url
        self.headers = headers
        self.signingKey = signingKey
        self.password = password
    }
}

extension DaemonConfig {
    /// The secrets of every alert sink, by sink name, read through `resolver` from this
    /// configuration (paths already resolved).
    /// - Throws: ``ConfigError`` naming the file `fileName`, the sink's key and the secret that
    ///   could not be had, or a resolved value that cannot be used (a URL of the wrong scheme or
    ///   with a space or line break, a header value with a line break).
    public func sinkSecrets(resolver: SecretResolver, fileName: String) throws(ConfigError) -> [String: SinkSecrets] {
        var secrets: [String: SinkSecrets] = [:]
        for (index, sink) in alerts.sinks.enumerated() {
            let key = "alerts.sinks[\(index + 1)]"
            func resolve(_ reference: SecretReference, _ field: String) throws(ConfigError) -> Secret {
                do {
                    return try resolver.resolve(reference)
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
            var headers: [String: Secret] = [:]
            for header in sink.headers {
                let value = try resolve(header.value, "headers.\(header.name)")
                guard !value.exposedValue.contains(where: { $0.isNewline || $0 == "\0" }) else {
                    throw ConfigError(file: fileName, key: "\(key).headers.\(header.name)",
                                      reason: "the \(header.value) holds a line break, which would end the header (sink \(sink.name))")
                }
                headers[header.name] = value
            }
            let signingKey = try sink.signing.map { signing throws(ConfigError) in try resolve(signing.secret, "signing.secret") }
            let password = try sink.email?.password.map { reference throws(ConfigError) in try resolve(reference, "password") }
            secrets[sink.name] = SinkSecrets(url: url, headers: headers, signingKey: signingKey, password: password)
        }
        return secrets
    }
}
