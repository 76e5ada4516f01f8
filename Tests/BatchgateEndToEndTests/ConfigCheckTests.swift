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
    ])
    func aBadRuleSettingIsRefusedWithItsLineAndKey(yaml: String, message: String) throws {
        let (result, config) = try configCheck(yaml)
        #expect(result.status == 78)
        #expect(result.standardError.contains("batchgate: \(config), \(message)"), "\(result.standardError)")
    }
}
