import BatchgateCore
import BatchgateSystem

/// The daemon's settings, as read from `batchgate.yaml` by ``ConfigLoader``. Every setting has a
/// default, so an empty file (or none, see ``defaults(stateRoot:)``) is a working configuration.
///
/// This is what the daemon runs on, and the alert senders with it (their secrets read into
/// ``SinkSecrets``); every property is named as its key in the file. Decoding checks every key and
/// value and throws with the key's path and what to write instead.
public struct DaemonConfig: Decodable, Sendable, Equatable {
    /// The folder holding `inbox/`, `processing/`, `accepted/`, `needs-batch/`, `rejected/`,
    /// `outbox/` and `audit.jsonl`.
    public var stateRoot: String
    /// Another inbox folder, or nil for `<stateRoot>/inbox` (see ``layout``). It must be on the
    /// state root's filesystem so that claiming a manifest is a rename; the loader cannot check that.
    public var inbox: String?
    /// How often the inbox is scanned for files that no event announced (SMB and NFS writers);
    /// zero turns the periodic scan off.
    public var rescanInterval: Duration
    /// How long a file must be left alone (no write, close or attribute change seen, and for a
    /// file only scans see, the same size and times at two looks) before it is taken. Always more
    /// than zero. Written `settleTime` by earlier versions, which is still read.
    public var quietPeriod: Duration
    /// Manifests larger than this many bytes are rejected unread (1 byte to 1 GiB). Written as
    /// the command line's `--max-size` is (see ``ByteSizeText``).
    var maxManifestSize: Int
    /// Whether reports and moves are flushed to disk before the daemon goes on.
    public var fsync: Bool
    /// The catalog files naming each item's and package's category.
    public var catalog: CatalogSources
    /// The rule settings a facility may tune.
    public var rules: Rules
    /// Who the daemon runs for, shown in alerts.
    public var facility: Facility
    /// Logging settings.
    public var log: Logging
    /// Where alerts go; by default nowhere.
    public var alerts: Alerts
    /// The metrics file for node_exporter; nil (the default) writes none.
    public var metrics: Metrics?

    /// The state root used when neither the config file nor the command line names one.
    public static let defaultStateRoot = "./var"
    /// The largest ``maxManifestSize`` allowed: 1 GiB.
    public static let maxManifestSizeLimit = 1 << 30

    /// A configuration with the given settings; every argument left out takes its default (the one
    /// place these defaults are stated: decoding takes them from here).
    public init(
        stateRoot: String = DaemonConfig.defaultStateRoot,
        inbox: String? = nil,
        rescanInterval: Duration = .seconds(30),
        quietPeriod: Duration = .seconds(2),
        maxManifestSize: Int = TextInput.defaultMaximumSize,
        fsync: Bool = true,
        catalog: CatalogSources = CatalogSources(),
        rules: Rules = Rules(),
        facility: Facility = Facility(),
        log: Logging = Logging(),
        alerts: Alerts = Alerts(),
        metrics: Metrics? = nil
    ) {
        self.stateRoot = stateRoot
        self.inbox = inbox
        self.rescanInterval = rescanInterval
        self.quietPeriod = quietPeriod
        self.maxManifestSize = maxManifestSize
        self.fsync = fsync
        self.catalog = catalog
        self.rules = rules
        self.facility = facility
        self.log = log
        self.alerts = alerts
        self.metrics = metrics
    }

    /// Every setting at its default but the state root: what `batchgate run --root DIR` runs on,
    /// without a config file. `stateRoot` is used as given: resolve it first if it must not depend on the
    /// working folder.
    public static func defaults(stateRoot: String) -> DaemonConfig {
        DaemonConfig(stateRoot: stateRoot)
    }

    /// This configuration with every relative path (state root, inbox, catalog files, the alerts'
    /// CA file and secret files) resolved against `baseDirectory`, normally the config file's
    /// folder. `~` is not expanded.
    func resolvingRelativePaths(against baseDirectory: String) -> DaemonConfig {
        let resolve = { (path: String) in FilePaths.resolve(path, against: baseDirectory) }
        var config = self
        config.stateRoot = resolve(stateRoot)
        config.inbox = inbox.map(resolve)
        config.catalog.items = catalog.items.map(resolve)
        config.catalog.packages = catalog.packages.map(resolve)
        config.alerts = alerts.resolvingRelativePaths(against: baseDirectory)
        return config
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case stateRoot, inbox, rescanInterval, quietPeriod, maxManifestSize, fsync, catalog, rules, facility, log, alerts, metrics
        /// The old name of `quietPeriod`, still read so that a config written for an earlier version
        /// runs, and left out of ``allCases``, so that messages list only the current names.
        case settleTime

        static let allCases: [CodingKeys] = [
            .stateRoot, .inbox, .rescanInterval, .quietPeriod, .maxManifestSize, .fsync, .catalog, .rules, .facility, .log, .alerts,
            .metrics,
        ]
    }

    /// Reads the settings, each key left out taking its default.
    /// - Throws: `ConfigProblem` (turned into ``ConfigError`` by ``ConfigLoader``) for an unknown
    ///   key or a value of the wrong kind or out of range.
    public init(from decoder: any Decoder) throws {
        let settings = try decoder.settings(keyedBy: CodingKeys.self)
        let defaults = DaemonConfig()
        stateRoot = try settings.setting(.stateRoot, .path(to: "the state folder"), default: defaults.stateRoot)
        inbox = try settings.optionalSetting(.inbox, .path(to: "the inbox folder"))
        rescanInterval = try settings.setting(.rescanInterval, .durationOrOff, default: defaults.rescanInterval)
        if settings.contains(.settleTime) && settings.contains(.quietPeriod) {
            throw ConfigProblem(at: settings.path(of: .settleTime), "settleTime is the old name of quietPeriod; give only quietPeriod")
        }
        quietPeriod = try settings.setting(settings.contains(.settleTime) ? .settleTime : .quietPeriod, .positiveDuration,
                                           default: defaults.quietPeriod)
        maxManifestSize = try settings.setting(
            .maxManifestSize, .byteSize(upTo: Self.maxManifestSizeLimit), default: defaults.maxManifestSize)
        fsync = try settings.setting(.fsync, .boolean, default: defaults.fsync)
        catalog = try settings.section(.catalog, default: defaults.catalog)
        rules = try settings.section(.rules, default: defaults.rules)
        facility = try settings.section(.facility, default: defaults.facility)
        log = try settings.section(.log, default: defaults.log)
        alerts = try settings.section(.alerts, default: defaults.alerts)
        metrics = try settings.decodeIfPresent(Metrics.self, forKey: .metrics)
    }
}

extension DaemonConfig {
    /// The rule settings a facility may tune (docs/rules.md); ``ruleSettings`` hands them to
    /// the rules engine.
    public struct Rules: Decodable, Sendable, Equatable {
        /// When a change of item, by itself, makes a production batch: `concentrates` (West
        /// Virginia's bulletin, the default), `always` (Oklahoma's reading) or `never`.
        public var itemChange: RuleSettings.ItemChange
        /// Words and phrases that, in a package's note or item name, say something was added. An
        /// empty list reads no words: only listed additives count.
        public var additiveWords: [String]
        /// Processing steps that do not change a product's form (the whole step, word for word,
        /// any case, an ending allowed). An empty list makes every step a change of form.
        public var sameFormSteps: [String]
        /// The level of each pre-flight check (`rules.checks`): error, warning or off, each
        /// check left out at its default (``CheckID/defaultLevel``).
        public var checks: CheckSettings

        /// Rules with the given settings; each left out takes the rules engine's default.
        public init(itemChange: RuleSettings.ItemChange = RuleSettings().itemChange,
                    additiveWords: [String] = RuleSettings.defaultAdditiveWords,
                    sameFormSteps: [String] = RuleSettings.defaultSameFormSteps,
                    checks: CheckSettings = CheckSettings()) {
            self.itemChange = itemChange
            self.additiveWords = additiveWords
            self.sameFormSteps = sameFormSteps
            self.checks = checks
        }

        /// These settings as the rules engine takes them.
        var ruleSettings: RuleSettings {
            RuleSettings(itemChange: itemChange, additiveWords: additiveWords, sameFormSteps: sameFormSteps, checks: checks)
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case itemChange, additiveWords, sameFormSteps, checks
        }

        /// Reads the settings, each key left out taking its default; see ``DaemonConfig/init(from:)``.
        public init(from decoder: any Decoder) throws {
            let settings = try decoder.settings(keyedBy: CodingKeys.self)
            let defaults = Rules()
            itemChange = try settings.setting(.itemChange, .itemChange, default: defaults.itemChange)
            additiveWords = try settings.listSetting(
                .additiveWords,
                of: .phrase("a word or phrase with a letter or digit, such as terpene or coconut oil"),
                expected: "a list of words or phrases, such as [terpene, coconut oil], or [] for none",
                default: defaults.additiveWords
            )
            sameFormSteps = try settings.listSetting(
                .sameFormSteps,
                of: .phrase("a processing step name such as Repackage"),
                expected: "a list of processing step names, such as [Repackage, Split]",
                default: defaults.sameFormSteps
            )
            if settings.contains(.checks), try !settings.decodeNil(forKey: .checks) {
                checks = try Self.checkLevels(from: settings.superDecoder(forKey: .checks))
            } else {
                checks = defaults.checks
            }
        }

        /// `rules.checks`: a mapping of check ids, exactly as reports write them, to a level. The
        /// keys are the checks' own ids rather than `CodingKeys`, so an unknown one is refused here
        /// with every valid id (a typo gets the id probably meant as well). A level equal to the
        /// check's default is not kept as a change: writing out the defaults, as the shipped
        /// config does, is the same as leaving them out.
        static func checkLevels(from decoder: any Decoder) throws -> CheckSettings {
            let ids = CheckID.allCases.map(\.rawValue)
            guard let mapping = try? decoder.container(keyedBy: AnyCodingKey.self) else {
                throw ConfigProblem(
                    at: decoder.codingPath,
                    "must be a mapping of check ids to error, warning or off, such as {too-many-packages: off}; "
                        + "found \(decoder.writtenValue().described)")
            }
            var levels = CheckSettings()
            for key in mapping.allKeys {
                guard let check = CheckID(rawValue: key.stringValue) else {
                    let valid = ids.joined(separator: ", ")
                    let reason = UnknownKey.suggestion(for: key.stringValue, among: ids)
                        .map { "unknown check; did you mean \($0)? The checks are \(valid)" } ?? "unknown check; the checks are \(valid)"
                    throw ConfigProblem(at: ConfigPath(decoder.codingPath).appending(key: key.stringValue), reason)
                }
                let level = try SettingFormat<CheckLevel>.checkLevel.read(from: mapping.superDecoder(forKey: key))
                if level != check.defaultLevel { levels.set(check, to: level) }
            }
            return levels
        }
    }

    /// The facility the daemon runs for, named in alerts.
    public struct Facility: Decodable, Sendable, Equatable {
        /// The facility's Metrc license number.
        public var licenseNumber: String?
        /// The facility's name.
        public var name: String?

        /// A facility with the given license number and name.
        public init(licenseNumber: String? = nil, name: String? = nil) {
            self.licenseNumber = licenseNumber
            self.name = name
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case licenseNumber, name
        }

        /// Reads the settings, each key left out taking its default; see ``DaemonConfig/init(from:)``.
        public init(from decoder: any Decoder) throws {
            let settings = try decoder.settings(keyedBy: CodingKeys.self)
            licenseNumber = try settings.optionalSetting(.licenseNumber, .text("a license number such as 402-00123"))
            name = try settings.optionalSetting(.name, .text("the facility's name"))
        }
    }

    /// Logging settings.
    public struct Logging: Decodable, Sendable, Equatable {
        /// The least severe level written.
        public var level: LogLevel

        /// Logging at `level` and above.
        public init(level: LogLevel = .info) {
            self.level = level
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case level
        }

        /// Reads the settings, each key left out taking its default; see ``DaemonConfig/init(from:)``.
        public init(from decoder: any Decoder) throws {
            let settings = try decoder.settings(keyedBy: CodingKeys.self)
            level = try settings.setting(.level, .logLevel, default: Logging().level)
        }
    }
}
