#if canImport(Glibc)
import Glibc
#endif
import BatchgateSystem

/// The metrics file, replaced whole each time: node_exporter's textfile collector may read it at
/// any instant, and a file read half-written would lose series or fail the whole collector's
/// scrape. So the text goes into a temporary file beside it, under a name the collector skips
/// (it reads only `*.prom`), is flushed, and is renamed over the path in one step.
struct MetricsFile: Sendable {
    /// The file node_exporter reads (`metrics.textfile`).
    let path: String

    /// `.<name>.tmp` in the same folder: a rename within one filesystem is atomic, and the
    /// collector's `*.prom` never matches it.
    var temporaryPath: String {
        let slash = path.lastIndex(of: "/")!
        return String(path[...slash]) + "." + String(path[path.index(after: slash)...]) + ".tmp"
    }

    /// Replaces the file with `text`, mode 0644 whatever the umask (node_exporter runs as another
    /// user). A temporary file a crash left is overwritten; one this write fails on is removed.
    func write(_ text: String) throws(SystemError) {
        let temporary = temporaryPath
        // O_NOFOLLOW: a link planted at the temporary name must not make the daemon write elsewhere.
        let fd = try System.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode: 0o644)
        do {
            try System.retrying("set the mode of", temporary) { fchmod(fd, 0o644) }
            try System.writeAll(fd, Array(text.utf8), describing: temporary)
            // Flushed before the rename, so that a crash of the machine leaves the old file or the
            // new one, never an empty one under the path.
            try System.fsync(fd, describing: temporary)
        } catch {
            System.close(fd)
            _ = try? System.unlinkIfPresent(temporary)
            throw error
        }
        System.close(fd)
        do {
            try System.rename(temporary, to: path)
        } catch {
            _ = try? System.unlinkIfPresent(temporary)
            throw error
        }
    }
}

/// Writes the metrics file and says in the log when that fails, once per change of error (not at
/// every interval), and when it works again. A failure never stops the daemon: metrics are for
/// watching it, not part of its work.
struct MetricsWriter: Sendable {
    let file: MetricsFile
    /// The last failure logged; nil while writes succeed.
    private(set) var failure: String?

    init(path: String) {
        file = MetricsFile(path: path)
    }

    /// Writes `text`, logging a new failure or the end of one on `log`.
    mutating func write(_ text: String, log: Logger) {
        do {
            try file.write(text)
            if failure != nil {
                failure = nil
                log.notice("the metrics file \(file.path) is written again")
            }
        } catch {
            let message = "\(error)"
            guard message != failure else { return }
            failure = message
            log.error("cannot write the metrics file \(file.path): \(message); batchgate goes on without it and tries again at every interval. "
                      + "Check that its folder exists and that the batchgate user may create files there; under systemd "
                      + "(ProtectSystem=strict) also add ReadWritePaths= with that folder to the unit, as /usr/share/doc/batchgate/examples/batchgate-metrics.conf shows")
        }
    }
}
