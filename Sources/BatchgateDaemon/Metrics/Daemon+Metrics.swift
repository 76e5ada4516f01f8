import BatchgateSystem
import Dispatch

/// The metrics file (`metrics.textfile`): written once the daemon is ready, every
/// `metrics.interval` on its queue (between batches, so the counts agree with one another), and
/// once more as it stops, so the last file tells how it ended. The file is never deleted: a series
/// that vanished at each restart would make node_exporter's alerts flap.
extension Daemon {
    /// Writes the file now and sets its timer, or stops writing it when `metrics` is unset; called
    /// at start-up and again after a reload, which may change the path or the interval.
    func startMetrics() {
        metrics.timer?.cancel()
        metrics.timer = nil
        guard let configured = settings.metrics else {
            metrics.writer = nil
            return
        }
        if metrics.writer?.file.path != configured.textfile { metrics.writer = MetricsWriter(path: configured.textfile) }
        writeMetrics()
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.milliseconds(Int(configured.interval.seconds * 1000))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(500))
        timer.setEventHandler { [unowned self] in
            guard !self.stopping else { return }
            self.writeMetrics()
        }
        timer.resume()
        metrics.timer = timer
    }

    /// Writes the metrics file from the daemon's state as it is now; nothing without `metrics`.
    func writeMetrics() {
        guard metrics.writer != nil else { return }
        let text = MetricsText.render(metricsSnapshot())
        metrics.writer!.write(text, log: log)
    }

    /// The daemon's state as the metrics file tells it.
    func metricsSnapshot() -> MetricsSnapshot {
        var snapshot = MetricsSnapshot(version: metrics.version, startTime: metrics.startTime, takenAt: System.wallClock())
        snapshot.manifests = counts
        snapshot.ruleHits = metrics.ruleHits
        snapshot.routingLatency = metrics.routingLatency
        snapshot.inboxFiles = tracker.files.count + pending.count
        snapshot.processingFiles = manifestsInProcessing()
        snapshot.sinks = alerts?.statistics() ?? []
        if let catalog {
            snapshot.catalog = CatalogFreshness(syncedAt: catalog.syncedAt, reachable: catalog.availability == .available)
        }
        return snapshot
    }

    /// The manifests in `processing/` (its dot-files are the router's journals and markers); nil
    /// when it cannot be listed. Between batches, where the metrics are taken, these are the ones
    /// waiting: one listing of a folder that is normally empty.
    private func manifestsInProcessing() -> Int? {
        var count = 0
        do {
            try System.forEachEntry(of: settings.layout.processing) { entry in
                if entry.bytes.first != UInt8(ascii: ".") { count += 1 }
                return true
            }
        } catch {
            return nil
        }
        return count
    }
}
