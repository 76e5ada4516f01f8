import Testing
import BatchgateCore
@testable import BatchgateDaemon

/// The `alerts:` section turned into what the senders use: secrets read, resolved values checked.
@Suite("Alert settings from the config")
struct AlertSettingsTests {
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

    func settings(_ yaml: String, secrets: SecretResolver? = nil) throws(ConfigError) -> AlertSettings {
        let config = try ConfigLoader.load(yaml: yaml, fileName: "batchgate.yaml", baseDirectory: "/etc/batchgate")
        return try config.settings(secrets: secrets ?? self.secrets, fileName: "batchgate.yaml").alerts
    }

    @Test func everySinkIsResolved() throws {
        let alerts = try settings(yaml)
        #expect(alerts.transfer == TransferOptions(connectTimeout: 2, totalTimeout: 9, caFile: "/etc/batchgate/ca.pem"))
        #expect(alerts.maximumAge == 7_200)
        #expect(alerts.facilityName == "North" && alerts.licenseNumber == "PR-1")
        let chat = try #require(alerts.sink(named: "chat"))
        #expect(chat.kind == .slack && chat.url.exposedValue == "https://hooks.slack.com/services/T/B/X")
        #expect(chat.decisions == [.needsBatch, .rejected] && chat.minimumInterval == 1 && chat.digestThreshold == 5)
        let desk = try #require(alerts.sink(named: "desk"))
        #expect(desk.decisions == [.accepted, .rejected] && desk.minimumInterval == 0 && !desk.digests)
        #expect(desk.headers == [AlertHeader(name: "Authorization", value: Secret("Bearer abc"))])
        #expect(desk.signing == AlertSigning(secret: Secret("k3y")))
        let mail = try #require(alerts.sink(named: "mail"))
        #expect(mail.email == EmailSettings(from: "batchgate@example.com", to: ["a@example.com", "b@example.com"],
                                            username: "batchgate", password: Secret("pw"), requireTLS: true))
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
        #expect(try settings("fsync: true\n").sinks.isEmpty)
    }
}
