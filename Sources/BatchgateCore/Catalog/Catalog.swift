/// How Metrc counts an item: by weight, by count or by volume. A package's unit must be of its
/// item's type, and Metrc converts quantities only within one type.
public enum QuantityType: String, Sendable, CaseIterable {
    case weightBased = "WeightBased"
    case countBased = "CountBased"
    case volumeBased = "VolumeBased"

    /// The type named `text`, in any case and with spaces ignored (`Weight Based`); nil otherwise.
    init?(loosely text: String) {
        let key = String(text.unicodeScalars.filter { $0 != " " }.map(Character.init)).comparisonKey
        guard let type = Self.allCases.first(where: { $0.rawValue.comparisonKey == key }) else { return nil }
        self = type
    }
}

/// What the facility's Metrc account knows: item name to category (the items file) and package tag
/// to item and category (the packages file), used to fill in categories a manifest leaves out; and,
/// where the source gives them, what the pre-flight checks read: quantity types, what a package
/// holds, its state, its dates and batch number. A field the source does not give is nil, and a
/// check that needs it is skipped rather than guessed.
public struct Catalog: Sendable, Equatable {
    /// One item record.
    public struct Item: Sendable, Equatable {
        public var name: String
        public var category: String
        /// Metrc's `QuantityType`.
        public var quantityType: QuantityType?
        /// Metrc's `UnitOfMeasureName`: the unit the item is counted in by default.
        public var unitOfMeasure: String?

        public init(name: String, category: String, quantityType: QuantityType? = nil, unitOfMeasure: String? = nil) {
            self.name = name
            self.category = category
            self.quantityType = quantityType
            self.unitOfMeasure = unitOfMeasure
        }
    }

    /// One existing package: its tag, and its item and category where the file gives them; then,
    /// where the record has them, Metrc's fields of the package's stock and state.
    public struct Package: Sendable, Equatable {
        public var tag: String
        public var item: String?
        public var category: String?
        /// Metrc's `Quantity`: what the package holds now, in ``unitOfMeasure``.
        public var quantity: Double?
        /// Metrc's `UnitOfMeasureName`.
        public var unitOfMeasure: String?
        /// Metrc's `PackagedDate`, as `YYYY-MM-DD`.
        public var packagedDate: String?
        /// Metrc's `IsOnHold`.
        public var isOnHold: Bool?
        /// Metrc's `IsFinished`.
        public var isFinished: Bool?
        /// Metrc's `FinishedDate`, as `YYYY-MM-DD`.
        public var finishedDate: String?
        /// Metrc's `ArchivedDate`, as `YYYY-MM-DD`.
        public var archivedDate: String?
        /// Metrc's `LabTestingState` (`TestPassed`, `TestFailed`, ...).
        public var labTestingState: String?
        /// Metrc's `ProductionBatchNumber`; nil when blank.
        public var productionBatchNumber: String?
        /// The `QuantityType` of the package's item, from the record's nested `Item`.
        public var itemQuantityType: QuantityType?
        /// Metrc's `LastModified`: how fresh the quantity and state are.
        public var lastModified: String?

        public init(tag: String, item: String?, category: String?, quantity: Double? = nil,
                    unitOfMeasure: String? = nil, packagedDate: String? = nil, isOnHold: Bool? = nil,
                    isFinished: Bool? = nil, finishedDate: String? = nil, archivedDate: String? = nil,
                    labTestingState: String? = nil, productionBatchNumber: String? = nil,
                    itemQuantityType: QuantityType? = nil, lastModified: String? = nil) {
            self.tag = tag
            self.item = item
            self.category = category
            self.quantity = quantity
            self.unitOfMeasure = unitOfMeasure
            self.packagedDate = packagedDate
            self.isOnHold = isOnHold
            self.isFinished = isFinished
            self.finishedDate = finishedDate
            self.archivedDate = archivedDate
            self.labTestingState = labTestingState
            self.productionBatchNumber = productionBatchNumber
            self.itemQuantityType = itemQuantityType
            self.lastModified = lastModified
        }

        /// Whether the record says anything of the package's stock or state: a record of only tag,
        /// item and category may be a packages file naming a new tag's category, not a package in use.
        var hasStockOrState: Bool {
            quantity != nil || unitOfMeasure != nil || packagedDate != nil || isOnHold != nil || isFinished != nil
                || finishedDate != nil || archivedDate != nil || labTestingState != nil || lastModified != nil
        }

        /// This record with the stock and state fields of `other` (same tag), for an overlay entry
        /// that names only item and category.
        func withStockAndState(of other: Package) -> Package {
            var merged = other
            merged.tag = tag
            merged.item = item
            merged.category = category
            // Metrc's item's quantity type says nothing of another item the overlay names.
            if item?.comparisonKey != other.item?.comparisonKey { merged.itemQuantityType = nil }
            return merged
        }
    }

    private var itemsByName: [String: Item] = [:]
    private var packagesByTag: [String: Package] = [:]
    /// Batch number (comparison key) to the tags of the packages that carry it. A set: two
    /// catalogs of the same packages must compare equal whatever order they were added in.
    private var tagsByBatchNumber: [String: Set<String>] = [:]

    /// A catalog of these items and packages; the first entry wins where a name or tag repeats.
    /// `Catalog()` is empty: every category must then come from the manifest itself.
    public init(items: [Item] = [], packages: [Package] = []) {
        for item in items where itemsByName[item.name.comparisonKey] == nil {
            itemsByName[item.name.comparisonKey] = item
        }
        for package in packages where packagesByTag[package.tag] == nil {
            packagesByTag[package.tag] = package
        }
        indexBatchNumbers()
    }

    private mutating func indexBatchNumbers() {
        tagsByBatchNumber = [:]
        for package in packagesByTag.values {
            guard let number = package.productionBatchNumber, !number.comparisonKey.isEmpty else { continue }
            tagsByBatchNumber[number.comparisonKey, default: []].insert(package.tag)
        }
    }

    /// The key an item's name is known by: trimmed, any case. Public so that a store kept beside a
    /// catalog (the cache of Metrc's catalog) tells names apart exactly as the catalog does.
    public static func itemKey(_ name: String) -> String { name.comparisonKey }

    public var itemCount: Int { itemsByName.count }
    public var packageCount: Int { packagesByTag.count }

    /// The category of the item with this name (trimmed, any case).
    public func category(ofItem name: String) -> String? {
        item(named: name)?.category
    }

    /// The item with this name (trimmed, any case).
    public func item(named name: String) -> Item? {
        // Without an items catalog (the common case) the name's key is not worth building.
        itemsByName.isEmpty ? nil : itemsByName[name.comparisonKey]
    }

    /// Whether any package carries a production batch number.
    var hasBatchNumbers: Bool { !tagsByBatchNumber.isEmpty }

    /// The packages whose production batch number is `number` (trimmed, any case), by tag.
    func packages(withBatchNumber number: String) -> [Package] {
        guard hasBatchNumbers else { return [] }
        return (tagsByBatchNumber[number.comparisonKey] ?? []).sorted().compactMap { packagesByTag[$0] }
    }

    /// The package with this tag (upper-cased).
    public func package(tagged tag: String) -> Package? {
        // Without a packages catalog (the common case) the tag is not worth hashing: the rules and
        // the pre-flight checks look up every ingredient.
        packagesByTag.isEmpty ? nil : packagesByTag[tag]
    }

    /// Adds `package`, replacing the one with the same tag (a look-up learned it just now).
    public mutating func insert(_ package: Package) {
        if let old = packagesByTag[package.tag]?.productionBatchNumber?.comparisonKey {
            tagsByBatchNumber[old]?.remove(package.tag)
            if tagsByBatchNumber[old]?.isEmpty == true { tagsByBatchNumber[old] = nil }
        }
        packagesByTag[package.tag] = package
        if let number = package.productionBatchNumber?.comparisonKey, !number.isEmpty {
            tagsByBatchNumber[number, default: []].insert(package.tag)
        }
    }

    /// This catalog with `overlay` laid over it: an item (same name, trimmed, any case) or a package
    /// (same tag) that both hold is the overlay's, whole; everything else is kept from either.
    ///
    /// The catalog read from Metrc is overlaid by the config's files, which name what is local to
    /// the facility. An overlay entry replaces Metrc's entry as a whole rather than field by field,
    /// so a package never combines the overlay's item with a category Metrc gave another item. The
    /// exceptions: an overlay package that says nothing of stock or state keeps Metrc's quantity,
    /// unit, dates and state, and an overlay item with no quantity type keeps Metrc's type and
    /// unit; neither can contradict the names and categories the overlay gives.
    public func overlaid(by overlay: Catalog) -> Catalog {
        var merged = self
        merged.itemsByName.merge(overlay.itemsByName) { metrc, local in
            // An items file of name and category says nothing of how the item is counted.
            var item = local
            if item.quantityType == nil && item.unitOfMeasure == nil {
                (item.quantityType, item.unitOfMeasure) = (metrc.quantityType, metrc.unitOfMeasure)
            }
            return item
        }
        merged.packagesByTag.merge(overlay.packagesByTag) { metrc, local in
            local.hasStockOrState ? local : local.withStockAndState(of: metrc)
        }
        merged.indexBatchNumbers()
        return merged
    }
}
