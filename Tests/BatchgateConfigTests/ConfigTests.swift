import BatchgateCore
import Foundation
import Testing
@testable import BatchgateSystem
@testable import BatchgateConfig

/// Loads `yaml` as `batchgate.yaml` in `/etc/batchgate`.
private func load(_ yaml: String) throws(ConfigError) -> DaemonConfig {
    try ConfigLoader.load(yaml: yaml, fileName: "batchgate.yaml", baseDirectory: "/etc/batchgate")
}

/// The error loading `yaml` gives, or nil if it loads.
private func loadError(_ yaml: String) -> ConfigError? {
    do {
        _ = try load(yaml)
        return nil
    } catch {
        return error
    }
}

/// A config text the loader must refuse, and the error it must give.
struct BadConfig: CustomTestStringConvertible, Sendable {
    var yaml: String
    var line: Int?
    var key: String?
    var reason: String

    var testDescription: String { yaml.debugDescription }

    func check() throws {
        let error = try #require(loadError(yaml), "\(yaml.debugDescription) loaded")
        #expect(error.file == "batchgate.yaml")
        #expect(error.line == line)
        #expect(error.key == key)
        #expect(error.reason == reason)
    }
}

@Suite("Config defaults")
struct ConfigDefaultsTests {
    static let defaults = DaemonConfig.defaults(stateRoot: "/etc/batchgate/var")

    @Test(arguments: ["", "\n\n", "# only a comment\n  # and another\n", "~\n", "null", "---\n", "--- # a comment\n...\n"])
    func emptyFileGivesDefaults(yaml: String) throws {
        #expect(try load(yaml) == Self.defaults)
    }

    @Test func defaultValues() {
        let config = DaemonConfig()
        #expect(config.stateRoot == "./var")
        #expect(config.inbox == nil)
        #expect(config.rescanInterval == .seconds(30))
        #expect(config.quietPeriod == .seconds(2))
        #expect(config.maxManifestSize == 16 * 1024 * 1024)
        #expect(config.fsync)
        #expect(config.catalog == DaemonConfig.CatalogSources(items: nil, packages: nil))
        #expect(config.rules.itemChange == .concentrates)
        #expect(config.rules.additiveWords.contains("terpene") && config.rules.additiveWords.contains("coconut oil"))
        #expect(config.rules.additiveWords == RuleSettings.defaultAdditiveWords)
        #expect(config.rules.sameFormSteps == ["Repackage", "Split", "Combine", "Relabel"])
        #expect(config.rules.ruleSettings == RuleSettings())
        #expect(config.facility == DaemonConfig.Facility(licenseNumber: nil, name: nil))
        #expect(config.log.level == .info)
        #expect(config.alerts == DaemonConfig.Alerts())
    }

    @Test func defaultsForARootGivenOnTheCommandLine() {
        let config = DaemonConfig.defaults(stateRoot: "/srv/batchgate")
        #expect(config == DaemonConfig(stateRoot: "/srv/batchgate"))
        #expect(config.layout.inbox == "/srv/batchgate/inbox")
    }

    @Test func emptySectionsGiveTheirDefaults() throws {
        let yaml = "catalog:\nrules: ~\nfacility: null\nlog: {}\nalerts:\n"
        #expect(try load(yaml) == Self.defaults)
    }

    @Test func nullOptionalSettingsAreUnset() throws {
        let yaml = "inbox: null\ncatalog:\n  items: ~\n  packages:\nfacility:\n  licenseNumber: null\n  name: ~\n"
        #expect(try load(yaml) == Self.defaults)
    }
}

@Suite("Config values")
struct ConfigValueTests {
    @Test func everySettingIsRead() throws {
        let yaml = """
            stateRoot: /srv/batchgate
            inbox: /srv/batchgate/drop
            rescanInterval: 0
            quietPeriod: 500ms
            maxManifestSize: 512K
            fsync: false
            catalog:
              items: /srv/catalog/items.json
              packages: packages.csv
            rules:
              itemChange: always
              additiveWords: [terpene, "distillate blend", 42]
              sameFormSteps:
                - Repackage
                - Re-tag
            facility:
              licenseNumber: "402-00123"
              name: Green Valley Processing
            log:
              level: debug
            """
        let expected = DaemonConfig(
            stateRoot: "/srv/batchgate",
            inbox: "/srv/batchgate/drop",
            rescanInterval: .zero,
            quietPeriod: .milliseconds(500),
            maxManifestSize: 512 * 1024,
            fsync: false,
            catalog: .init(items: "/srv/catalog/items.json", packages: "/etc/batchgate/packages.csv"),
            rules: .init(itemChange: .always, additiveWords: ["terpene", "distillate blend", "42"],
                         sameFormSteps: ["Repackage", "Re-tag"]),
            facility: .init(licenseNumber: "402-00123", name: "Green Valley Processing"),
            log: .init(level: .debug)
        )
        #expect(try load(yaml) == expected)
    }

    @Test(arguments: [
        ("0", Duration.zero),
        ("0s", .zero),
        ("30", .seconds(30)),
        ("1.5", .milliseconds(1500)),
        ("0.1s", .milliseconds(100)),
        ("500ms", .milliseconds(500)),
        ("0.5ms", .microseconds(500)),
        ("30s", .seconds(30)),
        ("2m", .seconds(120)),
        ("1.5m", .seconds(90)),
        ("1h", .seconds(3600)),
        ("24h", .seconds(86400)),
        ("1d", .seconds(86400)),
        ("\"45s\"", .seconds(45)),
    ])
    func durations(text: String, expected: Duration) throws {
        #expect(try load("rescanInterval: \(text)").rescanInterval == expected)
    }

    @Test(arguments: [
        ("1", 1),
        ("1048576", 1 << 20),
        ("512K", 512 << 10),
        ("512k", 512 << 10),
        ("16M", 16 << 20),
        ("1G", 1 << 30),
    ])
    func sizes(text: String, expected: Int) throws {
        #expect(try load("maxManifestSize: \(text)").maxManifestSize == expected)
    }

    @Test(arguments: [("true", true), ("True", true), ("false", false), ("FALSE", false)])
    func booleans(text: String, expected: Bool) throws {
        #expect(try load("fsync: \(text)").fsync == expected)
    }

    @Test(arguments: LogLevel.allCases)
    func logLevels(level: LogLevel) throws {
        #expect(try load("log:\n  level: \(level.rawValue)").log.level == level)
    }

    @Test func aNumericLicenseNumberKeepsItsText() throws {
        #expect(try load("facility:\n  licenseNumber: 0402").facility.licenseNumber == "0402")
    }

    @Test(arguments: RuleSettings.ItemChange.allCases)
    func itemChanges(itemChange: RuleSettings.ItemChange) throws {
        let config = try load("rules:\n  itemChange: \(itemChange.rawValue)")
        #expect(config.rules.itemChange == itemChange)
        #expect(config.rules.ruleSettings.itemChange == itemChange)
    }

    @Test func anEmptyAdditiveWordListReadsNoWords() throws {
        let config = try load("rules:\n  additiveWords: []")
        #expect(config.rules.additiveWords.isEmpty)
        #expect(config.rules.ruleSettings.additiveWords.isEmpty)
        #expect(config.rules.sameFormSteps == RuleSettings.defaultSameFormSteps, "the other settings keep their defaults")
    }

    @Test func theRulesReachTheDaemonsSettingsAndItsChecker() throws {
        let yaml = "rules:\n  itemChange: never\n  additiveWords: [MCT]\n  sameFormSteps: [Split]\n"
        let expected = RuleSettings(itemChange: .never, additiveWords: ["MCT"], sameFormSteps: ["Split"])
        let config = try load(yaml)
        #expect(config.rules.ruleSettings == expected)
        #expect(try config.makeChecker().engine.settings == expected)
    }

    @Test func everyCheckKeepsItsDefaultLevelUnlessGiven() throws {
        let config = try load("rules:\n  checks:\n    source-lab-failed: error\n    too-many-packages: off\n")
        for check in CheckID.allCases {
            let expected: CheckLevel = switch check {
            case .sourceLabFailed: .error
            case .tooManyPackages: .off
            default: check.defaultLevel
            }
            #expect(config.rules.checks.level(check) == expected, "\(check.rawValue)")
        }
        let settings = try config.makeChecker().engine.settings
        #expect(settings.checks.level(.sourceLabFailed) == .error)
        #expect(!settings.checks.runs(.tooManyPackages))
        #expect(settings.itemChange == .concentrates, "the other rule settings keep their defaults")
    }

    /// A config that writes every check at its default (the shipped one does) is the default.
    @Test func checksWrittenAtTheirDefaultsAreTheDefaults() throws {
        let written = CheckID.allCases.map { "    \($0.rawValue): \($0.defaultLevel.rawValue)\n" }.joined()
        #expect(try load("rules:\n  checks:\n" + written).rules == DaemonConfig.Rules())
        #expect(try load("rules:\n  checks:\n").rules.checks == CheckSettings())
        #expect(try load("rules:\n  checks: {}\n").rules.checks == CheckSettings())
        // A level away from the default is kept, and one given back is the default again.
        #expect(try load("rules:\n  checks: {date-future: error}\n").rules.checks == CheckSettings([.dateFuture: .error]))
        #expect(try load("rules:\n  checks: {tag-in-use: warning}\n").rules != DaemonConfig.Rules())
    }

    @Test(arguments: [
        BadConfig(yaml: "rules:\n  checks:\n    tag-in-uze: error\n", line: 3, key: "rules.checks.tag-in-uze",
                  reason: "unknown check; did you mean tag-in-use? The checks are "
                      + CheckID.allCases.map(\.rawValue).joined(separator: ", ")),
        BadConfig(yaml: "rules:\n  checks:\n    metrc-likes-it: off\n", line: 3, key: "rules.checks.metrc-likes-it",
                  reason: "unknown check; the checks are " + CheckID.allCases.map(\.rawValue).joined(separator: ", ")),
        BadConfig(yaml: "rules:\n  checks:\n    date-future: warn\n", line: 3, key: "rules.checks.date-future",
                  reason: "must be one of error, warning, off; found \"warn\""),
        BadConfig(yaml: "rules:\n  checks:\n    date-future: false\n", line: 3, key: "rules.checks.date-future",
                  reason: "must be one of error, warning, off; found \"false\""),
        BadConfig(yaml: "rules:\n  checks: [tag-in-use]\n", line: 2, key: "rules.checks",
                  reason: "must be a mapping of check ids to error, warning or off, such as {too-many-packages: off}; found a list"),
    ])
    func aBadCheckLevelIsRefusedWithItsPath(bad: BadConfig) throws {
        try bad.check()
    }

    @Test func anEmptySameFormStepListMeansEveryStepChangesForm() throws {
        let config = try load("rules:\n  sameFormSteps: []")
        #expect(config.rules.sameFormSteps.isEmpty)
        #expect(config.rules.ruleSettings.sameFormSteps.isEmpty)
    }

    @Test func windowsLineEndingsAreRead() throws {
        let config = try load("fsync: false\r\nlog:\r\n  level: error\r\n")
        #expect(!config.fsync)
        #expect(config.log.level == .error)
    }
}

@Suite("Config paths")
struct ConfigPathTests {
    @Test(arguments: [
        ("./var", "/etc/batchgate/var"),
        ("var/", "/etc/batchgate/var"),
        ("/srv//batchgate/./state/", "/srv/batchgate/state"),
        ("../shared/var", "/etc/batchgate/../shared/var"),
        ("data/~old", "/etc/batchgate/data/~old"),
    ])
    func relativePathsStartAtTheBaseDirectory(written: String, resolved: String) throws {
        #expect(try load("stateRoot: \(written)").stateRoot == resolved)
    }

    @Test func everyPathIsResolved() throws {
        let yaml = "stateRoot: state\ninbox: drop\ncatalog:\n  items: items.json\n  packages: /abs/packages.csv\n"
        let config = try load(yaml)
        #expect(config.stateRoot == "/etc/batchgate/state")
        #expect(config.inbox == "/etc/batchgate/drop")
        #expect(config.layout.inbox == "/etc/batchgate/drop")
        #expect(config.catalog.items == "/etc/batchgate/items.json")
        #expect(config.catalog.packages == "/abs/packages.csv")
    }

    @Test func theInboxDefaultsToOneUnderTheStateRoot() throws {
        #expect(try load("stateRoot: /srv/bg/").layout.inbox == "/srv/bg/inbox")
    }

    @Test func aRelativeBaseDirectoryGivesRelativePaths() throws {
        let config = try ConfigLoader.load(yaml: "inbox: in", fileName: "b.yaml", baseDirectory: "config")
        #expect(config.stateRoot == "config/var")
        #expect(config.inbox == "config/in")
        let here = try ConfigLoader.load(yaml: "", fileName: "b.yaml", baseDirectory: "")
        #expect(here.stateRoot == "var")
    }
}

@Suite("Config errors")
struct ConfigErrorTests {
    @Test(arguments: [
        BadConfig(yaml: "rescanIntervall: 30s", line: 1, key: "rescanIntervall",
                  reason: "unknown setting; did you mean rescanInterval?"),
        BadConfig(yaml: "fsync: true\ncatalog:\n  item: items.json\n", line: 3, key: "catalog.item",
                  reason: "unknown setting; did you mean items?"),
        BadConfig(yaml: "fsync: true\nnotify:\n  webhook: x\n", line: 2, key: "notify",
                  reason: "unknown setting; the top-level settings are stateRoot, inbox, rescanInterval, quietPeriod, "
                      + "maxManifestSize, fsync, catalog, rules, facility, log, alerts, metrics"),
        BadConfig(yaml: "RescanInterval: 30s", line: 1, key: "RescanInterval",
                  reason: "unknown setting; did you mean rescanInterval?"),
        BadConfig(yaml: "quietPeriode: 2s", line: 1, key: "quietPeriode", reason: "unknown setting; did you mean quietPeriod?"),
        BadConfig(yaml: "quietPeriod: 2s\nsettleTime: 1s", line: 2, key: "settleTime",
                  reason: "settleTime is the old name of quietPeriod; give only quietPeriod"),
        BadConfig(yaml: "log:\n  levle: info\n", line: 2, key: "log.levle", reason: "unknown setting; did you mean level?"),
        BadConfig(yaml: "log:\n  verbosity: debug\n", line: 2, key: "log.verbosity",
                  reason: "unknown setting; the settings here are level"),
        BadConfig(yaml: "rules: {sameFormStep: [Split]}", line: 1, key: "rules.sameFormStep",
                  reason: "unknown setting; did you mean sameFormSteps?"),
        BadConfig(yaml: "rules:\n  additiveWord: [MCT]\n", line: 2, key: "rules.additiveWord",
                  reason: "unknown setting; did you mean additiveWords?"),
        BadConfig(yaml: "rules:\n  itemchange: always\n", line: 2, key: "rules.itemchange",
                  reason: "unknown setting; did you mean itemChange?"),
        BadConfig(yaml: "rules:\n  productionBatch: always\n", line: 2, key: "rules.productionBatch",
                  reason: "unknown setting; the settings here are itemChange, additiveWords, sameFormSteps, checks"),
        BadConfig(yaml: "facility:\n  license: X\n", line: 2, key: "facility.license",
                  reason: "unknown setting; the settings here are licenseNumber, name"),
    ])
    func unknownKeys(bad: BadConfig) throws {
        try bad.check()
    }

    @Test(arguments: [
        BadConfig(yaml: "fsync: maybe", line: 1, key: "fsync", reason: "must be true or false; found \"maybe\""),
        BadConfig(yaml: "fsync: yes", line: 1, key: "fsync", reason: "must be true or false; found \"yes\""),
        BadConfig(yaml: "fsync: [true]", line: 1, key: "fsync", reason: "must be true or false; found a list"),
        BadConfig(yaml: "rules: 5", line: 1, key: "rules",
                  reason: "must be a mapping of settings (itemChange, additiveWords, sameFormSteps, checks); found \"5\""),
        BadConfig(yaml: "catalog: [items.json]", line: 1, key: "catalog",
                  reason: "must be a mapping of settings (items, packages, metrc); found a list"),
        BadConfig(yaml: "rules:\n  sameFormSteps: Repackage\n", line: 2, key: "rules.sameFormSteps",
                  reason: "must be a list of processing step names, such as [Repackage, Split]; found \"Repackage\""),
        BadConfig(yaml: "facility:\n  name:\n    first: Green\n", line: 2, key: "facility.name",
                  reason: "must be the facility's name; found a mapping"),
        BadConfig(yaml: "stateRoot: {path: /srv}", line: 1, key: "stateRoot",
                  reason: "must be the path of the state folder, absolute or relative to the config file's folder; "
                      + "found a mapping"),
        BadConfig(yaml: "rules:\n  sameFormSteps:\n    - Split\n    - [Combine]\n", line: 4, key: "rules.sameFormSteps",
                  reason: "entry 2: must be a processing step name such as Repackage; found a list"),
        BadConfig(yaml: "rules:\n  itemChange: [always]\n", line: 2, key: "rules.itemChange",
                  reason: "must be one of concentrates, always, never; found a list"),
        BadConfig(yaml: "rules:\n  additiveWords: terpene\n", line: 2, key: "rules.additiveWords",
                  reason: "must be a list of words or phrases, such as [terpene, coconut oil], or [] for none; found \"terpene\""),
        BadConfig(yaml: "rules:\n  additiveWords:\n", line: 2, key: "rules.additiveWords",
                  reason: "must be a list of words or phrases, such as [terpene, coconut oil], or [] for none; found nothing"),
        BadConfig(yaml: "rules:\n  additiveWords: [MCT, {oil: coconut}]\n", line: 2, key: "rules.additiveWords",
                  reason: "entry 2: must be a word or phrase with a letter or digit, such as terpene or coconut oil; "
                      + "found a mapping"),
    ])
    func wrongTypes(bad: BadConfig) throws {
        try bad.check()
    }

    @Test(arguments: [
        BadConfig(yaml: "settleTime: 0", line: 1, key: "settleTime",
                  reason: "must be more than 0, such as 2s or 500ms; found \"0\""),
        BadConfig(yaml: "quietPeriod: 0ms", line: 1, key: "quietPeriod",
                  reason: "must be more than 0, such as 2s or 500ms; found \"0ms\""),
        BadConfig(yaml: "maxManifestSize: 2G", line: 1, key: "maxManifestSize",
                  reason: "must be from 1 byte to 1G; found \"2G\""),
        BadConfig(yaml: "maxManifestSize: 0", line: 1, key: "maxManifestSize",
                  reason: "must be from 1 byte to 1G; found \"0\""),
        BadConfig(yaml: "maxManifestSize: 99999999999999999999999999G", line: 1, key: "maxManifestSize",
                  reason: "must be from 1 byte to 1G; found \"99999999999999999999999999G\""),
        BadConfig(yaml: "maxManifestSize: 16TB", line: 1, key: "maxManifestSize",
                  reason: "must be a size such as 16M, 512K or 1048576 (bytes), from 1 byte to 1G; found \"16TB\""),
        BadConfig(yaml: "maxManifestSize: 1.5M", line: 1, key: "maxManifestSize",
                  reason: "must be a size such as 16M, 512K or 1048576 (bytes), from 1 byte to 1G; found \"1.5M\""),
        BadConfig(yaml: "rescanInterval: -1", line: 1, key: "rescanInterval",
                  reason: "must be a duration such as 30s, 2m or 0 (off); found \"-1\""),
        BadConfig(yaml: "rescanInterval: soon", line: 1, key: "rescanInterval",
                  reason: "must be a duration such as 30s, 2m or 0 (off); found \"soon\""),
        BadConfig(yaml: "rescanInterval: 30 s", line: 1, key: "rescanInterval",
                  reason: "must be a duration such as 30s, 2m or 0 (off); found \"30 s\""),
        BadConfig(yaml: "rescanInterval: .inf", line: 1, key: "rescanInterval",
                  reason: "must be a duration such as 30s, 2m or 0 (off); found \".inf\""),
        BadConfig(yaml: "rescanInterval: 25h", line: 1, key: "rescanInterval", reason: "must be at most 1d; found \"25h\""),
        BadConfig(yaml: "settleTime: soon", line: 1, key: "settleTime",
                  reason: "must be a duration such as 2s or 500ms; found \"soon\""),
        BadConfig(yaml: "\n\nlog:\n  level: loud\n", line: 4, key: "log.level",
                  reason: "must be one of debug, info, notice, warning, error; found \"loud\""),
        BadConfig(yaml: "log:\n  level: INFO\n", line: 2, key: "log.level",
                  reason: "must be one of debug, info, notice, warning, error; found \"INFO\""),
        BadConfig(yaml: "rules:\n  sameFormSteps:\n    - Repackage\n    - \"\"\n", line: 4, key: "rules.sameFormSteps",
                  reason: "entry 2: must be a processing step name such as Repackage; found \"\""),
        BadConfig(yaml: "rules:\n  sameFormSteps: [Split, \"  \", Combine]\n", line: 2, key: "rules.sameFormSteps",
                  reason: "entry 2: must be a processing step name such as Repackage; found \"  \""),
        BadConfig(yaml: "rules:\n  sameFormSteps:\n    -\n", line: 3, key: "rules.sameFormSteps",
                  reason: "entry 1: must be a processing step name such as Repackage; found nothing"),
        BadConfig(yaml: "\nrules:\n  sameFormSteps: [Split]\n  itemChange: sometimes\n", line: 4, key: "rules.itemChange",
                  reason: "must be one of concentrates, always, never; found \"sometimes\""),
        BadConfig(yaml: "rules:\n  itemChange: Always\n", line: 2, key: "rules.itemChange",
                  reason: "must be one of concentrates, always, never; found \"Always\""),
        BadConfig(yaml: "rules:\n  itemChange:\n", line: 2, key: "rules.itemChange",
                  reason: "must be one of concentrates, always, never; found nothing"),
        BadConfig(yaml: "rules:\n  additiveWords:\n    - terpene\n    - \"--\"\n", line: 4, key: "rules.additiveWords",
                  reason: "entry 2: must be a word or phrase with a letter or digit, such as terpene or coconut oil; found \"--\""),
        BadConfig(yaml: "rules:\n  sameFormSteps: [Split, \"-\"]\n", line: 2, key: "rules.sameFormSteps",
                  reason: "entry 2: must be a processing step name such as Repackage; found \"-\""),
        BadConfig(yaml: "rules:\n  additiveWords: [MCT, \"  \"]\n", line: 2, key: "rules.additiveWords",
                  reason: "entry 2: must be a word or phrase with a letter or digit, such as terpene or coconut oil; found \"  \""),
        BadConfig(yaml: "rules:\n  additiveWords:\n    -\n", line: 3, key: "rules.additiveWords",
                  reason: "entry 1: must be a word or phrase with a letter or digit, such as terpene or coconut oil; found nothing"),
        BadConfig(yaml: "stateRoot: \"\"", line: 1, key: "stateRoot",
                  reason: "must be the path of the state folder, absolute or relative to the config file's folder; found \"\""),
        BadConfig(yaml: "stateRoot:", line: 1, key: "stateRoot",
                  reason: "must be the path of the state folder, absolute or relative to the config file's folder; found nothing"),
        BadConfig(yaml: "stateRoot: ~/batchgate", line: 1, key: "stateRoot",
                  reason: "must be an absolute path or one relative to the config file's folder (~ is not expanded); "
                      + "found \"~/batchgate\""),
        BadConfig(yaml: "catalog:\n  items: \"\"\n", line: 2, key: "catalog.items",
                  reason: "must be the path of the items file (JSON or CSV), absolute or relative to the config file's "
                      + "folder; found \"\""),
        BadConfig(yaml: "facility:\n  name: \" \"\n", line: 2, key: "facility.name",
                  reason: "must be the facility's name; found \" \""),
    ])
    func badValues(bad: BadConfig) throws {
        try bad.check()
    }

    @Test(arguments: [
        BadConfig(yaml: "log:\n\tlevel: info\n", line: 2, key: nil,
                  reason: "not valid YAML: a tab is used to indent; indent with spaces"),
        BadConfig(yaml: "log:\n  level: info\n x: 2\n", line: 3, key: nil,
                  reason: "not valid YAML: did not find expected key (while parsing a block mapping that starts on line 1); "
                      + "is this line indented differently from the lines above it?"),
        BadConfig(yaml: "catalog:\n  items: a.json\n    packages: b.csv\n", line: 3, key: nil,
                  reason: "not valid YAML: mapping values are not allowed in this context; check the indentation, "
                      + "or quote a value that contains \": \""),
        BadConfig(yaml: "fsync: true\nstateRoot: \"/srv/batchgate\nlog:\n  level: info\n", line: 2, key: nil,
                  reason: "not valid YAML: found unexpected end of stream while scanning a quoted scalar that starts on "
                      + "this line; a quote opened on this line is not closed"),
        BadConfig(yaml: "rules:\n  sameFormSteps: [Split, Combine\n", line: 2, key: nil,
                  reason: "not valid YAML: did not find expected ',' or ']' while parsing a flow sequence that starts on "
                      + "this line"),
        BadConfig(yaml: "fsync: true\n---\nfsync: false\n", line: 2, key: nil,
                  reason: "not valid YAML: expected a single document in the stream but found another document; "
                      + "a config file holds one YAML document; remove the second \"---\""),
        BadConfig(yaml: "fsync: tr\u{7}ue\n", line: 1, key: nil,
                  reason: "not valid YAML text: control characters are not allowed"),
    ])
    func syntaxErrors(bad: BadConfig) throws {
        try bad.check()
    }

    @Test(arguments: [
        BadConfig(yaml: "fsync: true\nlog:\n  level: info\nfsync: false\n", line: 1, key: "fsync",
                  reason: "is given twice, on lines 1 and 4; keep one"),
        BadConfig(yaml: "log:\n  level: info\n\n  # quieter\n  level: error\n", line: 2, key: "log.level",
                  reason: "is given twice, on lines 2 and 5; keep one"),
        BadConfig(yaml: "catalog: {items: a.json, \"items\": b.json}", line: 1, key: "catalog.items",
                  reason: "is given twice, on line 1; keep one"),
        BadConfig(yaml: "fsync: true\nfsync: false\nfsync: true\n", line: 1, key: "fsync",
                  reason: "is given more than once in the same mapping; keep one"),
    ])
    func duplicateKeys(bad: BadConfig) throws {
        try bad.check()
    }

    @Test(arguments: [
        BadConfig(yaml: "- stateRoot: /srv\n", line: 1, key: nil,
                  reason: "the file must be a mapping of settings (stateRoot, inbox, rescanInterval, quietPeriod, "
                      + "maxManifestSize, fsync, catalog, rules, facility, log, alerts, metrics); found a list"),
        BadConfig(yaml: "# settings\nbatchgate\n", line: 2, key: nil,
                  reason: "the file must be a mapping of settings (stateRoot, inbox, rescanInterval, quietPeriod, "
                      + "maxManifestSize, fsync, catalog, rules, facility, log, alerts, metrics); found \"batchgate\""),
    ])
    func aTopLevelThatIsNotAMapping(bad: BadConfig) throws {
        try bad.check()
    }

    @Test func descriptionNamesFileLineAndKey() {
        let error = ConfigError(
            file: "batchgate.yaml", line: 7, key: "rescanInterval",
            reason: "must be a duration such as 30s, 2m or 0 (off); found \"soon\""
        )
        #expect(error.description
            == "batchgate.yaml, line 7, rescanInterval: must be a duration such as 30s, 2m or 0 (off); found \"soon\"")
        #expect(ConfigError(file: "b.yaml", line: 2, reason: "not valid YAML").description == "b.yaml, line 2: not valid YAML")
        #expect(ConfigError(file: "b.yaml", reason: "unreadable").description == "b.yaml: unreadable")
    }

    @Test func anUnknownKeyFarDownTheFileIsReportedAtItsLine() throws {
        let yaml = "stateRoot: ./var\nrescanInterval: 30s\nquietPeriod: 2s\n\n\n\nrescanIntervall: soon\n"
        let error = try #require(loadError(yaml))
        #expect(error.description == "batchgate.yaml, line 7, rescanIntervall: unknown setting; did you mean rescanInterval?")
    }
}

@Suite("Config keys")
struct ConfigKeyTests {
    /// The repository's example config, found from this file's path.
    static let exampleURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/batchgate.yaml")

    @Test func theExampleConfigLoadsAsTheDefaultsPlusTheSampleCatalog() throws {
        let yaml = try String(contentsOf: Self.exampleURL, encoding: .utf8)
        let folder = Self.exampleURL.deletingLastPathComponent().path
        let config = try ConfigLoader.load(yaml: yaml, fileName: "batchgate.yaml", baseDirectory: folder)

        var expected = DaemonConfig.defaults(stateRoot: folder + "/var")
        expected.catalog = .init(items: folder + "/catalog/items.json", packages: folder + "/catalog/packages.csv")
        #expect(config == expected)
        #expect(FileManager.default.fileExists(atPath: try #require(config.catalog.items)))
        #expect(FileManager.default.fileExists(atPath: try #require(config.catalog.packages)))
    }

    @Test func theExampleConfigWritesOutEverySetting() throws {
        let yaml = try String(contentsOf: Self.exampleURL, encoding: .utf8)
        for key in DaemonConfig.CodingKeys.allCases {
            #expect(yaml.contains("\n\(key.stringValue):"), "config/batchgate.yaml does not show \(key.stringValue)")
        }
        let nested = DaemonConfig.CatalogSources.CodingKeys.allCases.map(\.stringValue)
            + DaemonConfig.Rules.CodingKeys.allCases.map(\.stringValue)
            + DaemonConfig.Facility.CodingKeys.allCases.map(\.stringValue)
            + DaemonConfig.Logging.CodingKeys.allCases.map(\.stringValue)
            + DaemonConfig.Alerts.CodingKeys.allCases.map(\.stringValue)
        for key in nested {
            #expect(yaml.contains("\n  \(key):"), "config/batchgate.yaml does not show \(key)")
        }
        // Every pre-flight check, one a line at its default level with a comment.
        for check in CheckID.allCases {
            #expect(yaml.range(of: "\n    \(check.rawValue): \(check.defaultLevel.rawValue) +# ", options: .regularExpression) != nil,
                    "config/batchgate.yaml does not show rules.checks.\(check.rawValue) at its default")
        }
        // A sink's settings are shown in the commented-out example sinks.
        let exampleLines = yaml.split(separator: "\n").filter { $0.hasPrefix("  #   ") }.map { line in
            line.dropFirst(6).drop { $0 == " " || $0 == "-" }
        }
        let sinkKeys = DaemonConfig.AlertSink.CodingKeys.allCases.map(\.stringValue)
            + DaemonConfig.AlertSink.Signing.CodingKeys.allCases.map(\.stringValue)
        for key in sinkKeys {
            #expect(exampleLines.contains { $0.hasPrefix("\(key):") }, "config/batchgate.yaml does not show the sink setting \(key)")
        }
        for type in DaemonConfig.AlertSink.SinkType.allCases {
            #expect(exampleLines.contains("type: \(type.rawValue)"), "config/batchgate.yaml has no example \(type.rawValue) sink")
        }
    }

    @Test func theExampleSinksLoadOnceUncommented() throws {
        let yaml = try String(contentsOf: Self.exampleURL, encoding: .utf8)
        let uncommented = yaml.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            guard line.hasPrefix("  #   ") else { return line == "  sinks: []" ? "  sinks:" : String(line) }
            return "  " + line.dropFirst(4)
        }.joined(separator: "\n")
        let config = try ConfigLoader.load(yaml: uncommented, fileName: "batchgate.yaml", baseDirectory: "/etc/batchgate")
        #expect(config.alerts.sinks.map(\.name) == ["compliance-slack", "compliance-teams", "compliance-desk", "compliance-mail"])
        #expect(config.alerts.sinks.map(\.type) == [.slack, .teams, .webhook, .email])
    }

    @Test func aConfigWrittenInFullLoads() throws {
        let yaml = """
            stateRoot: /srv/batchgate
            inbox: /srv/drop
            rescanInterval: 1500ms
            quietPeriod: 2h
            maxManifestSize: 1000001
            fsync: false
            catalog:
              items: /srv/items.csv
            rules:
              itemChange: never
              additiveWords: []
              sameFormSteps: [Split]
            facility:
              licenseNumber: 402-00123
              name: Green Valley
            log:
              level: warning
            alerts:
              connectTimeout: 2500ms
              timeout: 1m
              caFile: /etc/ssl/extra.pem
              maxAge: 72h
              sinks:
                - {name: chat, type: slack, url: {credential: slack}, rateLimit: 30/m}
                - name: hook
                  type: webhook
                  url: https://h.example.com/x
                  headers: {Authorization: {env: TOKEN}}
                  signing: {secret: {file: /etc/key}}
                - {name: mail, type: email, url: "smtps://mail.example.com", decisions: [rejected], from: a@example.com,
                   to: [b@example.com], username: a, password: {credential: pw}}
            """
        let config = DaemonConfig(
            stateRoot: "/srv/batchgate",
            inbox: "/srv/drop",
            rescanInterval: .milliseconds(1500),
            quietPeriod: .seconds(7200),
            maxManifestSize: 1_000_001,
            fsync: false,
            catalog: .init(items: "/srv/items.csv"),
            rules: .init(itemChange: .never, additiveWords: [], sameFormSteps: ["Split"]),
            facility: .init(licenseNumber: "402-00123", name: "Green Valley"),
            log: .init(level: .warning),
            alerts: .init(
                connectTimeout: .milliseconds(2500), timeout: .seconds(60), caFile: "/etc/ssl/extra.pem", maxAge: .seconds(3 * 86400),
                sinks: [
                    .init(name: "chat", type: .slack, url: .credential(name: "slack"), rateLimit: .seconds(2)),
                    .init(name: "hook", type: .webhook, url: .inline("https://h.example.com/x"),
                          headers: [.init(name: "Authorization", value: .environment(name: "TOKEN"))],
                          signing: .init(secret: .file(path: "/etc/key"))),
                    .init(name: "mail", type: .email, url: .inline("smtps://mail.example.com"), decisions: [.rejected],
                          email: .init(from: "a@example.com", to: ["b@example.com"], username: "a", password: .credential(name: "pw"))),
                ]
            )
        )
        #expect(try ConfigLoader.load(yaml: yaml, fileName: "c.yaml", baseDirectory: "/") == config)
        #expect(try ConfigLoader.load(yaml: "stateRoot: /var/lib/batchgate\n", fileName: "c.yaml", baseDirectory: "/")
            == DaemonConfig.defaults(stateRoot: "/var/lib/batchgate"))
    }

    @Test(arguments: [
        (Duration.zero, "0"), (.seconds(30), "30s"), (.seconds(120), "2m"), (.seconds(7200), "2h"),
        (.seconds(90), "90s"), (.milliseconds(500), "500ms"), (.milliseconds(1500), "1500ms"),
        (.microseconds(250), "0.00025s"),
    ])
    func durationsAreWrittenShort(duration: Duration, text: String) throws {
        #expect(DurationText.format(duration) == text)
        #expect(try DurationText.duration(text, upTo: .seconds(86400)) == duration)
    }

    @Test(arguments: [(1 << 30, "1G"), (16 << 20, "16M"), (512 << 10, "512K"), (1_000_001, "1000001"), (1536, "1536")])
    func sizesAreWrittenShort(bytes: Int, text: String) {
        #expect(ByteSizeText.format(bytes) == text)
        #expect(ByteSizeText.bytes(text) == Int128(bytes))
    }

    /// The config and `check --max-size` read sizes with one parser: every form either took before.
    @Test(arguments: [
        ("16M", 16_777_216), ("16m", 16_777_216), ("16MiB", 16_777_216), ("16mib", 16_777_216), ("16MB", 16_777_216),
        ("16Mb", 16_777_216), ("512K", 524_288), ("512KiB", 524_288), ("1G", 1_073_741_824), ("1gib", 1_073_741_824),
        ("100", 100), ("100B", 100), ("+16M", 16_777_216), ("0016M", 16_777_216),
    ] as [(String, Int)])
    func sizesInEveryFormTheCommandLineTakes(text: String, bytes: Int) throws {
        #expect(ByteSizeText.bytes(text) == Int128(bytes))
        #expect(try load("maxManifestSize: \(text)\n").maxManifestSize == bytes)
    }

    @Test(arguments: ["", "M", "MiB", "16 M", "16MM", "1.5M", "16T", "-1", "16iBM", "++1"])
    func sizesInNoFormAreRefused(text: String) {
        #expect(ByteSizeText.bytes(text) == nil)
    }

    @Test(arguments: [
        ("rescanIntervall", "rescanInterval"), ("fsnyc", "fsync"), ("Inbox", "inbox"), ("item", "items"),
        ("stateroot", "stateRoot"), ("maxManifestSizeBytes", nil), ("notifications", nil), ("lvl", nil),
    ] as [(String, String?)])
    func nearMisses(written: String, meant: String?) {
        let known = DaemonConfig.CodingKeys.allCases.map(\.stringValue)
            + DaemonConfig.CatalogSources.CodingKeys.allCases.map(\.stringValue)
            + ["level"]
        #expect(UnknownKey.suggestion(for: written, among: known) == meant)
    }
}
