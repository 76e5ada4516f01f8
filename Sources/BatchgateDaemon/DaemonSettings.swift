import BatchgateCore

/// What the daemon needs to run, resolved from the config file (or `--root` defaults).
public struct DaemonSettings: Sendable, Equatable {
    public var layout: StateLayout
    /// Seconds between periodic rescans of the inbox; 0 turns them off.
    public var rescanInterval: Double
    /// Seconds a file must be left alone before it is taken (see ``IntakeTracker``).
    public var quietPeriod: Double
    public var maxManifestSize: Int
    public var syncToDisk: Bool
    public var itemsFile: String?
    public var packagesFile: String?
    /// The rule settings the facility tuned (``DaemonConfig/Rules``).
    public var rules: RuleSettings
    public var logLevel: LogLevel
    /// The alert sinks, secrets resolved; none by default.
    public var alerts: AlertSettings

    public init(layout: StateLayout, rescanInterval: Double = 30, quietPeriod: Double = 2,
                maxManifestSize: Int = TextInput.defaultMaximumSize, syncToDisk: Bool = true,
                itemsFile: String? = nil, packagesFile: String? = nil,
                rules: RuleSettings = RuleSettings(), logLevel: LogLevel = .info,
                alerts: AlertSettings = AlertSettings()) {
        self.layout = layout
        self.rescanInterval = rescanInterval
        self.quietPeriod = quietPeriod
        self.maxManifestSize = maxManifestSize
        self.syncToDisk = syncToDisk
        self.itemsFile = itemsFile
        self.packagesFile = packagesFile
        self.rules = rules
        self.logLevel = logLevel
        self.alerts = alerts
    }

    /// The checker these settings describe, with the catalog files loaded.
    func makeChecker() throws(CatalogFiles.LoadError) -> ManifestChecker {
        let catalog = try CatalogFiles.load(items: itemsFile, packages: packagesFile)
        return ManifestChecker(catalog: catalog, settings: rules, maximumSize: maxManifestSize)
    }
}
