import BatchgateCore

extension DaemonConfig {
    /// The folders the daemon works in: those under ``stateRoot``, with the inbox in use.
    public var layout: StateLayout {
        StateLayout(root: stateRoot, inbox: inbox)
    }

    /// The checker this configuration describes, with its catalog files loaded.
    public func makeChecker() throws(CatalogSources.LoadError) -> ManifestChecker {
        ManifestChecker(catalog: try catalog.load(), settings: rules.ruleSettings, maximumSize: maxManifestSize)
    }
}
