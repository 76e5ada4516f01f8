extension DaemonConfig {
    /// The settings the daemon runs with, from this configuration (paths already resolved).
    public var settings: DaemonSettings {
        DaemonSettings(
            layout: StateLayout(root: stateRoot, inbox: inbox),
            rescanInterval: rescanInterval.seconds,
            settleTime: settleTime.seconds,
            maxManifestSize: maxManifestSize,
            syncToDisk: fsync,
            itemsFile: catalog.items,
            packagesFile: catalog.packages,
            sameFormSteps: rules.sameFormSteps,
            logLevel: log.level)
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
