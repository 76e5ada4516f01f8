import BatchgateCore
import Foundation
import Testing

/// `batchgate config check` shows the rule settings in effect, and refuses a bad one with the
/// file, the line and the key.
@Suite("batchgate config check")
struct ConfigCheckTests {
    /// Runs `config check` on a config file holding `yaml`, in a fresh folder.
    func configCheck(_ yaml: String) throws -> (result: Executable.Result, config: String) {
        let folder = try DaemonProcess.temporaryRoot()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("batchgate.yaml")
        try Data(yaml.utf8).write(to: config)
        return (try Executable.run(["config", "check", "--config", config.path]), config.path)
    }

    @Test func theExampleConfigShowsTheDefaultRuleSettings() throws {
        let result = try Executable.run(["config", "check", "--config", "config/batchgate.yaml"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("\n  item change:     concentrates\n"), "\(result.standardOutput)")
        let words = RuleSettings.defaultAdditiveWords.joined(separator: ", ")
        #expect(result.standardOutput.contains("\n  additive words:  \(words)\n"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("\n  same-form steps: Repackage, Split, Combine, Relabel\n"), "\(result.standardOutput)")
    }

    @Test func everyCheckIsShownAtItsLevelTheChangedOnesMarked() throws {
        let example = try Executable.run(["config", "check", "--config", "config/batchgate.yaml"])
        #expect(example.status == 0, "\(example.standardError)")
        #expect(example.standardOutput.contains("\n  checks:          error rejects, warning reports and alerts, off skips\n"))
        #expect(!example.standardOutput.contains("changed"), "the shipped config writes the defaults: \(example.standardOutput)")
        let (result, _) = try configCheck("rules:\n  checks:\n    source-lab-failed: error\n    too-many-packages: off\n")
        #expect(result.status == 0, "\(result.standardError)")
        // One a line, the levels in one column, a changed one followed by its default.
        let width = CheckID.allCases.map(\.rawValue.count).max()!
        for check in CheckID.allCases {
            let name = "    " + check.rawValue + String(repeating: " ", count: width - check.rawValue.count) + "  "
            let line = switch check {
            case .sourceLabFailed: name + "error   (changed; default warning)"
            case .tooManyPackages: name + "off     (changed; default warning)"
            default: name + check.defaultLevel.rawValue
            }
            #expect(result.standardOutput.contains("\n" + line + "\n"), "lacks \(line): \(result.standardOutput)")
        }
    }

    /// A sink hears of check warnings beyond its decisions unless it says `warnings: false`.
    @Test func aSinksLineSaysWhetherItHearsOfWarnings() throws {
        let (result, _) = try configCheck("""
            alerts:
              sinks:
                - {name: chat, type: slack, url: https://hooks.example.com/a}
                - {name: quiet, type: slack, url: https://hooks.example.com/b, warnings: false}
                - {name: all, type: webhook, url: https://hooks.example.com/c, decisions: [accepted, needs-batch, rejected]}
            """)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("\n    chat: slack, on needs-batch, rejected and check warnings, at most"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("\n    quiet: slack, on needs-batch, rejected, at most"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("\n    all: webhook, on accepted, needs-batch, rejected\n"), "\(result.standardOutput)")
    }

    @Test func quietPrintsNothingForAValidConfig() throws {
        let result = try Executable.run(["config", "check", "--quiet", "--config", "config/batchgate.yaml"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.isEmpty, "\(result.standardOutput)")
        #expect(result.standardError.isEmpty, "\(result.standardError)")
    }

    @Test func quietStillRefusesABadConfigWithItsMessage() throws {
        let folder = try DaemonProcess.temporaryRoot()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("batchgate.yaml")
        try Data("rules:\n  itemChange: sometimes\n".utf8).write(to: config)
        let result = try Executable.run(["config", "check", "--quiet", "--config", config.path])
        #expect(result.status == 78)
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.contains("batchgate: \(config.path), line 2, rules.itemChange: must be one of"), "\(result.standardError)")
    }

    @Test func aConfigsRuleSettingsAreShown() throws {
        let (result, _) = try configCheck("""
            rules:
              itemChange: always
              additiveWords: [distillate blend, MCT]
              sameFormSteps: [Trimming]
            """)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("""

              item change:     always
              additive words:  distillate blend, MCT
              same-form steps: Trimming

            """), "\(result.standardOutput)")
    }

    @Test func emptyListsSayWhatTheyMean() throws {
        let (result, _) = try configCheck("rules:\n  additiveWords: []\n  sameFormSteps: []\n")
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("\n  additive words:  none (only listed Additives count)\n"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("\n  same-form steps: none (every step changes form)\n"), "\(result.standardOutput)")
    }

    /// A bad rule setting, and the message after the file's name.
    @Test(arguments: [
        ("rules:\n  itemChange: sometimes\n",
         "line 2, rules.itemChange: must be one of concentrates, always, never; found \"sometimes\""),
        ("rules:\n  additiveWords:\n    - MCT\n    - \"--\"\n",
         "line 4, rules.additiveWords: entry 2: must be a word or phrase with a letter or digit, such as terpene or coconut oil; found \"--\""),
        ("rules:\n  itemchange: always\n", "line 2, rules.itemchange: unknown setting; did you mean itemChange?"),
        ("rules:\n  checks:\n    tag-in-uze: off\n", "line 3, rules.checks.tag-in-uze: unknown check; did you mean tag-in-use? The checks are tag-in-use, "),
        ("rules:\n  checks:\n    date-future: loud\n", "line 3, rules.checks.date-future: must be one of error, warning, off; found \"loud\""),
    ])
    func aBadRuleSettingIsRefusedWithItsLineAndKey(yaml: String, message: String) throws {
        let (result, config) = try configCheck(yaml)
        #expect(result.status == 78)
        #expect(result.standardError.contains("batchgate: \(config), \(message)"), "\(result.standardError)")
    }

    /// A config folder whose alert sinks take their secrets from credentials, as the packaged
    /// unit gives them (`LoadCredential=secrets:DIR`), and DIR holding both: a flat file and a
    /// nested one. The caller removes `base`.
    func credentialsSetup() throws -> (base: URL, config: String, credentials: URL) {
        let base = try DaemonProcess.temporaryRoot()
        let credentials = base.appendingPathComponent("credentials")
        try FileManager.default.createDirectory(at: credentials.appendingPathComponent("mail"), withIntermediateDirectories: true)
        try Data("https://hooks.example.com/HOOK-SECRET\n".utf8).write(to: credentials.appendingPathComponent("hook"))
        try Data("MAIL-PASSWORD-SECRET\n".utf8).write(to: credentials.appendingPathComponent("mail/password"))
        let config = base.appendingPathComponent("batchgate.yaml")
        try Data("""
            stateRoot: state
            alerts:
              sinks:
                - {name: desk, type: webhook, url: {credential: secrets_hook}}
                - name: mail
                  type: email
                  url: smtps://mail.example.com
                  from: batchgate@example.com
                  to: [desk@example.com]
                  username: batchgate
                  password: {credential: secrets_mail_password}

            """.utf8).write(to: config)
        return (base, config.path, credentials)
    }

    @Test func credentialsAreReadFromTheFolderGivenAndNeverShown() throws {
        let (base, config, credentials) = try credentialsSetup()
        defer { try? FileManager.default.removeItem(at: base) }
        let result = try CredentialsCommandTests.run(["config", "check", "--config", config, "--credentials", "secrets:\(credentials.path)"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("\n  credentials:     as systemd would load them from secrets:\(credentials.path)\n"),
                "\(result.standardOutput)")
        #expect(result.standardOutput.contains("\n    mail: email, on "), "\(result.standardOutput)")
        for secret in ["HOOK-SECRET", "MAIL-PASSWORD-SECRET"] {
            #expect(!result.standardOutput.contains(secret) && !result.standardError.contains(secret), "\(secret) shown")
        }
        let quiet = try CredentialsCommandTests.run(["config", "check", "--quiet", "--config", config, "--credentials", "secrets:\(credentials.path)"])
        #expect(quiet.status == 0 && quiet.standardOutput.isEmpty && quiet.standardError.isEmpty, "\(quiet.standardError)")
    }

    @Test func withoutTheOptionACredentialPointsAtIt() throws {
        let (base, config, _) = try credentialsSetup()
        defer { try? FileManager.default.removeItem(at: base) }
        let result = try CredentialsCommandTests.run(["config", "check", "--config", config])
        #expect(result.status == 78)
        #expect(result.standardError == "batchgate: \(config), alerts.sinks[1].url: secret from credential secrets_hook: "
            + "CREDENTIALS_DIRECTORY is not set (systemd sets it for the service, from its LoadCredential= lines); outside "
            + "systemd, check with --credentials secrets:/etc/batchgate/credentials (as root), or the folder the unit's "
            + "LoadCredential=secrets: names (sink desk)\n", "\(result.standardError)")
    }

    @Test func aMissingCredentialNamesTheFileItsFolderLacks() throws {
        let (base, config, credentials) = try credentialsSetup()
        defer { try? FileManager.default.removeItem(at: base) }
        try FileManager.default.removeItem(at: credentials.appendingPathComponent("mail/password"))
        // A dot file is not loaded, by systemd or by the check.
        try Data("MAIL-PASSWORD-SECRET".utf8).write(to: credentials.appendingPathComponent("mail/.password"))
        try Data("MAIL-PASSWORD-SECRET".utf8).write(to: credentials.appendingPathComponent(".mail_password"))
        let result = try CredentialsCommandTests.run(["config", "check", "--config", config, "--credentials", "secrets:\(credentials.path)"])
        #expect(result.status == 78)
        #expect(result.standardError == "batchgate: \(config), alerts.sinks[2].password: secret from credential "
            + "secrets_mail_password: no file mail_password in \(credentials.path) (nor mail/password) (sink mail)\n",
            "\(result.standardError)")
        #expect(result.standardOutput.isEmpty)
        #expect(!result.standardError.contains("SECRET"))
    }

    @Test func aBadOrUnreadableFolderIsNamedWithTheOption() throws {
        let (base, config, credentials) = try credentialsSetup()
        defer { try? FileManager.default.removeItem(at: base) }
        let bad = try CredentialsCommandTests.run(["config", "check", "--config", config, "--credentials", credentials.path])
        #expect(bad.status == 78)
        #expect(bad.standardError.hasPrefix("batchgate: --credentials \(credentials.path): expected ID:DIR"), "\(bad.standardError)")

        let missing = base.appendingPathComponent("none").path
        let absent = try CredentialsCommandTests.run(["config", "check", "--config", config, "--credentials", "secrets:\(missing)"])
        #expect(absent.status == 78)
        #expect(absent.standardError.hasPrefix("batchgate: --credentials secrets:\(missing): "), "\(absent.standardError)")
        #expect(absent.standardError.contains("\(missing): No such file or directory (errno 2)"), "\(absent.standardError)")

        // A name systemd refuses would fail the service's start: so does the check.
        try Data("x".utf8).write(to: credentials.appendingPathComponent("host:port"))
        let refused = try CredentialsCommandTests.run(["config", "check", "--config", config, "--credentials", "secrets:\(credentials.path)"])
        #expect(refused.status == 78)
        #expect(refused.standardError.contains("would be the credential secrets_host:port"), "\(refused.standardError)")
    }

    /// The daemon reads credentials from `$CREDENTIALS_DIRECTORY` only: it has no --credentials,
    /// and a folder's files are not looked at.
    @Test func theDaemonReadsOnlyCredentialsDirectory() throws {
        let (base, config, credentials) = try credentialsSetup()
        defer { try? FileManager.default.removeItem(at: base) }
        let option = try CredentialsCommandTests.run(["run", "--config", config, "--credentials", "secrets:\(credentials.path)"])
        #expect(option.status == 64, "\(option.standardError)")

        // The credentials systemd would have put there, one of them not a URL: read, and refused.
        let loaded = base.appendingPathComponent("run/batchgate.service")
        try FileManager.default.createDirectory(at: loaded, withIntermediateDirectories: true)
        try Data("not a url".utf8).write(to: loaded.appendingPathComponent("secrets_hook"))
        try Data("pw".utf8).write(to: loaded.appendingPathComponent("secrets_mail_password"))
        let wrong = try CredentialsCommandTests.run(["run", "--config", config], environment: ["CREDENTIALS_DIRECTORY": loaded.path])
        #expect(wrong.status == 78)
        #expect(wrong.standardError.contains("alerts.sinks[1].url: the credential secrets_hook must hold a http:// or https:// URL"),
                "\(wrong.standardError)")

        let unset = try CredentialsCommandTests.run(["run", "--config", config])
        #expect(unset.status == 78)
        #expect(unset.standardError.contains("secret from credential secrets_hook: CREDENTIALS_DIRECTORY is not set"), "\(unset.standardError)")
        #expect(!FileManager.default.fileExists(atPath: base.appendingPathComponent("state").path))
    }
}
