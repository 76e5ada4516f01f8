import BatchgateAlerts
import BatchgateCatalog
import BatchgateConfig
import BatchgateCore
import BatchgateSystem

/// The live catalog (Metrc's) in the daemon: started with it, told of reloads, and heard from when
/// Metrc stops or starts answering, which the alerts and the service's status say, and which sets
/// the manifests waiting for it on their way.
extension Daemon {
    /// The catalog service `catalog.metrc` describes, its cache in the state root, the files'
    /// catalog laid over it; nil without `catalog.metrc`. Its events come onto the daemon's queue.
    func makeCatalogService(files: Catalog) throws(StartupError) -> CatalogService? {
        guard let metrc = settings.catalog.metrc else { return nil }
        guard let keys = secrets.metrc else {
            throw StartupError("catalog.metrc is set but its keys were not read (vendorKey, userKey)")
        }
        do {
            try System.makeDirectories(settings.layout.catalogFolder)
        } catch {
            throw StartupError("cannot create the folder \(settings.layout.catalogFolder) for the Metrc catalog's cache: \(error)")
        }
        let service = CatalogService(
            settings: CatalogService.Settings(config: metrc, keys: keys, cachePath: settings.layout.metrcCache),
            overlay: files, log: log
        ) { [weak self] event in
            guard let self else { return }
            self.queue.async { self.handle(event) }
        }
        return service
    }

    /// A checker whose catalog is the live one, when there is one: the files' catalog goes to the
    /// service as its overlay, and every source must then be one Metrc has.
    func liveChecker(_ checker: ManifestChecker) -> ManifestChecker {
        guard let catalog else { return checker }
        catalog.setOverlay(checker.catalog)
        var live = checker
        live.catalog = catalog.current
        live.sourcesMustBeKnown = true
        return live
    }

    func handle(_ event: CatalogService.Event) {
        guard !stopping, router != nil else { return }
        switch event {
        case .synced:
            // Waiting manifests whose tags the sync just learned need no look-up any more.
            if router.waitingCount > 0, catalog?.availability == .available { recover() }
        case .unavailable(let reason):
            let notice = notice(unavailable: reason)
            // The marker after the alert: a crash between the two announces it twice at worst.
            if post(notice), case .unavailable(let since, _)? = catalog?.availability {
                catalog?.outageAnnounced(since: since, reason: reason)
            }
        case .available(let since):
            if post(notice(availableAfter: since)) { catalog?.outageEndAnnounced() }
            if router.waitingCount > 0 { recover() }
        }
        sendStatus()
    }

    /// The part of the status about the live catalog: manifests waiting for it, and since when
    /// Metrc has not answered. Empty when there is nothing to say.
    var catalogStatus: String {
        guard let catalog, router != nil else { return "" }
        var parts: [String] = []
        if router.waitingCount > 0 { parts.append("\(router.waitingCount) wait for Metrc") }
        if case .unavailable(let since, _) = catalog.availability {
            parts.append("Metrc unreachable since \(Timestamp.iso8601(since))")
        }
        return parts.isEmpty ? "" : "; " + parts.joined(separator: "; ")
    }

    private func notice(unavailable reason: String) -> ServiceNotice {
        var since = System.wallClock()
        if case .unavailable(let start, _)? = catalog?.availability { since = start }
        return .catalogUnreachable(id: JournalEntry.newID(), at: System.wallClock(), server: settings.catalog.metrc?.server ?? "Metrc",
                                   since: since, waiting: router.waitingCount, lastError: reason)
    }

    private func notice(availableAfter since: Double) -> ServiceNotice {
        .catalogReachable(id: JournalEntry.newID(), at: System.wallClock(), server: settings.catalog.metrc?.server ?? "Metrc",
                          unreachableSince: since, waiting: router.waitingCount)
    }

    /// Writes a notice's alerts into the outbox for every sink and hands them to the senders;
    /// false when they could not be written (logged). With no sink it is announced by the log alone.
    @discardableResult
    private func post(_ notice: ServiceNotice) -> Bool {
        let entries = AlertPlanner(config: settings, layout: settings.layout).entries(for: notice, createdAt: System.wallClock())
        guard !entries.isEmpty else { return true }
        do {
            try alerts.post(entries)
            return true
        } catch {
            log.error("cannot write the alert \"\(notice.title)\" into \(settings.layout.outbox): \(error)")
            return false
        }
    }
}
