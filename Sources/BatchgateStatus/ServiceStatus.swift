import BatchgateCore

/// What `batchgate status` tells of a state root at one instant: whether the daemon runs, what
/// it routed, what waits, what failed. Read by ``StatusReader``, written by ``StatusText`` and
/// ``StatusJSON``; a plain value, so the renderers are tested without files.
public struct ServiceStatus: Sendable, Equatable {
    /// Wall-clock seconds since 1970 when it was read: every age is counted to it.
    public var readAt: Double
    /// The state root read.
    public var stateRoot: String
    /// Whether a daemon holds the state root.
    public var daemon: DaemonState
    /// Nil when `audit.jsonl` could not be read (the reason is among ``problems``).
    public var decisions: DecisionCounts?
    /// The inbox, then `processing/`.
    public var folders: [WaitingFiles]
    /// Every configured sink, in the config's order, then any sink only the outbox names.
    public var sinks: [SinkQueue]
    /// Alert files (paths) in `outbox/` or `outbox/dead/` that cannot be read or decoded.
    public var unreadableAlerts: [String]
    /// Where the catalog comes from and how fresh it is.
    public var catalog: CatalogStatus
    /// What could not be read, each naming the file or folder and why; the rest was read.
    public var problems: [String]

    init(readAt: Double, stateRoot: String, daemon: DaemonState, decisions: DecisionCounts?, folders: [WaitingFiles],
                sinks: [SinkQueue], unreadableAlerts: [String], catalog: CatalogStatus, problems: [String]) {
        self.readAt = readAt
        self.stateRoot = stateRoot
        self.daemon = daemon
        self.decisions = decisions
        self.folders = folders
        self.sinks = sinks
        self.unreadableAlerts = unreadableAlerts
        self.catalog = catalog
        self.problems = problems
    }
}

/// Files waiting in one folder.
public struct WaitingFiles: Sendable, Equatable {
    /// `inbox` or `processing`.
    public var name: String
    /// The folder's path (the inbox may be outside the state root).
    public var path: String
    /// Nil when the folder could not be listed (see ``ServiceStatus/problems``).
    public var count: Int?
    /// Wall-clock seconds since 1970 of the oldest file's last change; nil when none waits.
    public var oldestSince: Double?

    init(name: String, path: String, count: Int?, oldestSince: Double?) {
        self.name = name
        self.path = path
        self.count = count
        self.oldestSince = oldestSince
    }
}

/// One sink's alerts: waiting in `outbox/`, and given up in `outbox/dead/`.
public struct SinkQueue: Sendable, Equatable {
    /// The sink's name, as the config (or, for a sink no longer configured, its files) names it.
    public var name: String
    /// The sink's type (`slack`, `teams`, `webhook`, `email`); nil for a sink the config no longer has.
    public var type: String?
    /// Alerts waiting for delivery; nil when `outbox/` could not be read (unknown, not none).
    public var pending: Int?
    /// Wall-clock seconds since 1970 since when the oldest waiting alert has waited: when it was
    /// written or, for one `batchgate alert retry` sent back, when it came back.
    public var oldestPendingSince: Double?
    /// Dead letters; nil when `outbox/dead/` could not be read (unknown, not none).
    public var dead: Int?
    /// Wall-clock seconds since 1970 when the last dead letter was given up.
    public var lastDeadAt: Double?
    /// Why the last dead letter was given up (its last answer), on one line.
    public var lastDeadAnswer: String?

    init(name: String, type: String?, pending: Int? = 0, oldestPendingSince: Double? = nil, dead: Int? = 0,
                lastDeadAt: Double? = nil, lastDeadAnswer: String? = nil) {
        self.name = name
        self.type = type
        self.pending = pending
        self.oldestPendingSince = oldestPendingSince
        self.dead = dead
        self.lastDeadAt = lastDeadAt
        self.lastDeadAnswer = lastDeadAnswer
    }

    /// Whether the config in force names this sink.
    public var isConfigured: Bool { type != nil }
}

/// Where the catalog comes from, and how fresh the part synced from Metrc is.
public struct CatalogStatus: Sendable, Equatable {
    /// `catalog.items` and `catalog.packages`: files laid over the catalog (or the whole of it).
    public var itemsFile: String?
    /// See ``itemsFile``.
    public var packagesFile: String?
    /// Nil when `catalog.metrc` is not configured.
    public var metrc: MetrcStatus?

    init(itemsFile: String?, packagesFile: String?, metrc: MetrcStatus?) {
        self.itemsFile = itemsFile
        self.packagesFile = packagesFile
        self.metrc = metrc
    }
}

/// The catalog synced from Metrc, as its cache and outage marker in the state root tell.
public struct MetrcStatus: Sendable, Equatable {
    /// One part of the catalog (items, active packages…) and its last successful sync.
    public struct Part: Sendable, Equatable {
        /// As the cache names it: `items`, `packages.active`…
        public var name: String
        /// Wall-clock seconds since 1970 of its last successful sync; nil when never synced.
        public var syncedAt: Double?
        /// Records it held after that sync.
        public var records: Int?

        init(name: String, syncedAt: Double?, records: Int?) {
            self.name = name
            self.syncedAt = syncedAt
            self.records = records
        }
    }

    /// `catalog.metrc.server`.
    public var server: String
    /// The cache file's path.
    public var cache: String
    /// Whether the cache file exists and reads as a cache.
    public var cacheRead: Bool
    /// Every part, in the order a sync reads them.
    public var parts: [Part]
    /// Set while the daemon has announced Metrc unreachable and not yet its return.
    public var unreachableSince: Double?
    /// Why Metrc was taken for unreachable, as the daemon wrote it in the marker.
    public var unreachableReason: String?

    init(server: String, cache: String, cacheRead: Bool, parts: [Part], unreachableSince: Double?, unreachableReason: String?) {
        self.server = server
        self.cache = cache
        self.cacheRead = cacheRead
        self.parts = parts
        self.unreachableSince = unreachableSince
        self.unreachableReason = unreachableReason
    }
}
