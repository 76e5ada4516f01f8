/// A package whose item categories are all known, ready for the rules.
public struct ResolvedPackage: Sendable, Equatable {
    /// One ingredient package with its category, and where its item and category came from.
    public struct Source: Sendable, Equatable {
        public var tag: String
        public var item: String?
        public var category: String
        /// The ingredient's place in its package (`Ingredients[index]`) and its line.
        public var index: Int
        public var line: Int?
        public var categoryOrigin: Evidence.Origin

        public init(tag: String, item: String?, category: String, index: Int = 0, line: Int? = nil,
                    categoryOrigin: Evidence.Origin = .manifest) {
            self.tag = tag
            self.item = item
            self.category = category
            self.index = index
            self.line = line
            self.categoryOrigin = categoryOrigin
        }

        /// Evidence naming this ingredient's category, `Ingredients[1].ItemCategory`, where it came from.
        func categoryEvidence() -> Evidence {
            let index = index
            let field = Self.categoryPaths.indices.contains(index) ? Self.categoryPaths[index] : String(writing: { path in
                path.append("Ingredients[")
                path.append(index)
                path.append("].ItemCategory")
            })
            return Evidence(field: field, value: category, line: line, origin: categoryOrigin)
        }

        /// The paths of the first ingredients' categories, made once: the category rules name one
        /// in nearly every finding, and building it was an allocation and a copy each time.
        private static let categoryPaths = (0..<16).map { "Ingredients[\($0)].ItemCategory" }
    }

    private struct Fields: Equatable, Sendable {
        var request: PackageRequest
        var tag: String
        var item: String?
        var category: String
        var categoryOrigin: Evidence.Origin
        var ingredients: [Source]
    }

    /// In one ``SharedFields`` box, as a request's: the checker keeps each resolved package in a
    /// list for the pre-flight checks, which walk it package by package, and a copy of the plain
    /// struct retained and released each of its strings and lists.
    private var fields: SharedFields<Fields>

    /// The package as read (note, additives and processing step come from here).
    public var request: PackageRequest { get { fields.value.request } _modify { yield &fields.value.request } }
    public var tag: String { get { fields.value.tag } _modify { yield &fields.value.tag } }
    public var item: String? { get { fields.value.item } _modify { yield &fields.value.item } }
    public var category: String { get { fields.value.category } _modify { yield &fields.value.category } }
    /// Where the category came from.
    public var categoryOrigin: Evidence.Origin { get { fields.value.categoryOrigin } _modify { yield &fields.value.categoryOrigin } }
    public var ingredients: [Source] { get { fields.value.ingredients } _modify { yield &fields.value.ingredients } }

    public init(request: PackageRequest, tag: String, item: String?, category: String,
                categoryOrigin: Evidence.Origin = .manifest, ingredients: [Source]) {
        fields = SharedFields(Fields(request: request, tag: tag, item: item, category: category,
                                     categoryOrigin: categoryOrigin, ingredients: ingredients))
    }
}

extension ResolvedPackage: CustomReflectable {
    /// Its fields, as a plain struct's mirror shows them (not the box they are kept in).
    public var customMirror: Mirror { Mirror(self, children: fields.mirror.children, displayStyle: .struct) }
}

/// Fills in the categories a manifest leaves out, in the order of docs/manifests.md §7: an
/// ingredient of the same item in the manifest; for `UseSameItem`, the ingredients' item; the items
/// file; the packages file. What stays unknown is an issue naming the item or tag and the file to
/// add it to.
struct CategoryResolver {
    let catalog: Catalog
    /// Whether the catalog is Metrc's own: its record of a package or item wins over what the
    /// manifest says, and a source it lacks is an issue when the manifest does not give its category
    /// either (whether Metrc has the source at all is the source-not-in-facility check's to say).
    var sourcesMustBeKnown = false
    /// Item name (comparison key) to the category the manifest itself gives it.
    private var manifestCategories: [String: String] = [:]

    init(manifest: Manifest, catalog: Catalog) {
        self.catalog = catalog
        let somethingMissing = manifest.packages.contains { package in
            package.itemCategory == nil || package.ingredients.contains { $0.itemCategory == nil }
        }
        guard somethingMissing else { return }
        for package in manifest.packages {
            for ingredient in package.ingredients {
                if let item = ingredient.item, let category = ingredient.itemCategory {
                    remember(item: item, category: category)
                }
            }
        }
    }

    private mutating func remember(item: String, category: String) {
        let key = item.comparisonKey
        if manifestCategories[key] == nil { manifestCategories[key] = category.trimmingWhitespace() }
    }

    /// The source tags of `package` that the catalog does not hold, each once: on Metrc's catalog
    /// the caller looks them up before the pre-flight checks decide whether Metrc has them, also
    /// when the manifest gives every category.
    func unknownSources(of package: PackageRequest) -> [String] {
        var seen = Set<String>()
        return package.ingredients.compactMap(\.package).filter { catalog.package(tagged: $0) == nil && seen.insert($0).inserted }
    }

    /// The package with every category known, or the issues saying which are not.
    func resolve(_ package: PackageRequest, tag: String, format: ManifestFormat) -> Result<ResolvedPackage, ResolutionFailure> {
        var issues: [ManifestIssue] = []
        // What the catalog lacks, for a caller that can look it up: the items whose category was
        // needed and not found (and, listed on failure, every source tag it does not hold).
        var missingItems: [String] = []
        var sources: [ResolvedPackage.Source] = []
        sources.reserveCapacity(package.ingredients.count)
        // Each ingredient's fields read in place, by position: a copy of it retains every one.
        let ingredients = package.ingredients
        for index in ingredients.indices {
            guard let source = ingredients[index].package else { continue }
            // The item is looked up by tag even when the category is given: the item-change and
            // form rules need it, and a real request names its sources by tag alone.
            let known = catalog.package(tagged: source)
            var item = ingredients[index].item ?? known?.item
            var categoryOrigin = Evidence.Origin.manifest
            var category = ingredients[index].itemCategory?.trimmingWhitespace()
                ?? item.flatMap { manifestCategories[$0.comparisonKey] }
            if sourcesMustBeKnown, let known, let recorded = known.category ?? known.item.flatMap({ catalog.category(ofItem: $0) }) {
                // Metrc's record of an existing package is the fact; what a manifest says of it can
                // only differ by mistake, and a mistaken category could pass a batch unmarked.
                (item, category, categoryOrigin) = (known.item ?? item, recorded, .metrc)
            } else if category == nil, let found = item.flatMap({ catalog.category(ofItem: $0) }) {
                (category, categoryOrigin) = (found, .itemsFile)
            } else if category == nil, let found = known?.category {
                (category, categoryOrigin) = (found, .packagesFile)
            }
            guard let category else {
                if known == nil && sourcesMustBeKnown {
                    // Whether Metrc has it is the source-not-in-facility check's to say; here the
                    // package cannot be evaluated at all, and must not pass for want of a category.
                    // Rejected whatever source-not-in-facility's level: without its category the
                    // package cannot be judged. Tagged with the check and worded as Metrc answers.
                    var issue = ManifestIssue.field(
                        "Package", "[\(CheckID.sourceNotInFacility.rawValue)] ingredient \(source): package \(source) is not in the facility's Metrc catalog, and Metrc answers \"Package \(source) does not exist in the current Facility.\" Fix: check the tag.",
                        at: ingredients[index].position, format: format, tag: tag)
                    issue.check = .sourceNotInFacility
                    issues.append(issue)
                    continue
                }
                if let item { missingItems.append(item) }
                let advice = item.map {
                    sourcesMustBeKnown
                        ? "its item \(FieldSyntax.quoted($0)) is not among the facility's items in Metrc: check the name, or give the ingredient an ItemCategory"
                        : "its item \(FieldSyntax.quoted($0)) has no known category: add the item to the items file, or give the ingredient an ItemCategory"
                } ?? "its item and category are unknown: add tag \(source) to the packages file, or give the ingredient Item and ItemCategory"
                issues.append(.field("ItemCategory", "ingredient \(source): \(advice)", at: ingredients[index].position,
                                     format: format, tag: tag))
                continue
            }
            sources.append(.init(tag: source, item: item, category: category, index: index, line: ingredients[index].position.line,
                                 categoryOrigin: categoryOrigin))
        }

        var item = package.item
        var category = package.itemCategory?.trimmingWhitespace()
        var categoryOrigin = Evidence.Origin.manifest
        if category == nil, let name = item {
            category = manifestCategories[name.comparisonKey]
        }
        if package.useSameItem && issues.isEmpty && (category == nil || item == nil) {
            let items = Set(sources.compactMap { $0.item?.comparisonKey })
            let categories = Set(sources.map(\.category.comparisonKey))
            if item == nil, items.count == 1 { item = sources.compactMap(\.item).first }
            if category == nil {
                if categories.count == 1, let first = sources.first {
                    (category, categoryOrigin) = (first.category, first.categoryOrigin)
                } else if categories.count > 1 {
                    let listed = sources.map { "\($0.tag) is \($0.category)" }.joined(separator: ", ")
                    issues.append(.field("UseSameItem", "is true but the ingredients are of different categories (\(listed)), so there is no one item to keep",
                                         at: package.position, format: format, tag: tag))
                }
            }
        }
        if sourcesMustBeKnown, let recorded = item.flatMap({ catalog.category(ofItem: $0) }) {
            // In Metrc a package's category is its item's: a manifest's own ItemCategory that
            // differs is a mistake Metrc would not keep.
            (category, categoryOrigin) = (recorded, .metrc)
        } else if category == nil, let found = item.flatMap({ catalog.category(ofItem: $0) }) {
            (category, categoryOrigin) = (found, .itemsFile)
        }
        if category == nil, let found = catalog.package(tagged: tag)?.category {
            (category, categoryOrigin) = (found, .packagesFile)
        }
        if category == nil, let item { missingItems.append(item) }
        if category == nil && issues.isEmpty {
            let problem = item.map {
                sourcesMustBeKnown
                    ? "the item \(FieldSyntax.quoted($0)) of package \(tag) is not among the facility's items in Metrc: check the name (Metrc refuses an item it does not have)"
                    : "the item \(FieldSyntax.quoted($0)) of package \(tag) has no known category: add the item to the items file, or give the package an ItemCategory"
            } ?? "package \(tag) has no item or category: give an Item, or set UseSameItem with ingredients of known items"
            issues.append(.field("ItemCategory", problem, at: package.position, format: format, tag: tag))
        }
        guard issues.isEmpty, let category else {
            let missingPackages = package.ingredients.compactMap(\.package).filter { catalog.package(tagged: $0) == nil }
            return .failure(ResolutionFailure(issues: issues, misses: CatalogMisses(packages: missingPackages, items: missingItems)))
        }
        return .success(ResolvedPackage(request: package, tag: tag, item: item, category: category,
                                        categoryOrigin: categoryOrigin, ingredients: sources))
    }
}

/// The categories that could not be found for one package.
struct ResolutionFailure: Error {
    var issues: [ManifestIssue]
    /// What the catalog lacked, among the causes.
    var misses: CatalogMisses
}

/// What a manifest needed from the catalog that it does not hold: the tags of source packages and
/// the names of items whose category was needed. A caller with a live catalog (Metrc) looks them
/// up and evaluates the manifest again.
public struct CatalogMisses: Sendable, Equatable {
    /// Source package tags the catalog does not hold, each once, in order of appearance.
    public private(set) var packages: [String] = []
    /// Item names (as written) whose category was needed and not found, each once.
    public private(set) var items: [String] = []
    /// What ``packages`` holds and the ``String/comparisonKey`` of each of ``items``: a manifest may
    /// name 100,000 sources, and searching the lists for each new one took minutes.
    private var packagesHeld: Set<String> = []
    private var itemKeysHeld: Set<String> = []

    public init(packages: [String] = [], items: [String] = []) {
        add(packages: packages, items: items)
    }

    public var isEmpty: Bool { packages.isEmpty && items.isEmpty }

    /// Adds the other's tags and items not already here.
    public mutating func formUnion(_ other: CatalogMisses) {
        add(packages: other.packages, items: other.items)
    }

    private mutating func add(packages tags: [String], items names: [String]) {
        for tag in tags where packagesHeld.insert(tag).inserted { packages.append(tag) }
        for name in names where itemKeysHeld.insert(name.comparisonKey).inserted { items.append(name) }
    }
}
