import BatchgateCore
import BatchgateMetrc

/// What the cache holds: every item and package learned from Metrc for one facility, with when it
/// was learned, and how far each part of the catalog is synced.
///
/// A record learned later replaces an earlier one with the same key (an item's name, trimmed, any
/// case; a package's tag): syncs read the oldest window first, so the last record read is the
/// newest. The ``catalog`` the checker reads is kept in step as records are learned rather than
/// built when asked, since it is read for every batch of manifests and a facility can have
/// 100,000 packages.
public struct MetrcSnapshot: Sendable, Equatable {
    /// The API server it was read from (`https://api-wv.metrc.com`).
    public var server: String
    /// The facility. A cache of another server or licence is not used: the caller starts afresh.
    public var licenseNumber: String

    /// An item as Metrc last gave it.
    public struct Item: Sendable, Equatable {
        /// The item as the catalog holds it: every field the reader took from Metrc's record.
        public var entry: Catalog.Item
        /// The record's `LastModified` as Metrc wrote it, when it had one.
        public var lastModified: String?
        /// When batchgate learned it: wall-clock seconds since 1970.
        public var learnedAt: Double

        public init(entry: Catalog.Item, lastModified: String?, learnedAt: Double) {
            self.entry = entry
            self.lastModified = lastModified
            self.learnedAt = learnedAt
        }
    }

    /// A package as Metrc last gave it.
    public struct Package: Sendable, Equatable {
        /// The package as Metrc's record gave it (the tag upper case as the reader gives it),
        /// nothing inferred: what the cache keeps.
        public var entry: Catalog.Package
        /// The part of the catalog it was synced in; nil when it was learned by a look-up of its label.
        public var part: CatalogPart?
        /// When batchgate learned it: wall-clock seconds since 1970.
        public var learnedAt: Double

        /// A package of `entry`, its `LastModified` put in the entry (the checker's messages say
        /// "as of" it) unless nil, when the entry's own is kept.
        public init(entry: Catalog.Package, part: CatalogPart?, lastModified: String?, learnedAt: Double) {
            self.entry = entry
            self.part = part
            self.learnedAt = learnedAt
            if let lastModified { self.entry.lastModified = lastModified }
        }

        /// The record's `LastModified` as Metrc wrote it, when it had one; kept in ``entry``,
        /// so that it is held in one place only.
        public var lastModified: String? {
            get { entry.lastModified }
            set { entry.lastModified = newValue }
        }

        /// The package as the checker's catalog holds it: ``entry`` with what the part it was
        /// listed in says of its state where the record itself is silent. Each part is Metrc's
        /// own list of the packages in that state, so this is Metrc's word, not a guess: a
        /// package of the on-hold list is on hold, one of the inactive list is finished (unless
        /// the record gives its finished or archived date), one of the active list is not on hold.
        public var catalogEntry: Catalog.Package {
            var entry = entry
            switch part {
            case .onHoldPackages:
                if entry.isOnHold == nil { entry.isOnHold = true }
            case .inactivePackages:
                if entry.isFinished == nil && entry.finishedDate == nil && entry.archivedDate == nil { entry.isFinished = true }
            case .activePackages:
                if entry.isOnHold == nil { entry.isOnHold = false }
            case .items, nil:
                break
            }
            return entry
        }
    }

    /// How far one part is synced.
    public struct PartState: Sendable, Equatable {
        /// Every window of the part is read up to this time (wall-clock seconds since 1970): the
        /// next sync starts here (less an overlap).
        public var syncedUntil: Double
        /// When the sync that read up to ``syncedUntil`` ended.
        public var syncedAt: Double
        /// The records of this part the snapshot held then (packages since moved to another part
        /// by a later sync are counted where they were).
        public var count: Int

        public init(syncedUntil: Double, syncedAt: Double, count: Int) {
            self.syncedUntil = syncedUntil
            self.syncedAt = syncedAt
            self.count = count
        }
    }

    /// The parts synced at least once, and how far.
    public private(set) var parts: [CatalogPart: PartState] = [:]
    /// Items by ``Catalog/itemKey(_:)`` of their name.
    private var itemsByKey: [String: Item] = [:]
    private var packagesByTag: [String: Package] = [:]
    /// How many packages each part holds now, kept as packages are learned (for ``PartState/count``).
    private var packageCounts: [CatalogPart: Int] = [:]
    /// What the checker uses: the items and packages as ``Package/catalogEntry`` gives them, in
    /// step with them.
    public private(set) var catalog = Catalog()

    /// An empty snapshot of this facility: nothing learned, no part synced.
    public init(server: String, licenseNumber: String) {
        self.server = server
        self.licenseNumber = licenseNumber
    }

    /// Whether this snapshot was read from the server and facility `api` names: a cache of another
    /// is not used (the records of another facility must not decide this one's manifests).
    public func belongs(to api: MetrcAPI) -> Bool {
        server == api.server && licenseNumber == api.licenseNumber
    }

    /// The item named so (trimmed, any case).
    public func item(named name: String) -> Item? {
        itemsByKey[Catalog.itemKey(name)]
    }

    /// The package with this tag (white space around it and the case do not matter).
    public func package(tagged tag: String) -> Package? {
        packagesByTag[Self.tagKey(tag)] ?? packagesByTag[tag]
    }

    public var itemCount: Int { itemsByKey.count }
    public var packageCount: Int { packagesByTag.count }

    /// Every item, in no particular order.
    var items: Dictionary<String, Item>.Values { itemsByKey.values }
    /// Every package, in no particular order.
    var packages: Dictionary<String, Package>.Values { packagesByTag.values }

    /// Learns these items, read at `at` (wall-clock seconds); each replaces one of the same name,
    /// and a later one in the list replaces an earlier one.
    public mutating func learn(items: [MetrcRecord<Catalog.Item>], at: Double) {
        guard !items.isEmpty else { return }
        for record in items {
            insert(Item(entry: record.entry, lastModified: record.lastModified, learnedAt: at))
        }
        // Catalog keeps the first of a repeated name, the snapshot the last: reversed, they agree.
        catalog = catalog.overlaid(by: Catalog(items: items.reversed().map(\.entry)))
    }

    /// Learns these packages, read at `at` from `part` (nil: a look-up by label); each replaces
    /// one of the same tag, and a later one in the list replaces an earlier one.
    public mutating func learn(packages: [MetrcRecord<Catalog.Package>], from part: CatalogPart?, at: Double) {
        for record in packages {
            let package = Package(entry: record.entry, part: part, lastModified: record.lastModified, learnedAt: at)
            insert(package)
            // Replaced whole, in place: an overlay would keep the stock and state of the record it
            // replaces when the new one says nothing of them, and would copy the whole catalog.
            catalog.insert(package.catalogEntry)
        }
    }

    /// Records that every window of `part` is read up to `until`, by a sync that ended at `at`.
    public mutating func markSynced(_ part: CatalogPart, until: Double, at: Double) {
        parts[part] = PartState(syncedUntil: until, syncedAt: at, count: part == .items ? itemsByKey.count : packageCounts[part, default: 0])
    }

    // MARK: For the cache file, which restores a snapshot whole

    /// Adds an item as it is, without touching ``catalog`` (``rebuildCatalog()`` follows).
    mutating func insert(_ item: Item) {
        itemsByKey[Catalog.itemKey(item.entry.name)] = item
    }

    /// Adds a package as it is, without touching ``catalog`` (``rebuildCatalog()`` follows).
    mutating func insert(_ package: Package) {
        if let replaced = packagesByTag.updateValue(package, forKey: package.entry.tag)?.part { packageCounts[replaced, default: 0] -= 1 }
        if let part = package.part { packageCounts[part, default: 0] += 1 }
    }

    /// Sets a part's state as a cache file recorded it.
    mutating func restore(_ part: CatalogPart, _ state: PartState) {
        parts[part] = state
    }

    /// Builds ``catalog`` from the items and packages held, once they are all inserted.
    mutating func rebuildCatalog() {
        catalog = Catalog(items: itemsByKey.values.map(\.entry), packages: packagesByTag.values.map(\.catalogEntry))
    }

    /// The snapshots hold the same facility, records and states (``catalog`` follows from them).
    public static func == (lhs: MetrcSnapshot, rhs: MetrcSnapshot) -> Bool {
        lhs.server == rhs.server && lhs.licenseNumber == rhs.licenseNumber && lhs.parts == rhs.parts
            && lhs.itemsByKey == rhs.itemsByKey && lhs.packagesByTag == rhs.packagesByTag
    }

    /// A tag as the reader writes it: trimmed, ASCII letters upper case (tags are `[A-Z0-9]`).
    static func tagKey(_ tag: String) -> String {
        let bytes = Array(tag.utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        let start = bytes.firstIndex { !isSpace($0) } ?? bytes.endIndex
        let end = bytes.lastIndex { !isSpace($0) }.map { $0 + 1 } ?? start
        let upper = bytes[start..<end].map { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") ? $0 - 32 : $0 }
        return String(decoding: upper, as: UTF8.self)
    }
}
