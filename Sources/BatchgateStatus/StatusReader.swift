#if canImport(Glibc)
import Glibc
#endif
import BatchgateAlerts
import BatchgateCatalog
import BatchgateConfig
import BatchgateCore
import BatchgateSystem

/// Something `batchgate status` could not read, said for a person: the file or folder and why.
struct StatusProblem: Error, Sendable, Equatable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Why no status can be given at all: the state root itself cannot be opened, or whether a
/// daemon holds it cannot be told.
public struct StatusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What could not be done.
    public enum Step: Sendable, Equatable {
        /// Opening the state root folder.
        case openStateRoot
        /// Telling whether a daemon holds the state root's lock.
        case checkLock
    }

    public var step: Step
    /// The errno of the failed call, so the command can tell a missing folder from a failing disk.
    public var errno: Int32
    public var description: String
}

/// Reads a ``ServiceStatus`` from a state root, as the daemon left it: only reads (never the
/// daemon's lock, never a write), so it may run beside the daemon, as its user or as root. What
/// cannot be read (a folder this user may not list) is named in ``ServiceStatus/problems`` and
/// the rest is still read.
public struct StatusReader: Sendable {
    public var config: DaemonConfig
    /// Where `/proc` is (its `locks`, `stat` and `<pid>/stat`); another folder in tests.
    public var procRoot: String

    public init(config: DaemonConfig, procRoot: String = "/proc") {
        self.config = config
        self.procRoot = procRoot
    }

    /// The status at `now` (wall-clock seconds since 1970).
    /// - Throws: ``StatusError`` when the state root cannot be opened, or when neither
    ///   `/proc/locks` nor a trial lock tells whether a daemon holds it.
    public func read(now: Double) throws(StatusError) -> ServiceStatus {
        let layout = config.layout
        let root: Int32
        do {
            root = try System.openDirectory(layout.root)
        } catch {
            throw StatusError(step: .openStateRoot, errno: error.errno, description: "cannot open the state root \(layout.root): \(String(cString: strerror(error.errno)))")
        }
        defer { System.close(root) }
        let daemon: DaemonState
        do {
            daemon = try DaemonProbe.state(root: root, rootPath: layout.root, lockFile: layout.lockFile, procRoot: procRoot)
        } catch {
            throw StatusError(step: .checkLock, errno: error.errno, description: "cannot tell whether a daemon holds the state root: \(error)")
        }
        var problems: [String] = []
        let decisions = Self.decisions(layout: layout, now: now, startedAt: daemon.startedAt, problems: &problems)
        let folders = [
            Self.waiting("inbox", in: layout.inbox, counting: { !DropFolderNames.isIgnored($0) }, problems: &problems),
            Self.waiting("processing", in: layout.processing, counting: { !$0.hasPrefix(".") }, problems: &problems),
        ]
        var unreadableAlerts: [String] = []
        let sinks = Self.sinks(config.alerts.sinks, layout: layout, unreadable: &unreadableAlerts, problems: &problems)
        let catalog = Self.catalog(config.catalog, layout: layout, problems: &problems)
        return ServiceStatus(readAt: now, stateRoot: layout.root, daemon: daemon, decisions: decisions, folders: folders,
                             sinks: sinks, unreadableAlerts: unreadableAlerts, catalog: catalog, problems: problems)
    }

    // MARK: Decisions

    /// Counts for the last hour, the last day and since the start, from `audit.jsonl` and, when
    /// the windows reach back before its first line, `audit.jsonl.1`.
    static func decisions(layout: StateLayout, now: Double, startedAt: Double?, problems: inout [String]) -> DecisionCounts? {
        let starts = [now - 3600, now - 86_400] + (startedAt.map { [$0] } ?? [])
        var tail = AuditTail(windowStarts: starts)
        var read: [String] = []
        for path in [layout.auditLog, layout.auditLog + ".1"] where !tail.stopped {
            do {
                if try tail.read(path: path) { read.append(path) }
            } catch {
                problems.append(error.description)
                // The counts would be those of an hour with nothing routed: no answer is better.
                if path == layout.auditLog { return nil }
            }
        }
        // Lines older than those read exist only when logrotate kept other files (compressed or
        // further rotations); without them, a window reaching before the first line is whole.
        let olderFiles = !tail.stopped && Self.hasOtherRotations(of: layout.auditLog, besides: read)
        func window(_ index: Int) -> DecisionCounts.Window {
            tail.window(index, complete: tail.reaches(starts[index]) || !olderFiles)
        }
        return DecisionCounts(lastHour: window(0), lastDay: window(1), sinceStart: startedAt == nil ? nil : window(2),
                              unreadableLines: tail.unreadableLines, filesRead: read)
    }

    /// Whether the audit log's folder holds rotations of it (`audit.jsonl.1.gz`, `audit.jsonl.2`…)
    /// other than `read`.
    private static func hasOtherRotations(of path: String, besides read: [String]) -> Bool {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[..<$0]) } ?? "."
        let prefix = (slash.map { String(path[path.index(after: $0)...]) } ?? path) + "."
        let readNames = Set(read.map { $0.split(separator: "/").last.map(String.init) ?? $0 })
        guard let entries = try? System.listDirectory(folder.isEmpty ? "/" : folder) else { return false }
        return entries.contains { entry in
            guard let name = entry.name else { return false }
            return name.hasPrefix(prefix) && !readNames.contains(name)
        }
    }

    // MARK: Folders

    /// The files waiting in `path` whose names `counting` accepts, and the oldest one's time.
    static func waiting(_ name: String, in path: String, counting: (String) -> Bool, problems: inout [String]) -> WaitingFiles {
        let directory: Int32
        do {
            directory = try System.openDirectory(path)
        } catch {
            problems.append("cannot read the folder \(path): \(String(cString: strerror(error.errno)))")
            return WaitingFiles(name: name, path: path, count: nil, oldestSince: nil)
        }
        defer { System.close(directory) }
        var count = 0
        var oldest: Double?
        do {
            try System.forEachEntry(of: path) { entry in
                // A name that is not UTF-8 is refused by the daemon (moved aside), never routed.
                guard let fileName = entry.name, counting(fileName),
                      let info = try? System.lstatAt(directory, fileName, in: path + "/"),
                      (info.st_mode & S_IFMT) == S_IFREG else { return true }
                count += 1
                let changed = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
                oldest = min(oldest ?? changed, changed)
                return true
            }
        } catch {
            problems.append("cannot list the folder \(path): \(String(cString: strerror(error.errno)))")
            return WaitingFiles(name: name, path: path, count: nil, oldestSince: nil)
        }
        return WaitingFiles(name: name, path: path, count: count, oldestSince: oldest)
    }

    // MARK: Alerts

    /// Each configured sink's waiting alerts and dead letters, then those of sinks the config no
    /// longer names (their files are still there).
    static func sinks(_ configured: [DaemonConfig.AlertSink], layout: StateLayout, unreadable: inout [String],
                      problems: inout [String]) -> [SinkQueue] {
        var queues = configured.map { SinkQueue(name: $0.name, type: $0.type.rawValue) }
        func queue(_ sink: String) -> Int {
            if let index = queues.firstIndex(where: { $0.name == sink }) { return index }
            queues.append(SinkQueue(name: sink, type: nil))
            return queues.count - 1
        }
        var pendingKnown = true, deadKnown = true
        for (folder, isDead) in [(layout.outbox, false), (layout.outboxDead, true)] {
            let summary: OutboxSummary
            do {
                summary = try OutboxSummary.read(folder: folder)
            } catch where error.errno == ENOENT {
                continue  // no alert was ever written: the daemon makes the folders at its start
            } catch {
                problems.append("cannot read the folder \(folder): \(String(cString: strerror(error.errno)))")
                if isDead { deadKnown = false } else { pendingKnown = false }
                continue
            }
            unreadable += summary.unreadable.map { folder + "/" + $0 }
            // Oldest written first: the last one seen is the last given up.
            for letter in summary.letters {
                let index = queue(letter.sink)
                if isDead {
                    queues[index].dead = (queues[index].dead ?? 0) + 1
                    queues[index].lastDeadAt = letter.writtenAt
                    queues[index].lastDeadAnswer = letter.lastAnswer.map(Self.oneLine)
                } else {
                    queues[index].pending = (queues[index].pending ?? 0) + 1
                    queues[index].oldestPendingSince = min(queues[index].oldestPendingSince ?? letter.ageStart, letter.ageStart)
                }
            }
        }
        // Unknown, not none: a 0 would tell an operator that nothing waits, or nothing died.
        for index in queues.indices {
            if !pendingKnown { queues[index].pending = nil }
            if !deadKnown { queues[index].dead = nil }
        }
        return queues
    }

    /// `text` on one line: its lines joined by a space, blanks around them dropped.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingPrefix(while: \.isWhitespace) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
    }

    // MARK: Catalog

    /// Where the catalog comes from; with `catalog.metrc`, each part's last sync from the cache and
    /// the outage marker beside it.
    static func catalog(_ sources: DaemonConfig.CatalogSources, layout: StateLayout, problems: inout [String]) -> CatalogStatus {
        guard let metrc = sources.metrc else {
            return CatalogStatus(itemsFile: sources.items, packagesFile: sources.packages, metrc: nil)
        }
        let cachePath = layout.metrcCache
        var snapshot: MetrcSnapshot?
        do {
            snapshot = try MetrcCacheFile.loadParts(cachePath)
        } catch {
            problems.append(error.description)
        }
        let parts = CatalogPart.allCases.map { part in
            let state = snapshot?.parts[part]
            return MetrcStatus.Part(name: part.rawValue, syncedAt: state?.syncedAt, records: state?.count)
        }
        let outage = OutageMarker.read(OutageMarker.path(besides: cachePath))
        return CatalogStatus(
            itemsFile: sources.items, packagesFile: sources.packages,
            metrc: MetrcStatus(server: metrc.server, cache: cachePath, cacheRead: snapshot != nil, parts: parts,
                               unreachableSince: outage?.since, unreachableReason: outage?.reason))
    }
}
