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

        /// Evidence naming one of this ingredient's fields.
        func evidence(_ field: String, _ value: String, from origin: Evidence.Origin) -> Evidence {
            Evidence(field: "Ingredients[\(index)].\(field)", value: value, line: line, origin: origin)
        }
    }

    /// The package as read (note, additives and processing step come from here).
    public var request: PackageRequest
    public var tag: String
    public var item: String?
    public var category: String
    /// Where the category came from.
    public var categoryOrigin: Evidence.Origin
    public var ingredients: [Source]

    public init(request: PackageRequest, tag: String, item: String?, category: String,
                categoryOrigin: Evidence.Origin = .manifest, ingredients: [Source]) {
        self.request = request
        self.tag = tag
        self.item = item
        self.category = category
        self.categoryOrigin = categoryOrigin
        self.ingredients = ingredients
    }
}

/// Fills in the categories a manifest leaves out, in the order of docs/manifests.md §7: an
/// ingredient of the same item in the manifest; for `UseSameItem`, the ingredients' item; the items
/// file; the packages file. What stays unknown is an issue naming the item or tag and the file to
/// add it to.
struct CategoryResolver {
    let catalog: Catalog
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

    /// The package with every category known, or the issues saying which are not.
    func resolve(_ package: PackageRequest, tag: String, format: ManifestFormat) -> Result<ResolvedPackage, ResolutionFailure> {
        var issues: [ManifestIssue] = []
        var sources: [ResolvedPackage.Source] = []
        for (index, ingredient) in package.ingredients.enumerated() {
            guard let source = ingredient.package else { continue }
            // The item is looked up by tag even when the category is given: the item-change and
            // form rules need it, and a real request names its sources by tag alone.
            let known = catalog.package(tagged: source)
            let item = ingredient.item ?? known?.item
            var categoryOrigin = Evidence.Origin.manifest
            var category = ingredient.itemCategory?.trimmingWhitespace()
                ?? item.flatMap { manifestCategories[$0.comparisonKey] }
            if category == nil, let found = item.flatMap({ catalog.category(ofItem: $0) }) {
                (category, categoryOrigin) = (found, .itemsFile)
            } else if category == nil, let found = known?.category {
                (category, categoryOrigin) = (found, .packagesFile)
            }
            guard let category else {
                let advice = item.map {
                    "its item \(FieldSyntax.quoted($0)) has no known category: add the item to the items file, or give the ingredient an ItemCategory"
                } ?? "its item and category are unknown: add tag \(source) to the packages file, or give the ingredient Item and ItemCategory"
                issues.append(.field("ItemCategory", "ingredient \(source): \(advice)", at: ingredient.position,
                                     format: format, tag: tag))
                continue
            }
            sources.append(.init(tag: source, item: item, category: category, index: index, line: ingredient.position.line,
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
        if category == nil, let found = item.flatMap({ catalog.category(ofItem: $0) }) {
            (category, categoryOrigin) = (found, .itemsFile)
        }
        if category == nil, let found = catalog.package(tagged: tag)?.category {
            (category, categoryOrigin) = (found, .packagesFile)
        }
        if category == nil && issues.isEmpty {
            let problem = item.map {
                "the item \(FieldSyntax.quoted($0)) of package \(tag) has no known category: add the item to the items file, or give the package an ItemCategory"
            } ?? "package \(tag) has no item or category: give an Item, or set UseSameItem with ingredients of known items"
            issues.append(.field("ItemCategory", problem, at: package.position, format: format, tag: tag))
        }
        guard issues.isEmpty, let category else { return .failure(ResolutionFailure(issues: issues)) }
        return .success(ResolvedPackage(request: package, tag: tag, item: item, category: category,
                                        categoryOrigin: categoryOrigin, ingredients: sources))
    }
}

/// The categories that could not be found for one package.
struct ResolutionFailure: Error {
    var issues: [ManifestIssue]
}
