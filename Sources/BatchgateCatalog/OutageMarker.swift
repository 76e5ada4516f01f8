import BatchgateSystem

/// `unreachable` beside the cache: written once the daemon has announced an outage, removed once it
/// has announced its end, so that a restart during an outage neither announces it again nor leaves
/// it without an end. Advisory: a file a crash cut short reads as an outage since it was last
/// changed, and a crash between an announcement and the marker costs at most one alert twice.
public enum OutageMarker {
    /// The marker's path: `unreachable` in the cache's folder.
    public static func path(besides cachePath: String) -> String {
        MetrcCacheFile.split(cachePath).folder + "/unreachable"
    }

    /// The outage an earlier run announced and did not see end; nil when none.
    public static func read(_ path: String) -> (since: Double, reason: String)? {
        guard let bytes = try? RegularFile.read(path, limit: 64 << 10) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", maxSplits: 1)
        let since = lines.first.flatMap { Double($0) }
            ?? (try? System.linkStatus(path)).map { Double($0.st_mtim.tv_sec) } ?? System.wallClock()
        return (since, lines.count > 1 ? String(lines[1].filter { !$0.isNewline }) : "not known")
    }

    static func write(_ path: String, since: Double, reason: String, log: Logger) {
        let (folder, name) = MetrcCacheFile.split(path)
        do throws(SystemError) {
            let directory = try System.openDirectory(folder)
            defer { System.close(directory) }
            _ = try System.unlinkIfPresent(in: directory, name, describing: path)
            let text = "\(since)\n\(reason.filter { !$0.isNewline })\n"
            System.close(try System.createFile(in: directory, name, contents: Array(text.utf8), describing: path))
        } catch {
            log.warning("cannot write \(path), which tells the next start that Metrc's outage was announced: \(error)")
        }
    }

    static func remove(_ path: String, log: Logger) {
        let (folder, name) = MetrcCacheFile.split(path)
        do throws(SystemError) {
            let directory = try System.openDirectory(folder)
            defer { System.close(directory) }
            _ = try System.unlinkIfPresent(in: directory, name, describing: path)
        } catch {
            log.warning("cannot remove \(path): \(error); the next start may announce Metrc's return once more")
        }
    }
}
