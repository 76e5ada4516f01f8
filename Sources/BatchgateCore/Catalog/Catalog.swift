/// What the facility's Metrc account knows: item name to category (the items file) and package tag
/// to item and category (the packages file). Used to fill in categories a manifest leaves out.
public struct Catalog: Sendable, Equatable {
    /// One item record.
    public struct Item: Sendable, Equatable {
        public var name: String
        public var category: String

        public init(name: String, category: String) {
            self.name = name
            self.category = category
        }
    }

    /// One existing package: its tag, and its item and category where the file gives them.
    public struct Package: Sendable, Equatable {
        public var tag: String
        public var item: String?
        public var category: String?

        public init(tag: String, item: String?, category: String?) {
            self.tag = tag
            self.item = item
            self.category = category
        }
    }

    private var itemsByName: [String: Item] = [:]
    private var packagesByTag: [String: Package] = [:]

    /// A catalog of these items and packages; the first entry wins where a name or tag repeats.
    /// `Catalog()` is empty: every category must then come from the manifest itself.
    public init(items: [Item] = [], packages: [Package] = []) {
        for item in items where itemsByName[item.name.comparisonKey] == nil {
            itemsByName[item.name.comparisonKey] = item
        }
        for package in packages where packagesByTag[package.tag] == nil {
            packagesByTag[package.tag] = package
        }
    }

    /// The key an item's name is known by: trimmed, any case. Public so that a store kept beside a
    /// catalog (the cache of Metrc's catalog) tells names apart exactly as the catalog does.
    public static func itemKey(_ name: String) -> String { name.comparisonKey }

    public var itemCount: Int { itemsByName.count }
    public var packageCount: Int { packagesByTag.count }

    /// The category of the item with this name (trimmed, any case).
    public func category(ofItem name: String) -> String? {
        itemsByName[name.comparisonKey]?.category
    }

    /// The package with this tag (upper-cased).
    public func package(tagged tag: String) -> Package? {
        packagesByTag[tag]
    }

    /// Adds `package`, replacing the one with the same tag (a look-up learned it just now).
    public mutating func insert(_ package: Package) {
        packagesByTag[package.tag] = package
    }

    /// This catalog with `overlay` laid over it: an item (same name, trimmed, any case) or a package
    /// (same tag) that both hold is the overlay's, whole; everything else is kept from either.
    ///
    /// The catalog read from Metrc is overlaid by the config's files, which name what is local to
    /// the facility. An overlay entry replaces Metrc's entry as a whole rather than field by field,
    /// so a package never combines the overlay's item with a category Metrc gave another item.
    public func overlaid(by overlay: Catalog) -> Catalog {
        var merged = self
        merged.itemsByName.merge(overlay.itemsByName) { _, local in local }
        merged.packagesByTag.merge(overlay.packagesByTag) { _, local in local }
        return merged
    }
}
