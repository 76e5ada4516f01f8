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
///
/// The fields live in a ``SharedFields`` box: the checker copies a request into each resolved
/// package and reads it through arrays, and a copy of a dozen strings and arrays was a dozen
/// atomic retains and releases.
public struct PackageRequest: Sendable, Equatable {
    private struct Fields: Equatable, Sendable {
        var position: SourcePosition
        var tag: String? = nil
        var tagLine: Int? = nil
        var item: String? = nil
        var itemCategory: String? = nil
        var quantity: Double? = nil
        var unitOfMeasure: String? = nil
        var isProductionBatch: Bool? = nil
        var productionBatchNumber: String? = nil
        var useSameItem: Bool = false
        var actualDate: String? = nil
        var location: String? = nil
        var note: String? = nil
        var additives: [Additive]? = nil
        var processingStep: String? = nil
        var ingredients: [Ingredient] = []
    }

    private var fields: SharedFields<Fields>

    public init(position: SourcePosition) {
        fields = SharedFields(Fields(position: position))
    }

    /// Where the package stands in its file.
    public var position: SourcePosition { get { fields.value.position } _modify { yield &fields.value.position } }

    /// The new package's tag, upper-cased; `nil` if missing or malformed.
    public var tag: String? { get { fields.value.tag } _modify { yield &fields.value.tag } }

    /// The line the tag is written on, where known.
    public var tagLine: Int? { get { fields.value.tagLine } _modify { yield &fields.value.tagLine } }

    /// The item name; nil when absent (allowed with `UseSameItem`).
    public var item: String? { get { fields.value.item } _modify { yield &fields.value.item } }

    /// batchgate's extension: the item's category.
    public var itemCategory: String? { get { fields.value.itemCategory } _modify { yield &fields.value.itemCategory } }

    /// The new package's quantity, greater than 0.
    public var quantity: Double? { get { fields.value.quantity } _modify { yield &fields.value.quantity } }

    public var unitOfMeasure: String? { get { fields.value.unitOfMeasure } _modify { yield &fields.value.unitOfMeasure } }

    /// The Production Batch indicator; nil when the request leaves it out (Metrc's web form and
    /// the Track & Trace Tools template send only a batch number). See ``isMarked``.
    public var isProductionBatch: Bool? { get { fields.value.isProductionBatch } _modify { yield &fields.value.isProductionBatch } }

    /// The production batch number, if given.
    public var productionBatchNumber: String? { get { fields.value.productionBatchNumber } _modify { yield &fields.value.productionBatchNumber } }

    /// True when the new package keeps its ingredients' item.
    public var useSameItem: Bool { get { fields.value.useSameItem } _modify { yield &fields.value.useSameItem } }

    /// `YYYY-MM-DD`.
    public var actualDate: String? { get { fields.value.actualDate } _modify { yield &fields.value.actualDate } }

    public var location: String? { get { fields.value.location } _modify { yield &fields.value.location } }

    public var note: String? { get { fields.value.note } _modify { yield &fields.value.note } }

    /// batchgate's extension: what is added besides the ingredients. Nil when the request does not
    /// say; empty when it says nothing was added.
    public var additives: [Additive]? { get { fields.value.additives } _modify { yield &fields.value.additives } }

    /// batchgate's extension: the step that makes the package (`Extraction`, `Repackage`, ...).
    public var processingStep: String? { get { fields.value.processingStep } _modify { yield &fields.value.processingStep } }

    /// The packages it is made from.
    public var ingredients: [Ingredient] { get { fields.value.ingredients } _modify { yield &fields.value.ingredients } }

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

extension PackageRequest: CustomReflectable {
    /// Its fields, as a plain struct's mirror shows them (not the box they are kept in).
    public var customMirror: Mirror { Mirror(self, children: fields.mirror.children, displayStyle: .struct) }
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
