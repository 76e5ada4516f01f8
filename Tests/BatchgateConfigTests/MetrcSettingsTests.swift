import BatchgateCore
import Testing
@testable import BatchgateConfig

/// `catalog.metrc`: the facility's account at Metrc's API, its defaults, what is refused and why,
/// and its keys read as secrets.
@Suite("catalog.metrc")
struct MetrcSettingsTests {
    private func load(_ yaml: String) throws(ConfigError) -> DaemonConfig {
        try ConfigLoader.load(yaml: yaml, fileName: "batchgate.yaml", baseDirectory: "/etc/batchgate")
    }

    private func refusal(_ yaml: String) -> String? {
        do {
            _ = try load(yaml)
            return nil
        } catch {
            return error.description
        }
    }

    private func account(_ extra: String = "", server: String = "https://api-wv.metrc.com") -> String {
        """
        catalog:
          metrc:
            server: \(server)
            licenseNumber: 402R-00123
            vendorKey: {credential: metrc-vendor-key}
            userKey: {env: METRC_USER_KEY}
        \(extra.isEmpty ? "" : "    " + extra)
        """
    }

    private let resolver = SecretResolver(
        files: InMemorySecretFiles(["/creds/metrc-vendor-key": "VendorKey123\n"]),
        environment: ["CREDENTIALS_DIRECTORY": "/creds", "METRC_USER_KEY": "UserKey456"])

    @Test func theDefaultsLeaveHalfOfMetrcsLimitsToOtherSoftware() throws {
        let metrc = try #require(try load(account()).catalog.metrc)
        #expect(metrc.server == "https://api-wv.metrc.com" && metrc.licenseNumber == "402R-00123")
        #expect(metrc.vendorKey == .credential(name: "metrc-vendor-key") && metrc.userKey == .environment(name: "METRC_USER_KEY"))
        #expect(metrc.apiVersion == .v2 && metrc.refresh == .seconds(300) && metrc.history == .seconds(365 * 86_400))
        #expect(metrc.requestsPerSecond == 25 && metrc.concurrentRequests == 5 && metrc.lookupTimeout == .seconds(10))
    }

    @Test func everySettingIsRead() throws {
        let yaml = account("apiVersion: v1\n    refresh: 1m\n    history: 30d\n    requestsPerSecond: 50\n    concurrentRequests: 10\n    lookupTimeout: 20s")
        let metrc = try #require(try load(yaml).catalog.metrc)
        #expect(metrc.apiVersion == .v1 && metrc.refresh == .seconds(60) && metrc.history == .seconds(30 * 86_400))
        #expect(metrc.requestsPerSecond == 50 && metrc.concurrentRequests == 10 && metrc.lookupTimeout == .seconds(20))
    }

    @Test func noSectionMeansFilesAlone() throws {
        #expect(try load("catalog:\n  items: items.json").catalog.metrc == nil)
        #expect(try load("catalog:\n  metrc:\n").catalog.metrc == nil)
    }

    @Test(arguments: [
        ("https://api-wv.metrc.com/", "https://api-wv.metrc.com"),
        ("https://sandbox-api-wv.metrc.com", "https://sandbox-api-wv.metrc.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:9000", "http://localhost:9000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ])
    func serversAccepted(written: String, kept: String) throws {
        #expect(try load(account(server: written)).catalog.metrc?.server == kept)
    }

    @Test(arguments: [
        ("http://api-wv.metrc.com", "plain http would send the API keys readable"),
        ("http://127.example.com", "plain http would send the API keys readable"),
        ("https://api-wv.metrc.com/packages/v2", "no path"),
        ("https://user:pw@api-wv.metrc.com", "no path, user or query"),
        ("api-wv.metrc.com", "an https URL such as https://api-wv.metrc.com"),
        ("ftp://api-wv.metrc.com", "an https URL such as https://api-wv.metrc.com"),
    ])
    func serversRefused(written: String, reason: String) throws {
        let message = try #require(refusal(account(server: written)))
        #expect(message.contains("catalog.metrc.server") && message.contains(reason), "\(message)")
    }

    @Test(arguments: [
        ("requestsPerSecond: 51", "requestsPerSecond", "from 1 to 50 (Metrc's limit for one facility)"),
        ("requestsPerSecond: 0", "requestsPerSecond", "from 1 to 50"),
        ("concurrentRequests: 11", "concurrentRequests", "from 1 to 10"),
        ("refresh: 10s", "refresh", "from 30s to 1d"),
        ("history: 1h", "history", "from 1d to 3660d"),
        ("apiVersion: v3", "apiVersion", "one of v1, v2"),
        ("lookupTimeout: 2m", "lookupTimeout", "at most 1m"),
        ("licenceNumber: 1", "licenceNumber", "did you mean licenseNumber?"),
    ])
    func valuesRefused(extra: String, key: String, reason: String) throws {
        let message = try #require(refusal(account(extra)))
        #expect(message.contains("catalog.metrc.\(key)") && message.contains(reason), "\(message)")
    }

    @Test func theAccountNeedsItsFourSettings() throws {
        let message = try #require(refusal("catalog:\n  metrc:\n    server: https://api-wv.metrc.com\n    licenseNumber: 1\n    vendorKey: k\n"))
        #expect(message.contains("catalog.metrc") && message.contains("needs server, licenseNumber, vendorKey and userKey"), "\(message)")
    }

    @Test func theKeysAreReadAsSecretsAndNeverShown() throws {
        let config = try load(account())
        let keys = try #require(try config.metrcKeys(resolver: resolver, fileName: "batchgate.yaml"))
        #expect(keys.vendorKey.exposedValue == "VendorKey123" && keys.userKey.exposedValue == "UserKey456")
        #expect(!"\(keys)".contains("VendorKey123") && !"\(keys)".contains("UserKey456"))
        let all = try config.secrets(resolver: resolver, fileName: "batchgate.yaml")
        #expect(all.metrc == keys && all.sinks.isEmpty)
        #expect(try load("fsync: true").metrcKeys(resolver: resolver, fileName: "batchgate.yaml") == nil)
    }

    @Test(arguments: ["Vendor Key", "Vendor:Key", "two\nlines"])
    func aKeyThatIsNotOneWordIsRefusedNamingItsSource(value: String) throws {
        let config = try load(account())
        let resolver = SecretResolver(files: InMemorySecretFiles(["/creds/metrc-vendor-key": value]),
                                      environment: ["CREDENTIALS_DIRECTORY": "/creds", "METRC_USER_KEY": "UserKey456"])
        #expect {
            _ = try config.metrcKeys(resolver: resolver, fileName: "batchgate.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.contains("catalog.metrc.vendorKey") && text.contains("credential metrc-vendor-key") && !text.contains("Vendor")
        }
    }

    @Test func aMissingCredentialNamesTheKey() throws {
        let config = try load(account())
        let resolver = SecretResolver(files: InMemorySecretFiles([:]), environment: ["CREDENTIALS_DIRECTORY": "/creds", "METRC_USER_KEY": "u"])
        #expect {
            _ = try config.secrets(resolver: resolver, fileName: "batchgate.yaml")
        } throws: { error in
            "\(error)".contains("catalog.metrc.vendorKey")
        }
    }

    @Test func daysAreADurationUnit() throws {
        #expect(DurationText.format(.seconds(86_400 * 365)) == "365d")
        #expect(try load(account("history: 2d")).catalog.metrc?.history == .seconds(172_800))
    }
}
