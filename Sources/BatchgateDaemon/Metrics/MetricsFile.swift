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

    /// The folder and the file's name in it.
    var parts: (folder: String, name: String) {
        let slash = path.lastIndex(of: "/")!
        return (String(path[..<slash]).isEmpty ? "/" : String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// `.<name>.<8 hex digits>.tmp` in the same folder: a rename within one filesystem is atomic,
    /// and the collector's `*.prom` never matches it. A new name each time, created exclusively:
    /// node_exporter's folder may be writable by others, and a name known in advance could be
    /// taken first, by a FIFO that would block the daemon's queue on open, a link, or a file of
    /// theirs the daemon cannot remove (a sticky folder) and would fail on for ever.
    func temporaryName(_ random: UInt32) -> String {
        let digits = String(random, radix: 16)
        return "." + parts.name + "." + String(repeating: "0", count: 8 - digits.count) + digits + ".tmp"
    }

    /// Replaces the file with `text`, mode 0644 whatever the umask (node_exporter runs as another
    /// user). The temporary file is this call's own (`O_EXCL`); one this write fails on is removed.
    func write(_ text: String) throws(SystemError) {
        let temporary = parts.folder + "/" + temporaryName(UInt32.random(in: 0...UInt32.max))
        // Errors name the temporary file by its pattern: a message that changed with every random
        // name would be logged at every interval instead of once (``MetricsWriter``).
        let described = parts.folder + "/." + parts.name + ".*.tmp"
        // O_EXCL makes a new regular file or fails: never a link followed, a FIFO opened or another's file reused.
        let fd = try System.retrying("create", described) {
            Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o644)
        }
        do {
            try System.retrying("set the mode of", described) { fchmod(fd, 0o644) }
            try System.writeAll(fd, Array(text.utf8), describing: described)
            // Flushed before the rename, so that a crash of the machine leaves the old file or the
            // new one, never an empty one under the path.
            try System.fsync(fd, describing: described)
        } catch {
            System.close(fd)
            _ = try? System.unlinkIfPresent(temporary)
            throw error
        }
        System.close(fd)
        do {
            try System.retrying("rename", described) { Glibc.rename(temporary, path) }
        } catch {
            _ = try? System.unlinkIfPresent(temporary)
            throw error
        }
    }

    /// Removes the temporary files a crash of this user's daemon left between creating one and
    /// renaming it: regular files of this user with the temporary names, nothing else.
    func removeLeftovers() {
        let (folder, name) = parts
        guard let entries = try? System.listDirectory(folder) else { return }
        for entry in entries {
            guard let listed = entry.name, listed.hasPrefix("." + name + "."), listed.hasSuffix(".tmp"),
                  listed.count == name.count + 14 else { continue }
            let leftover = folder + "/" + listed
            guard let info = try? System.linkStatus(leftover), info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid() else { continue }
            _ = try? System.unlinkIfPresent(leftover)
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
        file.removeLeftovers()
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
