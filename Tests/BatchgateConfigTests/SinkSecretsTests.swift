import Testing
import BatchgateCore
@testable import BatchgateConfig

/// The secrets of the `alerts:` section read for the senders, the resolved values checked.
@Suite("Sink secrets from the config")
struct SinkSecretsTests {
    let yaml = """
        facility: {name: North, licenseNumber: PR-1}
        alerts:
          connectTimeout: 2s
          timeout: 9s
          caFile: ca.pem
          maxAge: 2h
          sinks:
            - name: chat
              type: slack
              url: {credential: slack-hook}
            - name: desk
              type: webhook
              url: {env: DESK_URL}
              decisions: [accepted, rejected]
              headers:
                Authorization: {file: /etc/batchgate/desk-token}
              signing:
                secret: {file: signing-key}
            - name: mail
              type: email
              url: smtps://mail.example.com
              from: batchgate@example.com
              to: [a@example.com, b@example.com]
              username: batchgate
              password: {env: SMTP_PASSWORD}
        """

    let secrets = SecretResolver(
        files: InMemorySecretFiles(["/creds/slack-hook": "https://hooks.slack.com/services/T/B/X\n",
                                    "/etc/batchgate/desk-token": "Bearer abc\n",
                                    "/etc/batchgate/signing-key": "k3y"]),
        environment: ["CREDENTIALS_DIRECTORY": "/creds", "DESK_URL": "https://desk.example.com/hook", "SMTP_PASSWORD": "pw"])

    /// The config of `yaml` and its sinks' secrets.
    func load(_ yaml: String, secrets: SecretResolver? = nil) throws(ConfigError) -> (DaemonConfig, [String: SinkSecrets]) {
        let config = try ConfigLoader.load(yaml: yaml, fileName: "batchgate.yaml", baseDirectory: "/etc/batchgate")
        return (config, try config.sinkSecrets(resolver: secrets ?? self.secrets, fileName: "batchgate.yaml"))
    }

    /// The sinks' secrets of `yaml`.
    func settings(_ yaml: String, secrets: SecretResolver? = nil) throws(ConfigError) -> [String: SinkSecrets] {
        try load(yaml, secrets: secrets).1
    }

    @Test func everySinkIsResolved() throws {
        let (config, secrets) = try load(yaml)
        let alerts = config.alerts
        #expect(alerts.connectTimeout == .seconds(2) && alerts.timeout == .seconds(9) && alerts.caFile == "/etc/batchgate/ca.pem")
        #expect(alerts.maxAge == .seconds(7_200))
        #expect(config.facility.name == "North" && config.facility.licenseNumber == "PR-1")
        #expect(Set(secrets.keys) == ["chat", "desk", "mail"])
        let chat = try #require(alerts.sinks.first { $0.name == "chat" })
        #expect(chat.type == .slack && secrets["chat"] == SinkSecrets(url: Secret("https://hooks.slack.com/services/T/B/X")))
        #expect(chat.decisions == [.needsBatch, .rejected] && chat.rateLimit == .seconds(1) && chat.digestThreshold == 5)
        let desk = try #require(alerts.sinks.first { $0.name == "desk" })
        #expect(desk.decisions == [.accepted, .rejected] && desk.rateLimit == .zero && !desk.sendsDigests)
        #expect(desk.headers.map(\.name) == ["Authorization"])
        #expect(desk.signing?.header == DaemonConfig.AlertSink.Signing.defaultHeader)
        #expect(secrets["desk"] == SinkSecrets(url: Secret("https://desk.example.com/hook"),
                                               headers: ["Authorization": Secret("Bearer abc")], signingKey: Secret("k3y")))
        let mail = try #require(alerts.sinks.first { $0.name == "mail" })
        #expect(mail.email == DaemonConfig.AlertSink.Email(from: "batchgate@example.com", to: ["a@example.com", "b@example.com"],
                                                           username: "batchgate", password: .environment(name: "SMTP_PASSWORD"),
                                                           starttls: true))
        #expect(secrets["mail"] == SinkSecrets(url: Secret("smtps://mail.example.com"), password: Secret("pw")))
    }

    @Test func aSecretThatCannotBeReadNamesTheSinkAndKey() {
        #expect(throws: ConfigError(file: "batchgate.yaml", key: "alerts.sinks[2].url",
                                    reason: "secret from environment variable DESK_URL: the variable is not set (sink desk)")) {
            _ = try settings(yaml, secrets: SecretResolver(files: InMemorySecretFiles(["/creds/slack-hook": "https://x"]),
                                                            environment: ["CREDENTIALS_DIRECTORY": "/creds"]))
        }
    }

    @Test func aResolvedURLOfTheWrongSchemeIsRefused() {
        let wrong = SecretResolver(files: InMemorySecretFiles(["/creds/slack-hook": "smtp://mail.example.com"]),
                                   environment: ["CREDENTIALS_DIRECTORY": "/creds"])
        #expect(throws: ConfigError(file: "batchgate.yaml", key: "alerts.sinks[1].url",
                                    reason: "the credential slack-hook must hold a http:// or https:// URL for a slack sink (sink chat)")) {
            _ = try settings("alerts:\n  sinks:\n    - {name: chat, type: slack, url: {credential: slack-hook}}\n", secrets: wrong)
        }
    }

    @Test func aResolvedHeaderWithALineBreakIsRefused() {
        let injecting = SecretResolver(files: InMemorySecretFiles(["/t": "Bearer a\r\nX-Evil: 1"]), environment: [:])
        let yaml = "alerts:\n  sinks:\n    - {name: d, type: webhook, url: 'https://x.example', headers: {Authorization: {file: /t}}}\n"
        #expect(throws: ConfigError.self) { _ = try settings(yaml, secrets: injecting) }
    }

    @Test func noAlertsSectionMeansNoSinks() throws {
        #expect(try settings("fsync: true\n").isEmpty)
    }
}
