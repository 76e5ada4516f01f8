/// A packaging manifest as read from a file: the packages to create and, from a JSON envelope,
/// where they come from. Field problems found while reading travel beside it as ``ManifestIssue``s.
public struct Manifest: Sendable, Equatable {
    public var format: ManifestFormat
    public var licenseNumber: String?
    public var facility: String?
    /// Free text from the envelope's `Source`, shown in alerts.
    public var source: String?
    public var packages: [PackageRequest]

    public init(format: ManifestFormat, licenseNumber: String? = nil, facility: String? = nil,
                source: String? = nil, packages: [PackageRequest] = []) {
        self.format = format
        self.licenseNumber = licenseNumber
        self.facility = facility
        self.source = source
        self.packages = packages
    }
}

/// One new package to create from ingredient packages (one element of Metrc's create-package
/// request). Fields a reader could not read are `nil`, with an issue saying why.
public struct PackageRequest: Sendable, Equatable {
    /// Where the package stands in its file.
    public var position: SourcePosition
    /// The new package's tag, upper-cased; `nil` if missing or malformed.
    public var tag: String?
    /// The line the tag is written on, where known.
    public var tagLine: Int?
    /// The item name; nil when absent (allowed with `UseSameItem`).
    public var item: String?
    /// batchgate's extension: the item's category.
    public var itemCategory: String?
    /// The new package's quantity, greater than 0.
    public var quantity: Double?
    public var unitOfMeasure: String?
    /// The Production Batch indicator; nil when the request leaves it out (Metrc's web form and
    /// the Track & Trace Tools template send only a batch number). See ``isMarked``.
    public var isProductionBatch: Bool?
    /// The production batch number, if given.
    public var productionBatchNumber: String?
    /// True when the new package keeps its ingredients' item.
    public var useSameItem: Bool = false
    /// `YYYY-MM-DD`.
    public var actualDate: String?
    public var location: String?
    public var note: String?
    /// batchgate's extension: what is added besides the ingredients. Nil when the request does not
    /// say; empty when it says nothing was added.
    public var additives: [Additive]?
    /// batchgate's extension: the step that makes the package (`Extraction`, `Repackage`, ...).
    public var processingStep: String?
    /// The packages it is made from.
    public var ingredients: [Ingredient] = []

    public init(position: SourcePosition) {
        self.position = position
    }

    /// Whether the request marks a production batch: `IsProductionBatch`, or where that is left
    /// out, a batch number that is not blank (what Metrc's own web form sends).
    public var isMarked: Bool {
        isProductionBatch ?? hasBatchNumber
    }

    /// True when `ProductionBatchNumber` holds more than white space.
    var hasBatchNumber: Bool {
        !(productionBatchNumber?.trimmingWhitespace().isEmpty ?? true)
    }
}

/// One ingredient: a quantity taken from an existing package.
public struct Ingredient: Sendable, Equatable {
    public var position: SourcePosition
    /// The source package's tag, upper-cased; `nil` if missing or malformed.
    public var package: String?
    public var quantity: Double?
    public var unitOfMeasure: String?
    /// batchgate's extension: the source package's item name.
    public var item: String?
    /// batchgate's extension: the source package's item category.
    public var itemCategory: String?

    public init(position: SourcePosition) {
        self.position = position
    }
}

/// Something non-cannabis added to a product.
public struct Additive: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case additive, lipid, flavoring, terpene, other
    }

    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind = .additive) {
        self.name = name
        self.kind = kind
    }
}

/// Where something stands in a manifest: its line, and its 0-based package and ingredient index.
public struct SourcePosition: Sendable, Equatable {
    public var line: Int?
    public var packageIndex: Int
    public var ingredientIndex: Int?

    public init(line: Int?, packageIndex: Int, ingredientIndex: Int? = nil) {
        self.line = line
        self.packageIndex = packageIndex
        self.ingredientIndex = ingredientIndex
    }
}
