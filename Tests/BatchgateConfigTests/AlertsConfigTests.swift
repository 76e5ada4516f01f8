import BatchgateCore
import Foundation
import Testing
@testable import BatchgateConfig

/// Loads `yaml` as `batchgate.yaml` in `/etc/batchgate`.
private func load(_ yaml: String) throws(ConfigError) -> DaemonConfig {
    try ConfigLoader.load(yaml: yaml, fileName: "batchgate.yaml", baseDirectory: "/etc/batchgate")
}

/// The alert settings of `yaml`.
private func alerts(_ yaml: String) throws(ConfigError) -> DaemonConfig.Alerts {
    try load(yaml).alerts
}

/// A config whose `alerts.sinks` list is `entries`, which start on line 3.
private func withSinks(_ entries: String) -> String {
    "alerts:\n  sinks:\n" + entries
}

/// Sinks of each type with only their required settings, on lines 3 to 5 (email: 3 to 7).
private let slack = "    - name: chat\n      type: slack\n      url: https://hooks.slack.com/services/T0/B0/XXXX\n"
private let teams = "    - name: room\n      type: teams\n      url: https://teams.example.com/workflows/1\n"
private let webhook = "    - name: hook\n      type: webhook\n      url: https://hooks.example.com/batchgate\n"
private let email = "    - name: mail\n      type: email\n      url: smtp://mail.example.com:587\n"
    + "      from: batchgate@example.com\n      to: qa@example.com\n"

typealias Sink = DaemonConfig.AlertSink

@Suite("Alerts config defaults")
struct AlertsConfigDefaultsTests {
    @Test func defaultValues() {
        let alerts = DaemonConfig.Alerts()
        #expect(alerts.connectTimeout == .seconds(5))
        #expect(alerts.timeout == .seconds(15))
        #expect(alerts.caFile == nil)
        #expect(alerts.maxAge == .seconds(86400))
        #expect(alerts.sinks.isEmpty)
    }

    @Test(arguments: ["", "alerts:\n", "alerts: ~\n", "alerts: {}\n", "alerts:\n  sinks:\n", "alerts:\n  sinks: []\n",
                      "alerts:\n  caFile: null\n  sinks: ~\n"])
    func noAlertsGivesTheDefaults(yaml: String) throws {
        #expect(try alerts(yaml) == DaemonConfig.Alerts())
    }

    @Test func aSlackSinksDefaults() throws {
        let sink = try #require(try alerts(withSinks(slack)).sinks.first)
        #expect(sink == Sink(name: "chat", type: .slack, url: .inline("https://hooks.slack.com/services/T0/B0/XXXX")))
        #expect(sink.decisions == [.needsBatch, .rejected])
        #expect(sink.rateLimit == .seconds(1))
        #expect(sink.digestThreshold == 5)
        #expect(sink.headers.isEmpty)
        #expect(sink.signing == nil)
        #expect(sink.email == nil)
        #expect(sink.type == .slack && sink.isHTTP && sink.sendsDigests && sink.isRateLimited)
    }

    @Test func aTeamsSinkIsNotRateLimitedByDefault() throws {
        let sink = try #require(try alerts(withSinks(teams)).sinks.first)
        #expect(sink.rateLimit == .zero)
        #expect(!sink.isRateLimited)
        #expect(sink.digestThreshold == 5)
        #expect(sink.type == .teams && sink.isHTTP)
    }

    @Test func aWebhookSendsNoDigests() throws {
        let sink = try #require(try alerts(withSinks(webhook)).sinks.first)
        #expect(sink.rateLimit == .zero)
        #expect(sink.digestThreshold == 0)
        #expect(sink.type == .webhook && !sink.sendsDigests && sink.isHTTP)
        #expect(sink.decisions == [.needsBatch, .rejected])
    }

    @Test func anEmailSinksDefaults() throws {
        let sink = try #require(try alerts(withSinks(email)).sinks.first)
        #expect(sink.email == Sink.Email(from: "batchgate@example.com", to: ["qa@example.com"]))
        #expect(sink.email?.starttls == true)
        #expect(sink.email?.username == nil)
        #expect(sink.email?.password == nil)
        #expect(sink.rateLimit == .zero)
        #expect(sink.digestThreshold == 5)
        #expect(sink.headers.isEmpty && sink.signing == nil)
        #expect(sink.type == .email && !sink.isHTTP)
    }

    @Test func theTypesDefaults() {
        #expect(Sink.SinkType.allCases.map(\.defaultRateLimit) == [.zero, .seconds(1), .zero, .zero])
        #expect(Sink.SinkType.allCases.map(\.defaultDigestThreshold) == [0, 5, 5, 5])
        #expect(Sink.SinkType.allCases.map(\.rawValue) == ["webhook", "slack", "teams", "email"])
    }

    @Test func theInitializerOrdersDecisionsAndTakesTheTypesDefaults() {
        let sink = Sink(name: "a", type: .webhook, url: .inline("https://x"), decisions: [.rejected, .accepted, .rejected])
        #expect(sink.decisions == [.accepted, .rejected])
        #expect(sink.alertsOn(.accepted) && !sink.alertsOn(.needsBatch))
        #expect(sink.digestThreshold == 0)
        #expect(Sink.Signing(secret: .credential(name: "k")).header == "X-Batchgate-Signature")
    }
}

@Suite("Alerts config values")
struct AlertsConfigValueTests {
    @Test func everySettingIsRead() throws {
        let yaml = """
            alerts:
              connectTimeout: 2s
              timeout: 1m
              caFile: certs/extra-ca.pem
              maxAge: 48h
              sinks:
                - name: compliance-slack
                  type: slack
                  url: {credential: secrets_slack-webhook}
                  decisions: [needs-batch, rejected]
                  rateLimit: 30/m
                  digestThreshold: 10
                - name: Teams_2
                  type: teams
                  url: {env: TEAMS_URL}
                  decisions: [rejected]
                  warnings: false
                  rateLimit: off
                  digestThreshold: 0
                - name: desk
                  type: webhook
                  url: {file: desk-url}
                  decisions: [accepted, needs-batch, rejected]
                  rateLimit: 10/h
                  headers:
                    Authorization: {credential: secrets_desk-token}
                    X-Plant: north
                  signing:
                    secret: {file: /etc/batchgate/signing-key}
                    header: X-Hub-Signature-256
                - name: mail
                  type: email
                  url: smtp://mail.plant.example.com:587
                  decisions: [rejected]
                  rateLimit: 1/s
                  digestThreshold: 1000
                  from: batchgate@plant.example.com
                  to: [compliance@plant.example.com, qa@plant.example.com]
                  username: batchgate
                  password: {file: smtp-password}
                  starttls: true
            """
        let expected = DaemonConfig.Alerts(
            connectTimeout: .seconds(2),
            timeout: .seconds(60),
            caFile: "/etc/batchgate/certs/extra-ca.pem",
            maxAge: .seconds(48 * 3600),
            sinks: [
                Sink(name: "compliance-slack", type: .slack, url: .credential(name: "secrets_slack-webhook"),
                     decisions: [.needsBatch, .rejected], rateLimit: .seconds(2), digestThreshold: 10),
                Sink(name: "Teams_2", type: .teams, url: .environment(name: "TEAMS_URL"), decisions: [.rejected],
                     warnings: false, rateLimit: .zero, digestThreshold: 0),
                Sink(name: "desk", type: .webhook, url: .file(path: "/etc/batchgate/desk-url"),
                     decisions: [.accepted, .needsBatch, .rejected], rateLimit: .seconds(360),
                     headers: [
                        .init(name: "Authorization", value: .credential(name: "secrets_desk-token")),
                        .init(name: "X-Plant", value: .inline("north")),
                     ],
                     signing: .init(secret: .file(path: "/etc/batchgate/signing-key"), header: "X-Hub-Signature-256")),
                Sink(name: "mail", type: .email, url: .inline("smtp://mail.plant.example.com:587"), decisions: [.rejected],
                     rateLimit: .seconds(1), digestThreshold: 1000,
                     email: .init(from: "batchgate@plant.example.com", to: ["compliance@plant.example.com", "qa@plant.example.com"],
                                  username: "batchgate", password: .file(path: "/etc/batchgate/smtp-password"), starttls: true)),
            ]
        )
        #expect(try alerts(yaml) == expected)
    }

    @Test(arguments: [
        ("1/s", Duration.seconds(1)),
        ("30/m", .seconds(2)),
        ("10/h", .seconds(360)),
        ("1/h", .seconds(3600)),
        ("1/m", .seconds(60)),
        ("4/s", .milliseconds(250)),
        ("1000/s", .milliseconds(1)),
        ("01/s", .seconds(1)),
        ("\"2/s\"", .milliseconds(500)),
        ("off", .zero),
        ("Off", .zero),
        ("OFF", .zero),
        ("0", .zero),
    ])
    func rates(text: String, interval: Duration) throws {
        let sink = try #require(try alerts(withSinks(webhook + "      rateLimit: \(text)\n")).sinks.first)
        #expect(sink.rateLimit == interval)
    }

    @Test func aRateThatDoesNotDivideTheSecondIsKeptToTheAttosecond() throws {
        #expect(try RateText.interval("7/s") == Duration(secondsComponent: 0, attosecondsComponent: 142_857_142_857_142_857))
        #expect(try RateText.interval("7/h") == Duration(secondsComponent: 514, attosecondsComponent: 285_714_285_714_285_714))
    }

    @Test(arguments: [
        (Duration.zero, "off"), (.seconds(1), "1/s"), (.seconds(2), "30/m"), (.seconds(360), "10/h"), (.milliseconds(250), "4/s"),
        (.seconds(60), "1/m"), (.seconds(3600), "1/h"), (.seconds(90), "40/h"), (.milliseconds(1), "1000/s"),
    ])
    func ratesInTheirSmallestUnit(interval: Duration, text: String) throws {
        #expect(try RateText.interval(text) == interval)
    }

    @Test(arguments: [
        ("[accepted]", [Decision.accepted]),
        ("[rejected, needs-batch]", [.needsBatch, .rejected]),
        ("[rejected, accepted, needs-batch]", [.accepted, .needsBatch, .rejected]),
        ("\n        - needs-batch\n", [.needsBatch]),
    ])
    func decisions(text: String, expected: [Decision]) throws {
        let sink = try #require(try alerts(withSinks(slack + "      decisions: \(text)\n")).sinks.first)
        #expect(sink.decisions == expected)
        #expect(Decision.allCases.filter(sink.alertsOn) == expected)
    }

    /// `warnings` adds an accepted or needs-batch manifest that a check warned about to the
    /// decisions alerted on; never a rejected one, which the decisions alone decide.
    @Test func warningsAreAlertedByDefaultAndCanBeTurnedOff() throws {
        let byDefault = try #require(try alerts(withSinks(slack + "      decisions: [rejected]\n")).sinks.first)
        #expect(byDefault.warnings)
        #expect(byDefault.alertsOn(.accepted, hasCheckWarnings: true))
        #expect(byDefault.alertsOn(.needsBatch, hasCheckWarnings: true))
        #expect(!byDefault.alertsOn(.accepted, hasCheckWarnings: false))
        #expect(byDefault.alertsOn(.rejected, hasCheckWarnings: false))

        let quiet = try #require(try alerts(withSinks(email + "      decisions: [rejected]\n      warnings: false\n")).sinks.first)
        #expect(!quiet.warnings)
        #expect(!quiet.alertsOn(.accepted, hasCheckWarnings: true))
        #expect(!quiet.alertsOn(.needsBatch, hasCheckWarnings: true))
        #expect(quiet.alertsOn(.rejected, hasCheckWarnings: true))

        let onlyBatches = try #require(try alerts(withSinks(webhook + "      decisions: [needs-batch]\n")).sinks.first)
        #expect(!onlyBatches.alertsOn(.rejected, hasCheckWarnings: true), "a rejection is alerted by its decision only")
    }

    @Test func aWarningsSettingMustBeTrueOrFalse() throws {
        try BadConfig(yaml: withSinks(teams + "      warnings: sometimes\n"), line: 6, key: "alerts.sinks[1].warnings",
                      reason: "must be true or false; found \"sometimes\"").check()
    }

    @Test(arguments: [("0", 0), ("1", 1), ("5", 5), ("1000", 1000), ("007", 7)])
    func digestThresholds(text: String, expected: Int) throws {
        #expect(try alerts(withSinks(teams + "      digestThreshold: \(text)\n")).sinks.first?.digestThreshold == expected)
    }

    @Test(arguments: [
        ("to: qa@example.com", ["qa@example.com"]),
        ("to: [qa@example.com]", ["qa@example.com"]),
        ("to:\n        - qa@example.com\n        - ops+alerts@sub.example.co.uk", ["qa@example.com", "ops+alerts@sub.example.co.uk"]),
    ])
    func recipients(text: String, expected: [String]) throws {
        let yaml = withSinks("    - name: mail\n      type: email\n      url: smtps://mail.example.com\n"
            + "      from: b@example.com\n      \(text)\n")
        #expect(try alerts(yaml).sinks.first?.email?.to == expected)
    }

    @Test func headersKeepTheirWrittenOrder() throws {
        let names = ["X-Zulu", "Authorization", "x-alpha", "X-Middle", "Accept"]
        let lines = names.enumerated().map { "        \($1): v\($0)\n" }.joined()
        let sink = try #require(try alerts(withSinks(webhook + "      headers:\n" + lines)).sinks.first)
        #expect(sink.headers.map(\.name) == names)
        #expect(sink.headers.map(\.value) == (0..<5).map { .inline("v\($0)") })
    }

    @Test(arguments: ["headers: {}", "headers:", "headers: ~", "signing: ~", "signing:"])
    func emptyHeadersAndSigningAreNone(text: String) throws {
        let sink = try #require(try alerts(withSinks(webhook + "      \(text)\n")).sinks.first)
        #expect(sink.headers.isEmpty)
        #expect(sink.signing == nil)
    }

    @Test func theSigningHeaderHasADefault() throws {
        let sink = try #require(try alerts(withSinks(webhook + "      signing:\n        secret: {credential: key}\n")).sinks.first)
        #expect(sink.signing == Sink.Signing(secret: .credential(name: "key"), header: "X-Batchgate-Signature"))
    }

    @Test(arguments: [
        "https://hooks.example.com/x", "http://10.0.0.5:8080/hook", "HTTPS://Hooks.Example.com/x", "https://h?x=1",
    ])
    func httpURLs(url: String) throws {
        #expect(try alerts(withSinks("    - name: a\n      type: webhook\n      url: \(url)\n")).sinks.first?.url == .inline(url))
    }

    @Test(arguments: ["smtp://mail.example.com", "smtps://mail.example.com:465", "SMTPS://user@mail.example.com"])
    func mailURLs(url: String) throws {
        let yaml = withSinks("    - name: m\n      type: email\n      url: \(url)\n      from: a@b.c\n      to: d@e.f\n")
        #expect(try alerts(yaml).sinks.first?.url == .inline(url))
    }

    @Test(arguments: ["{credential: mail-url}", "{env: MAIL_URL}", "{file: /etc/mail-url}"])
    func aURLNotWrittenInlineIsCheckedWhenRead(url: String) throws {
        let yaml = withSinks("    - name: m\n      type: email\n      url: \(url)\n      from: a@b.c\n      to: d@e.f\n"
            + "      starttls: false\n")
        #expect(try alerts(yaml).sinks.first?.email?.starttls == false)
    }

    @Test func mailInClearIsAllowedWithoutAPassword() throws {
        let sink = try #require(try alerts(withSinks(email + "      username: relay\n      starttls: false\n")).sinks.first)
        #expect(sink.email == Sink.Email(from: "batchgate@example.com", to: ["qa@example.com"], username: "relay", starttls: false))
    }

    @Test func limitsAreAllowed() throws {
        let name = String(repeating: "a", count: 64)
        let yaml = "alerts:\n  connectTimeout: 1m\n  timeout: 5m\n  maxAge: 168h\n  sinks:\n"
            + "    - {name: \(name), type: slack, url: \"https://x\", rateLimit: 1000/s, digestThreshold: 1000}\n"
        let alerts = try alerts(yaml)
        #expect(alerts.connectTimeout == .seconds(60))
        #expect(alerts.timeout == .seconds(300))
        #expect(alerts.maxAge == .seconds(7 * 86400))
        #expect(alerts.sinks.first?.name == name)
    }

    @Test func theTimeoutMayEqualTheConnectTimeout() throws {
        let alerts = try alerts("alerts:\n  connectTimeout: 15s\n")
        #expect(alerts.connectTimeout == alerts.timeout)
    }

    @Test func sinksOfDifferentNamesAndTheSameURLAreFine() throws {
        let yaml = withSinks(slack + slack.replacingOccurrences(of: "name: chat", with: "name: Chat"))
        #expect(try alerts(yaml).sinks.map(\.name) == ["chat", "Chat"])
    }
}

@Suite("Alerts config written in full")
struct AlertsConfigInFullTests {
    /// ``full`` as a config file writes it.
    static let fullYAML = """
        stateRoot: /srv/batchgate
        alerts:
          connectTimeout: 1500ms
          timeout: 90s
          caFile: /etc/ssl/extra-ca.pem
          maxAge: 120h
          sinks:
            - {name: s, type: slack, url: "https://hooks.slack.com/services/T/B/X", decisions: [accepted], rateLimit: 4/s,
               digestThreshold: 0}
            - {name: t, type: teams, url: {env: TEAMS}, rateLimit: 1/h}
            - name: w
              type: webhook
              url: {file: /etc/batchgate/hook}
              headers: {Authorization: {credential: tok}, X-A: {file: /etc/a}, X-B: b}
              signing: {secret: {credential: key}, header: X-Sig}
            - {name: w2, type: webhook, url: "http://10.0.0.1/"}
            - {name: m, type: email, url: "smtps://mail.example.com", rateLimit: 1/s, from: a@example.com,
               to: [b@example.com, c@example.com], username: u, password: {credential: pw}}
            - {name: m2, type: email, url: {credential: mail-url}, decisions: [needs-batch], from: a@example.com,
               to: [b@example.com], starttls: false}
        """

    static let full = DaemonConfig.Alerts(
        connectTimeout: .milliseconds(1500),
        timeout: .seconds(90),
        caFile: "/etc/ssl/extra-ca.pem",
        maxAge: .seconds(5 * 86400),
        sinks: [
            Sink(name: "s", type: .slack, url: .inline("https://hooks.slack.com/services/T/B/X"), decisions: [.accepted],
                 rateLimit: .milliseconds(250), digestThreshold: 0),
            Sink(name: "t", type: .teams, url: .environment(name: "TEAMS"), rateLimit: .seconds(3600)),
            Sink(name: "w", type: .webhook, url: .file(path: "/etc/batchgate/hook"),
                 headers: [.init(name: "Authorization", value: .credential(name: "tok")), .init(name: "X-A", value: .file(path: "/etc/a")),
                           .init(name: "X-B", value: .inline("b"))],
                 signing: .init(secret: .credential(name: "key"), header: "X-Sig")),
            Sink(name: "w2", type: .webhook, url: .inline("http://10.0.0.1/")),
            Sink(name: "m", type: .email, url: .inline("smtps://mail.example.com"), rateLimit: .seconds(7) / 7,
                 email: .init(from: "a@example.com", to: ["b@example.com", "c@example.com"], username: "u",
                              password: .credential(name: "pw"))),
            Sink(name: "m2", type: .email, url: .credential(name: "mail-url"), decisions: [.needsBatch],
                 email: .init(from: "a@example.com", to: ["b@example.com"], starttls: false)),
        ]
    )

    @Test(arguments: [(fullYAML, full), ("stateRoot: /srv/batchgate\n", DaemonConfig.Alerts())])
    func writtenAlertsLoad(yaml: String, written: DaemonConfig.Alerts) throws {
        let config = DaemonConfig(stateRoot: "/srv/batchgate", alerts: written)
        #expect(try ConfigLoader.load(yaml: yaml, fileName: "c.yaml", baseDirectory: "/") == config)
    }
}

@Suite("Alerts config errors")
struct AlertsConfigErrorTests {
    @Test(arguments: [
        BadConfig(yaml: "alerts:\n  insecure: true\n", line: 2, key: "alerts.insecure",
                  reason: "unknown setting; the settings here are connectTimeout, timeout, caFile, maxAge, sinks"),
        BadConfig(yaml: "alerts:\n  timout: 5s\n", line: 2, key: "alerts.timout", reason: "unknown setting; did you mean timeout?"),
        BadConfig(yaml: "alerts:\n  sink: []\n", line: 2, key: "alerts.sink", reason: "unknown setting; did you mean sinks?"),
        BadConfig(yaml: withSinks(slack + "      verify: false\n"), line: 6, key: "alerts.sinks[1].verify",
                  reason: "unknown setting; the settings here are name, type, url, decisions, warnings, rateLimit, digestThreshold, "
                      + "headers, signing, from, to, username, password, starttls"),
        BadConfig(yaml: withSinks(slack + webhook + "      decision: [rejected]\n"), line: 9, key: "alerts.sinks[2].decision",
                  reason: "unknown setting; did you mean decisions?"),
        BadConfig(yaml: withSinks(webhook + "      signing:\n        secret: k\n        headers: X-S\n"), line: 8,
                  key: "alerts.sinks[1].signing.headers", reason: "unknown setting; did you mean header?"),
        BadConfig(yaml: withSinks(slack + "      url: https://other\n"), line: 5, key: "alerts.sinks[1].url",
                  reason: "is given twice, on lines 5 and 6; keep one"),
    ])
    func unknownAndRepeatedKeys(bad: BadConfig) throws {
        try bad.check()
    }

    @Test(arguments: [
        BadConfig(yaml: "alerts:\n  connectTimeout: 0\n", line: 2, key: "alerts.connectTimeout",
                  reason: "must be more than 0, such as 2s or 500ms; found \"0\""),
        BadConfig(yaml: "alerts:\n  connectTimeout: 61s\n", line: 2, key: "alerts.connectTimeout",
                  reason: "must be at most 1m; found \"61s\""),
        BadConfig(yaml: "alerts:\n  connectTimeout: soon\n", line: 2, key: "alerts.connectTimeout",
                  reason: "must be a duration such as 2s or 500ms; found \"soon\""),
        BadConfig(yaml: "alerts:\n  timeout: 0s\n", line: 2, key: "alerts.timeout",
                  reason: "must be more than 0, such as 2s or 500ms; found \"0s\""),
        BadConfig(yaml: "alerts:\n  timeout: 6m\n", line: 2, key: "alerts.timeout", reason: "must be at most 5m; found \"6m\""),
        BadConfig(yaml: "alerts:\n  connectTimeout: 10s\n  timeout: 5s\n", line: 3, key: "alerts.timeout",
                  reason: "must be at least connectTimeout (10s), as it includes connecting; found \"5s\""),
        BadConfig(yaml: "alerts:\n  connectTimeout: 30s\n", line: 2, key: "alerts.connectTimeout",
                  reason: "must be at most timeout (15s by default), which includes connecting; found \"30s\""),
        BadConfig(yaml: "alerts:\n  maxAge: 0\n", line: 2, key: "alerts.maxAge", reason: "must be more than 0, such as 24h or 90m; found \"0\""),
        BadConfig(yaml: "alerts:\n  maxAge: 169h\n", line: 2, key: "alerts.maxAge",
                  reason: "must be at most 7d; found \"169h\""),
        BadConfig(yaml: "alerts:\n  maxAge: 7w\n", line: 2, key: "alerts.maxAge",
                  reason: "must be a duration such as 24h or 90m; found \"7w\""),
        BadConfig(yaml: "alerts:\n  caFile: \"\"\n", line: 2, key: "alerts.caFile",
                  reason: "must be the path of a PEM file of CA certificates, absolute or relative to the config file's folder; "
                      + "found \"\""),
        BadConfig(yaml: "alerts: [slack]\n", line: 1, key: "alerts",
                  reason: "must be a mapping of settings (connectTimeout, timeout, caFile, maxAge, sinks); found a list"),
        BadConfig(yaml: "alerts:\n  sinks: slack\n", line: 2, key: "alerts.sinks",
                  reason: "must be a list of sinks, each a mapping with a name, type and url; found \"slack\""),
        BadConfig(yaml: "alerts:\n  sinks:\n    name: chat\n", line: 2, key: "alerts.sinks",
                  reason: "must be a list of sinks, each a mapping with a name, type and url; found a mapping"),
        BadConfig(yaml: withSinks(slack + "    - slack\n"), line: 6, key: "alerts.sinks",
                  reason: "entry 2: must be a mapping of settings (name, type, url, decisions, warnings, rateLimit, digestThreshold, "
                      + "headers, signing, from, to, username, password, starttls); found \"slack\""),
    ])
    func badSectionValues(bad: BadConfig) throws {
        try bad.check()
    }

    @Test(arguments: [
        BadConfig(yaml: withSinks("    - type: slack\n      url: https://x\n"), line: 3, key: "alerts.sinks[1]",
                  reason: "needs a name: 1 to 64 letters, digits, - and _, such as compliance-slack"),
        BadConfig(yaml: withSinks(slack + "\n    - name: hook\n      url: https://x\n"), line: 7, key: "alerts.sinks[2]",
                  reason: "needs a type: webhook, slack, teams or email"),
        BadConfig(yaml: withSinks(webhook + "    - name: chat\n      type: slack\n"), line: 6, key: "alerts.sinks[2]",
                  reason: "needs a url, written inline or as {file: PATH}, {credential: NAME} or {env: NAME}"),
        BadConfig(yaml: withSinks("    - {name: a, type: slack}\n"), line: 3, key: "alerts.sinks[1]",
                  reason: "needs a url, written inline or as {file: PATH}, {credential: NAME} or {env: NAME}"),
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      to: a@b.c\n"), line: 3,
                  key: "alerts.sinks[1]",
                  reason: "needs from: the address alerts come from, such as batchgate@plant.example.com"),
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      from: a@b.c\n"), line: 3,
                  key: "alerts.sinks[1]", reason: "needs to: the addresses alerts go to, such as [compliance@plant.example.com]"),
        BadConfig(yaml: withSinks(webhook + "      signing: {}\n"), line: 6, key: "alerts.sinks[1].signing",
                  reason: "needs a secret: the key requests are signed with, such as {credential: NAME}"),
        BadConfig(yaml: withSinks(webhook + "      signing:\n        header: X-Sig\n"), line: 6, key: "alerts.sinks[1].signing",
                  reason: "needs a secret: the key requests are signed with, such as {credential: NAME}"),
        BadConfig(yaml: withSinks("    - name:\n      type: slack\n      url: https://x\n"), line: 3, key: "alerts.sinks[1].name",
                  reason: "must be a name of 1 to 64 letters, digits, - and _, such as compliance-slack; found nothing"),
        BadConfig(yaml: withSinks("    - name: chat\n      type:\n      url: https://x\n"), line: 4, key: "alerts.sinks[1].type",
                  reason: "must be one of webhook, slack, teams, email; found nothing"),
        BadConfig(yaml: withSinks("    - name: chat\n      type: slack\n      url:\n"), line: 5, key: "alerts.sinks[1].url",
                  reason: "must be a secret or one of {file: PATH}, {credential: NAME} or {env: NAME}; found nothing"),
    ])
    func missingSettings(bad: BadConfig) throws {
        try bad.check()
    }

    @Test(arguments: [
        BadConfig(yaml: withSinks(slack + "      from: a@example.com\n"), line: 6, key: "alerts.sinks[1].from",
                  reason: "is an email setting; this sink's type is slack"),
        BadConfig(yaml: withSinks(teams + "      to: [a@example.com]\n"), line: 6, key: "alerts.sinks[1].to",
                  reason: "is an email setting; this sink's type is teams"),
        BadConfig(yaml: withSinks(webhook + "      username: u\n"), line: 6, key: "alerts.sinks[1].username",
                  reason: "is an email setting; this sink's type is webhook"),
        BadConfig(yaml: withSinks(webhook + "      password: {credential: pw}\n"), line: 6, key: "alerts.sinks[1].password",
                  reason: "is an email setting; this sink's type is webhook"),
        BadConfig(yaml: withSinks(slack + "      starttls: true\n"), line: 6, key: "alerts.sinks[1].starttls",
                  reason: "is an email setting; this sink's type is slack"),
        BadConfig(yaml: withSinks(email + "      headers: {X-A: b}\n"), line: 8, key: "alerts.sinks[1].headers",
                  reason: "is a setting of HTTP sinks (webhook, slack, teams); this sink's type is email"),
        BadConfig(yaml: withSinks(email + "      signing: {secret: k}\n"), line: 8, key: "alerts.sinks[1].signing",
                  reason: "is a setting of HTTP sinks (webhook, slack, teams); this sink's type is email"),
        BadConfig(yaml: withSinks(webhook + "      digestThreshold: 5\n"), line: 6, key: "alerts.sinks[1].digestThreshold",
                  reason: "webhook sinks send every alert on its own; digests are for chat and mail sinks"),
        BadConfig(yaml: withSinks(webhook + "      digestThreshold: 0\n"), line: 6, key: "alerts.sinks[1].digestThreshold",
                  reason: "webhook sinks send every alert on its own; digests are for chat and mail sinks"),
        // The type's keys are checked before the values: the wrong key is named even with a bad url.
        BadConfig(yaml: withSinks("    - name: a\n      type: slack\n      url: ftp://x\n      from: a@b.c\n"), line: 6,
                  key: "alerts.sinks[1].from", reason: "is an email setting; this sink's type is slack"),
    ])
    func settingsOfAnotherType(bad: BadConfig) throws {
        try bad.check()
    }

    @Test(arguments: [
        BadConfig(yaml: withSinks("    - name: compliance slack\n      type: slack\n      url: https://x\n"), line: 3,
                  key: "alerts.sinks[1].name",
                  reason: "must be a name of 1 to 64 letters, digits, - and _, such as compliance-slack; found \"compliance slack\""),
        BadConfig(yaml: withSinks("    - name: ops.chat\n      type: slack\n      url: https://x\n"), line: 3,
                  key: "alerts.sinks[1].name",
                  reason: "must be a name of 1 to 64 letters, digits, - and _, such as compliance-slack; found \"ops.chat\""),
        BadConfig(yaml: withSinks("    - name: qualité\n      type: slack\n      url: https://x\n"), line: 3,
                  key: "alerts.sinks[1].name",
                  reason: "must be a name of 1 to 64 letters, digits, - and _, such as compliance-slack; found \"qualité\""),
        BadConfig(yaml: withSinks("    - name: \(String(repeating: "x", count: 65))\n      type: slack\n      url: https://x\n"),
                  line: 3, key: "alerts.sinks[1].name",
                  reason: "must be a name of 1 to 64 letters, digits, - and _, such as compliance-slack; found \""
                      + String(repeating: "x", count: 65) + "\""),
        BadConfig(yaml: withSinks("    - name: \"\"\n      type: slack\n      url: https://x\n"), line: 3, key: "alerts.sinks[1].name",
                  reason: "must be a name of 1 to 64 letters, digits, - and _, such as compliance-slack; found \"\""),
        BadConfig(yaml: withSinks("    - name: chat\n      type: discord\n      url: https://x\n"), line: 4, key: "alerts.sinks[1].type",
                  reason: "must be one of webhook, slack, teams, email; found \"discord\""),
        BadConfig(yaml: withSinks("    - name: chat\n      type: Slack\n      url: https://x\n"), line: 4, key: "alerts.sinks[1].type",
                  reason: "must be one of webhook, slack, teams, email; found \"Slack\""),
        BadConfig(yaml: withSinks(slack + webhook + teams.replacingOccurrences(of: "room", with: "chat")), line: 9,
                  key: "alerts.sinks[3].name",
                  reason: "\"chat\" is the name of alerts.sinks[1] already; give each sink a name of its own"),
    ])
    func badNamesAndTypes(bad: BadConfig) throws {
        try bad.check()
    }

    @Test(arguments: [
        BadConfig(yaml: withSinks("    - name: a\n      type: slack\n      url: ftp://hooks.example.com\n"), line: 5,
                  key: "alerts.sinks[1].url", reason: "must be a URL starting with http:// or https://; found one starting with \"ftp://\""),
        BadConfig(yaml: withSinks("    - name: a\n      type: webhook\n      url: smtps://mail.example.com\n"), line: 5,
                  key: "alerts.sinks[1].url",
                  reason: "must be a URL starting with http:// or https://; found one starting with \"smtps://\""),
        BadConfig(yaml: withSinks("    - name: a\n      type: email\n      url: https://mail.example.com\n      from: a@b.c\n      to: d@e.f\n"),
                  line: 5, key: "alerts.sinks[1].url",
                  reason: "must be a URL starting with smtp:// or smtps://; found one starting with \"https://\""),
        BadConfig(yaml: withSinks("    - name: a\n      type: teams\n      url: hooks.example.com/SECRET\n"), line: 5,
                  key: "alerts.sinks[1].url",
                  reason: "must be a URL starting with http:// or https://; found a value with no scheme (not shown: the URL may be secret)"),
        BadConfig(yaml: withSinks("    - name: a\n      type: slack\n      url: https:hooks.slack.com/SECRET\n"), line: 5,
                  key: "alerts.sinks[1].url",
                  reason: "must be a URL starting with http:// or https://; found a value with no scheme (not shown: the URL may be secret)"),
        BadConfig(yaml: withSinks("    - name: a\n      type: slack\n      url: https://\n"), line: 5, key: "alerts.sinks[1].url",
                  reason: "must be a URL starting with http:// or https:// and a host; found no host after \"https://\""),
        BadConfig(yaml: withSinks("    - name: a\n      type: slack\n      url: https:///services/SECRET\n"), line: 5,
                  key: "alerts.sinks[1].url",
                  reason: "must be a URL starting with http:// or https:// and a host; found no host after \"https://\""),
        BadConfig(yaml: withSinks("    - name: a\n      type: slack\n      url: \"https://hooks.slack.com/SECRET\\n\"\n"), line: 5,
                  key: "alerts.sinks[1].url",
                  reason: "must be a URL without spaces or line breaks; found some (not shown: the URL may be secret)"),
        BadConfig(yaml: withSinks("    - name: a\n      type: slack\n      url: https://hooks.slack.com/ SECRET\n"), line: 5,
                  key: "alerts.sinks[1].url",
                  reason: "must be a URL without spaces or line breaks; found some (not shown: the URL may be secret)"),
        BadConfig(yaml: withSinks("    - name: a\n      type: slack\n      url: {credentials: slack}\n"), line: 5,
                  key: "alerts.sinks[1].url.credentials", reason: "unknown setting; did you mean credential?"),
    ])
    func badURLs(bad: BadConfig) throws {
        try bad.check()
        #expect(!bad.reason.contains("SECRET"))
    }

    @Test(arguments: [
        BadConfig(yaml: withSinks(slack + "      decisions: []\n"), line: 6, key: "alerts.sinks[1].decisions",
                  reason: "must list at least one of accepted, needs-batch, rejected; found an empty list"),
        BadConfig(yaml: withSinks(slack + "      decisions: rejected\n"), line: 6, key: "alerts.sinks[1].decisions",
                  reason: "must be a list of decisions, such as [needs-batch, rejected]; found \"rejected\""),
        BadConfig(yaml: withSinks(slack + "      decisions: [needs_batch]\n"), line: 6, key: "alerts.sinks[1].decisions",
                  reason: "entry 1: must be one of accepted, needs-batch, rejected; found \"needs_batch\""),
        BadConfig(yaml: withSinks(slack + "      decisions:\n        - rejected\n        - Accepted\n"), line: 8,
                  key: "alerts.sinks[1].decisions", reason: "entry 2: must be one of accepted, needs-batch, rejected; found \"Accepted\""),
        BadConfig(yaml: withSinks(slack + "      decisions:\n        - rejected\n        - accepted\n        - rejected\n"), line: 9,
                  key: "alerts.sinks[1].decisions", reason: "entry 3: rejected is listed twice; keep one"),
        BadConfig(yaml: withSinks(slack + "      rateLimit: 0/s\n"), line: 6, key: "alerts.sinks[1].rateLimit",
                  reason: "must be a rate of 1 to 1000 messages a second, minute or hour, such as 1/s, 30/m or 10/h, or off; "
                      + "found \"0/s\""),
        BadConfig(yaml: withSinks(slack + "      rateLimit: 1001/s\n"), line: 6, key: "alerts.sinks[1].rateLimit",
                  reason: "must be a rate of 1 to 1000 messages a second, minute or hour, such as 1/s, 30/m or 10/h, or off; "
                      + "found \"1001/s\""),
        BadConfig(yaml: withSinks(slack + "      rateLimit: 99999999999999999999999/h\n"), line: 6, key: "alerts.sinks[1].rateLimit",
                  reason: "must be a rate of 1 to 1000 messages a second, minute or hour, such as 1/s, 30/m or 10/h, or off; "
                      + "found \"99999999999999999999999/h\""),
    ] + ["1/d", "fast", "1.5/s", "-1/s", "1 /s", "1/sec", "/s", "1/", "1", "false", "5s"].map { text in
        BadConfig(yaml: withSinks(slack + "      rateLimit: \(text)\n"), line: 6, key: "alerts.sinks[1].rateLimit",
                  reason: "must be a rate such as 1/s, 30/m or 10/h, or off; found \"\(text)\"")
    } + [
        BadConfig(yaml: withSinks(teams + "      digestThreshold: 1001\n"), line: 6, key: "alerts.sinks[1].digestThreshold",
                  reason: "must be a whole number from 0 (never) to 1000; found \"1001\""),
        BadConfig(yaml: withSinks(teams + "      digestThreshold: 99999999999999999999\n"), line: 6,
                  key: "alerts.sinks[1].digestThreshold",
                  reason: "must be a whole number from 0 (never) to 1000; found \"99999999999999999999\""),
        BadConfig(yaml: withSinks(teams + "      digestThreshold: -1\n"), line: 6, key: "alerts.sinks[1].digestThreshold",
                  reason: "must be a whole number from 0 (never) to 1000; found \"-1\""),
        BadConfig(yaml: withSinks(teams + "      digestThreshold: 2.5\n"), line: 6, key: "alerts.sinks[1].digestThreshold",
                  reason: "must be a whole number from 0 (never) to 1000; found \"2.5\""),
        BadConfig(yaml: withSinks(teams + "      digestThreshold: never\n"), line: 6, key: "alerts.sinks[1].digestThreshold",
                  reason: "must be a whole number from 0 (never) to 1000; found \"never\""),
    ])
    func badDecisionsRatesAndDigests(bad: BadConfig) throws {
        try bad.check()
    }

    @Test(arguments: [
        BadConfig(yaml: withSinks(webhook + "      headers:\n        X Plant: north\n"), line: 7,
                  key: "alerts.sinks[1].headers.X Plant",
                  reason: "is not a header name: write letters, digits and !#$%&'*+-.^_`|~ only"),
        BadConfig(yaml: withSinks(webhook + "      headers:\n        \"X-Plant:\": north\n"), line: 7,
                  key: "alerts.sinks[1].headers.X-Plant:",
                  reason: "is not a header name: write letters, digits and !#$%&'*+-.^_`|~ only"),
        BadConfig(yaml: withSinks(webhook + "      headers:\n        \"\": north\n"), line: 7, key: "alerts.sinks[1].headers.\"\"",
                  reason: "is not a header name: write letters, digits and !#$%&'*+-.^_`|~ only"),
        BadConfig(yaml: withSinks(webhook + "      headers:\n        Content-Type: text/plain\n"), line: 7,
                  key: "alerts.sinks[1].headers.Content-Type",
                  reason: "is set by batchgate itself (Content-Type, Content-Length, Host, Idempotency-Key, ce-id, ce-source, ce-type, ce-specversion, ce-time, webhook-id, webhook-timestamp, webhook-signature); remove it"),
        BadConfig(yaml: withSinks(webhook + "      headers:\n        X-A: a\n        content-length: 5\n"), line: 8,
                  key: "alerts.sinks[1].headers.content-length",
                  reason: "is set by batchgate itself (Content-Type, Content-Length, Host, Idempotency-Key, ce-id, ce-source, ce-type, ce-specversion, ce-time, webhook-id, webhook-timestamp, webhook-signature); remove it"),
        BadConfig(yaml: withSinks(slack + "      headers: {HOST: example.com}\n"), line: 6, key: "alerts.sinks[1].headers.HOST",
                  reason: "is set by batchgate itself (Content-Type, Content-Length, Host, Idempotency-Key, ce-id, ce-source, ce-type, ce-specversion, ce-time, webhook-id, webhook-timestamp, webhook-signature); remove it"),
        BadConfig(yaml: withSinks(teams + "      headers: {Idempotency-Key: x}\n"), line: 6,
                  key: "alerts.sinks[1].headers.Idempotency-Key",
                  reason: "is set by batchgate itself (Content-Type, Content-Length, Host, Idempotency-Key, ce-id, ce-source, ce-type, ce-specversion, ce-time, webhook-id, webhook-timestamp, webhook-signature); remove it"),
        BadConfig(yaml: withSinks(webhook + "      headers:\n        CE-Type: spoofed\n"), line: 7,
                  key: "alerts.sinks[1].headers.CE-Type", reason: "is set by batchgate itself (Content-Type, Content-Length, Host, Idempotency-Key, ce-id, ce-source, ce-type, ce-specversion, ce-time, webhook-id, webhook-timestamp, webhook-signature); remove it"),
        BadConfig(yaml: withSinks(webhook + "      headers:\n        Webhook-Timestamp: \"0\"\n"), line: 7,
                  key: "alerts.sinks[1].headers.Webhook-Timestamp", reason: "is set by batchgate itself (Content-Type, Content-Length, Host, Idempotency-Key, ce-id, ce-source, ce-type, ce-specversion, ce-time, webhook-id, webhook-timestamp, webhook-signature); remove it"),
        BadConfig(yaml: withSinks(webhook + "      headers:\n        X-Batchgate-Signature: x\n      signing: {secret: k}\n"),
                  line: 7, key: "alerts.sinks[1].headers.X-Batchgate-Signature",
                  reason: "is the header batchgate sends the signature in (signing.header); remove it"),
        BadConfig(yaml: withSinks(webhook + "      signing: {secret: k, header: X-Sig}\n      headers:\n        x-sig: x\n"),
                  line: 8, key: "alerts.sinks[1].headers.x-sig",
                  reason: "is the header batchgate sends the signature in (signing.header); remove it"),
        BadConfig(yaml: withSinks(webhook + "      headers:\n        Authorization: a\n        authorization: b\n"), line: 8,
                  key: "alerts.sinks[1].headers.authorization",
                  reason: "is the header Authorization again (header names ignore case); keep one"),
        BadConfig(yaml: withSinks(webhook + "      headers:\n        Authorization: \"Bearer SECRET\\r\\nX-Evil: 1\"\n"), line: 7,
                  key: "alerts.sinks[1].headers.Authorization",
                  reason: "must be one line; found a line break or NUL (not shown: the value may be secret)"),
        BadConfig(yaml: withSinks(webhook + "      headers:\n        Authorization: {credential: a/b}\n"), line: 7,
                  key: "alerts.sinks[1].headers.Authorization.credential",
                  reason: "must be a credential name: a file name without /; found \"a/b\""),
        BadConfig(yaml: withSinks(webhook + "      headers:\n        Authorization:\n"), line: 7,
                  key: "alerts.sinks[1].headers.Authorization",
                  reason: "must be a secret or one of {file: PATH}, {credential: NAME} or {env: NAME}; found nothing"),
        BadConfig(yaml: withSinks(webhook + "      headers: [Authorization]\n"), line: 6, key: "alerts.sinks[1].headers",
                  reason: "must be a mapping of header names to values, such as {Authorization: {credential: NAME}}; found a list"),
        BadConfig(yaml: withSinks(webhook + "      headers: Bearer SECRET\n"), line: 6, key: "alerts.sinks[1].headers",
                  reason: "must be a mapping of header names to values, such as {Authorization: {credential: NAME}}; "
                      + "found a value (not shown: it may be secret)"),
        BadConfig(yaml: withSinks(webhook + "      signing: SECRET\n"), line: 6, key: "alerts.sinks[1].signing",
                  reason: "must be a mapping of settings (secret, header), such as {secret: {credential: NAME}}; "
                      + "found text (not shown: it may be secret)"),
        BadConfig(yaml: withSinks(webhook + "      signing: [a]\n"), line: 6, key: "alerts.sinks[1].signing",
                  reason: "must be a mapping of settings (secret, header); found a list"),
        BadConfig(yaml: withSinks(webhook + "      signing:\n        secret: k\n        header: X Sig\n"), line: 8,
                  key: "alerts.sinks[1].signing.header",
                  reason: "must be a header name such as X-Batchgate-Signature; found \"X Sig\""),
        BadConfig(yaml: withSinks(webhook + "      signing:\n        secret: k\n        header: content-type\n"), line: 8,
                  key: "alerts.sinks[1].signing.header",
                  reason: "must be a header batchgate does not set already (Content-Type, Content-Length, Host, Idempotency-Key, ce-id, ce-source, ce-type, ce-specversion, ce-time, webhook-id, webhook-timestamp, webhook-signature); "
                      + "found \"content-type\""),
        BadConfig(yaml: withSinks(webhook + "      signing:\n        secret: \"\"\n"), line: 7,
                  key: "alerts.sinks[1].signing.secret",
                  reason: "must be a secret, or one of {file: PATH}, {credential: NAME} or {env: NAME}; found \"\""),
    ])
    func badHeadersAndSigning(bad: BadConfig) throws {
        try bad.check()
        #expect(!bad.reason.contains("SECRET"))
    }

    @Test(arguments: [
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      from: Batchgate <b@example.com>\n      to: a@b.c\n"),
                  line: 6, key: "alerts.sinks[1].from",
                  reason: "must be a bare e-mail address such as compliance@plant.example.com, without a name, <>, quotes, commas "
                      + "or spaces; found \"Batchgate <b@example.com>\""),
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      from: batchgate\n      to: a@b.c\n"),
                  line: 6, key: "alerts.sinks[1].from",
                  reason: "must be an e-mail address such as compliance@plant.example.com; found \"batchgate\""),
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      from: a@b@c\n      to: a@b.c\n"),
                  line: 6, key: "alerts.sinks[1].from",
                  reason: "must be an e-mail address such as compliance@plant.example.com; found \"a@b@c\""),
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      from: \"@example.com\"\n      to: a@b.c\n"),
                  line: 6, key: "alerts.sinks[1].from",
                  reason: "must be an e-mail address such as compliance@plant.example.com; found \"@example.com\""),
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      from: \"b@x.com\\r\\nBcc: e\"\n      to: a@b.c\n"),
                  line: 6, key: "alerts.sinks[1].from",
                  reason: "must be a bare e-mail address such as compliance@plant.example.com, without a name, <>, quotes, commas "
                      + "or spaces; found \"b@x.com\r\nBcc: e\""),
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      from: [b@example.com]\n      to: a@b.c\n"),
                  line: 6, key: "alerts.sinks[1].from",
                  reason: "must be an e-mail address such as compliance@plant.example.com; found a list"),
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      from: a@b.c\n      to: []\n"),
                  line: 7, key: "alerts.sinks[1].to", reason: "must list at least one address; found an empty list"),
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      from: a@b.c\n      to: \"QA team qa@example.com\"\n"),
                  line: 7, key: "alerts.sinks[1].to",
                  reason: "must be a bare e-mail address such as compliance@plant.example.com, without a name, <>, quotes, commas "
                      + "or spaces; found \"QA team qa@example.com\""),
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      from: a@b.c\n      to:\n        - d@e.f\n        - qa\n"),
                  line: 9, key: "alerts.sinks[1].to",
                  reason: "entry 2: must be an e-mail address such as compliance@plant.example.com; found \"qa\""),
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      from: a@b.c\n      to: {qa: a@b.c}\n"),
                  line: 7, key: "alerts.sinks[1].to",
                  reason: "must be an e-mail address or a list of them, such as [compliance@plant.example.com]; found a mapping"),
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      from: a@b.c\n      to:\n"),
                  line: 7, key: "alerts.sinks[1].to",
                  reason: "must be an e-mail address or a list of them, such as [compliance@plant.example.com]; found nothing"),
        BadConfig(yaml: withSinks(email + "      password: {credential: smtp}\n"), line: 8, key: "alerts.sinks[1].password",
                  reason: "needs a username to log in with; add username"),
        BadConfig(yaml: withSinks(email + "      username: \" \"\n"), line: 8, key: "alerts.sinks[1].username",
                  reason: "must be the user name to log in to the mail server with; found \" \""),
        BadConfig(yaml: withSinks(email + "      username: u\n      password: {credential: smtp}\n      starttls: false\n"), line: 10,
                  key: "alerts.sinks[1].starttls",
                  reason: "the password would cross the network in clear; use smtps:// or keep starttls: true"),
        BadConfig(yaml: withSinks(email + "      starttls: no\n"), line: 8, key: "alerts.sinks[1].starttls",
                  reason: "must be true or false; found \"no\""),
        BadConfig(yaml: withSinks("    - name: m\n      type: email\n      url: smtps://m\n      from: a@b.c\n      to: d@e.f\n"
                      + "      starttls: true\n"),
                  line: 8, key: "alerts.sinks[1].starttls",
                  reason: "applies to smtp:// only; an smtps:// connection is encrypted from the start, so remove it"),
    ])
    func badEmailSettings(bad: BadConfig) throws {
        try bad.check()
    }

    @Test func anErrorInALaterSinkNamesItsPositionAndLine() throws {
        let yaml = "fsync: true\n" + withSinks(slack + webhook + email + "      to: [qa@example.com, nobody]\n")
            .replacingOccurrences(of: "      to: qa@example.com\n", with: "")
        do {
            _ = try load(yaml)
            Issue.record("loaded")
        } catch {
            #expect(error.description
                == "batchgate.yaml, line 14, alerts.sinks[3].to: entry 2: must be an e-mail address such as "
                + "compliance@plant.example.com; found \"nobody\"")
        }
    }
}
