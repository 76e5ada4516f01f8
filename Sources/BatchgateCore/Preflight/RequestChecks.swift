extension PreflightChecker {
    /// The most packages one create-package request may hold: integrators report that Metrc's API
    /// takes at most 10 objects per request and answers a larger one with HTTP 413 (its API
    /// documentation has an "Object Limiting" section; the number itself is second-hand).
    static let packagesPerRequest = 10

    /// The checks of the request itself: package-unit, date-future, date-before-source,
    /// too-many-packages, batch-number-reused, batch-number-unmarked. `batchRequired` holds the
    /// indexes of the packages a production-batch rule requires a batch of: a number with the
    /// indicator off is their rules' business (needs-batch), not batch-number-unmarked's.
    func checkRequests(_ manifest: Manifest, resolved packages: [(index: Int, package: ResolvedPackage)],
                       batchRequired: Set<Int>, into outcome: inout Outcome) {
        checkPackageCount(manifest, into: &outcome)
        checkDatesAgainstToday(packages, into: &outcome)
        // Each package borrowed where it stands: a `for (index, package)` loop, and an element of
        // the array passed on (`packages[position].package`), copied the whole package with its
        // request, twice per package.
        packages.withUnsafeBufferPointer { packages in
            for position in packages.indices {
                withUnsafePointer(to: packages[position].package) { package in
                    let index = packages[position].index
                    checkPackageUnit(package.pointee, index: index, into: &outcome)
                    checkDateAgainstSources(package.pointee, index: index, into: &outcome)
                    if !batchRequired.contains(index) { checkUnmarkedNumber(package.pointee, index: index, into: &outcome) }
                }
            }
        }
        checkBatchNumbers(packages, into: &outcome)
    }

    // MARK: too-many-packages

    /// too-many-packages: the request as a whole, counted in packages (a CSV package spans a row
    /// per ingredient).
    private func checkPackageCount(_ manifest: Manifest, into outcome: inout Outcome) {
        let count = manifest.packages.count
        guard count > Self.packagesPerRequest else { return }
        let limit = Self.packagesPerRequest
        outcome.add(finding(
            .tooManyPackages,
            "The manifest holds \(count) packages; Metrc is reported to refuse a request of more than \(limit) (HTTP 413).",
            fix: "split it into files of at most \(limit) packages, or submit it \(limit) at a time.",
            evidence: Evidence(field: "Packages", value: String(count), line: nil, origin: .manifest),
            at: nil), package: nil)
    }

    // MARK: package-unit

    /// A new package's item's quantity type, or why it is not known.
    private enum ItemQuantityType {
        case known(QuantityTypeSource)
        /// The reason, for the report's "not checked" line.
        case unknown(String)
    }

    /// Where a new package's item's quantity type was read, for the message and the evidence.
    private struct QuantityTypeSource {
        var type: QuantityType
        /// "items file", "Metrc catalog", or "packages file, item of source 1A4…".
        var place: String
        var origin: Evidence.Origin
    }

    /// package-unit: the new package's `UnitOfMeasure` against its item's `QuantityType`. The
    /// evidence is the unit, its origin the catalog that gave the quantity type.
    private func checkPackageUnit(_ package: ResolvedPackage, index: Int, into outcome: inout Outcome) {
        guard settings.runs(.packageUnit), let written = package.request.unitOfMeasure else { return }
        // The readers take any unit name; one Metrc does not know is not ours to judge here.
        guard let unit = MetrcUnit.named(written) else {
            outcome.skip(.packageUnit, reason: Self.unknownUnit(written),
                         tag: package.tag, settings: settings)
            return
        }
        let known: QuantityTypeSource
        switch itemQuantityType(of: package) {
        case .known(let found): known = found
        case .unknown(let reason):
            outcome.skip(.packageUnit, reason: reason, tag: package.tag, settings: settings)
            return
        }
        guard unit.quantityType != known.type else { return }
        let amount = package.request.quantity.map { "\(Self.quantityText($0)) \(unit.name)" } ?? "in \(unit.name)"
        let item = package.item.map { "its item \(FieldSyntax.quoted($0))" } ?? "its item"
        let units = MetrcUnit.names(of: known.type)
        outcome.add(finding(
            .packageUnit,
            "Package \(package.tag) is \(amount) but \(item) is \(known.type.rawValue) (\(known.place)).",
            fix: "use \(Self.listed(units, conjunction: "or")) (the units of a \(known.type.rawValue) item), or the item of the right quantity type.",
            evidence: Evidence(field: "UnitOfMeasure", value: written, line: package.request.position.line,
                               origin: known.origin),
            at: package.request.position), package: index)
    }

    /// The quantity type of the new package's item: the item's record; for `UseSameItem` without
    /// one, the item records nested in its sources' package records, when they all agree.
    private func itemQuantityType(of package: ResolvedPackage) -> ItemQuantityType {
        let record = package.item.flatMap { catalog.item(named: $0) }
        if let type = record?.quantityType {
            return .known(QuantityTypeSource(type: type, place: catalogIsMetrc ? "Metrc catalog" : "items file",
                                               origin: catalogIsMetrc ? .metrc : .itemsFile))
        }
        if package.request.useSameItem {
            let sources = Self.eachOnce(package.ingredients.map(\.tag))
            let types = sources.map { catalog.package(tagged: $0)?.itemQuantityType }
            if let first = types.first, let type = first, types.allSatisfy({ $0 == type }) {
                let place = catalogIsMetrc ? "Metrc catalog" : "packages file"
                return .known(QuantityTypeSource(
                    type: type, place: "\(place), the item of source \(Self.listed(sources, conjunction: "and"))",
                    origin: catalogIsMetrc ? .metrc : .packagesFile))
            }
            return .unknown(types.contains(nil)
                ? "UseSameItem, and the catalog gives no QuantityType for the item of a source package"
                : "UseSameItem, and the source packages' items are of different quantity types")
        }
        guard package.item != nil else { return .unknown("the package names no item") }
        if record != nil { return .unknown("the items catalog gives no QuantityType for the item") }
        return .unknown(catalog.itemCount == 0 && !catalogIsMetrc
            ? "no items catalog (catalog.items, --items or catalog.metrc)"
            : "the item is not in the items catalog")
    }

    // MARK: date-future

    /// date-future: each `ActualDate` against today, the latest date anywhere on Earth, so that
    /// no time zone's correct date is called future.
    private func checkDatesAgainstToday(_ packages: [(index: Int, package: ResolvedPackage)], into outcome: inout Outcome) {
        guard settings.runs(.dateFuture), packages.contains(where: { $0.package.request.actualDate != nil }) else { return }
        guard let today, case .success(let latest) = FieldSyntax.date(today, allowUSForm: false) else {
            outcome.skip(.dateFuture, reason: "no clock: today's date was not given (batchgate check sets it, and the daemon for each batch)",
                         tag: nil, settings: settings)
            return
        }
        for position in packages.indices {
            // Both are YYYY-MM-DD (the readers write ActualDate so), which sort as the dates do.
            guard let date = packages[position].package.request.actualDate, date > latest else { continue }
            let package = packages[position].package
            outcome.add(finding(
                .dateFuture,
                "ActualDate \(date) of package \(package.tag) is later than today's date anywhere on Earth (\(latest)).",
                fix: "give the date the package was made (ActualDate).",
                evidence: Evidence(field: "ActualDate", value: date, line: package.request.position.line, origin: .manifest),
                at: package.request.position), package: package.request.position.packageIndex)
        }
    }

    // MARK: date-before-source

    /// date-before-source: the package's `ActualDate` against each source record's
    /// `PackagedDate`, one finding naming every source packaged later.
    private func checkDateAgainstSources(_ package: ResolvedPackage, index: Int, into outcome: inout Outcome) {
        guard settings.runs(.dateBeforeSource), let date = package.request.actualDate else { return }
        guard catalog.packageCount > 0 || catalogIsMetrc else {
            outcome.skip(.dateBeforeSource, reason: Self.noPackagesCatalog, tag: nil, settings: settings)
            return
        }
        var later: [(tag: String, packaged: String)] = []
        for source in Self.eachOnce(package.ingredients.map(\.tag)) {
            guard let record = catalog.package(tagged: source) else {
                outcome.skip(.dateBeforeSource, reason: "the source package is not in the packages catalog",
                             tag: source, settings: settings)
                continue
            }
            // Metrc writes PackagedDate as a date, and in some records as a date and time.
            guard let written = record.packagedDate,
                  case .success(let packaged) = FieldSyntax.date(String(written.prefix(10)), allowUSForm: false) else {
                outcome.skip(.dateBeforeSource, reason: "the catalog gives no PackagedDate for the source package",
                             tag: source, settings: settings)
                continue
            }
            if date < packaged { later.append((source, packaged)) }
        }
        guard !later.isEmpty else { return }
        let sources = later.map { "\($0.tag) (\($0.packaged))" }
        let noun = later.count == 1 ? "source" : "sources"
        let origin: Evidence.Origin = catalogIsMetrc ? .metrc : .packagesFile
        outcome.add(finding(
            .dateBeforeSource,
            "ActualDate \(date) of package \(package.tag) is before the PackagedDate the \(origin.rawValue) gives its \(noun) \(Self.listed(sources, conjunction: "and")): a package cannot be made before what it is made from.",
            fix: "give the date the package was made (ActualDate), on or after \(later.map(\.packaged).max()!), or check the source tags.",
            evidence: Evidence(field: "ActualDate", value: date, line: package.request.position.line, origin: origin),
            at: package.request.position), package: index)
    }

    // MARK: batch-number-unmarked

    /// batch-number-unmarked: a number Metrc will not use, given beside `IsProductionBatch: false`
    /// on a package no rule requires a batch of.
    private func checkUnmarkedNumber(_ package: ResolvedPackage, index: Int, into outcome: inout Outcome) {
        guard package.request.isProductionBatch == false,
              let number = package.request.productionBatchNumber?.trimmingWhitespace(), !number.isEmpty else { return }
        outcome.add(finding(
            .batchNumberUnmarked,
            "A production batch number (\(number)) is given with IsProductionBatch false, so Metrc will not mark it; no rule requires a batch.",
            fix: "leave the number empty.",
            evidence: Evidence(field: "ProductionBatchNumber", value: number, line: package.request.position.line, origin: .manifest),
            at: package.request.position), package: index)
    }

    // MARK: batch-number-reused

    /// Another package that carries a batch number, and where it stands.
    private struct NumberedPackage {
        var tag: String
        /// The item's comparison key; nil when unknown.
        var itemKey: String?
        var item: String?
        /// The line of a package of this manifest, where known.
        var line: Int?
        var origin: Evidence.Origin

        /// "this manifest, line 20", "Metrc catalog", "packages file".
        var place: String {
            origin == .manifest ? "this manifest" + (line.map { ", line \($0)" } ?? "") : origin.rawValue
        }
    }

    /// The packages that carry one batch number, in order (the manifest's, then the catalog's),
    /// counted by item, so that each package learns in a few steps which others are of another item.
    private struct NumberGroup {
        private(set) var members: [NumberedPackage] = []
        /// Members by item key; those of unknown item are counted in `unknownItems`.
        private var countByItem: [String: Int] = [:]
        private(set) var unknownItems = 0
        /// The positions of the first three members of each of the first four items. The first
        /// three members of another item than any one package's are among them: a later member
        /// comes after three of other items, or after three of its own.
        private var leading: [Int] = []
        private var leadingItems: Set<String> = []

        mutating func add(_ member: NumberedPackage) {
            if let key = member.itemKey {
                let count = countByItem[key, default: 0]
                if count == 0 && leadingItems.count < 4 { leadingItems.insert(key) }
                if count < 3 && leadingItems.contains(key) { leading.append(members.count) }
                countByItem[key] = count + 1
            } else {
                unknownItems += 1
            }
            members.append(member)
        }

        /// The members of an item other than `itemKey` (and known): the first three, and how many.
        func others(than itemKey: String) -> (first: [NumberedPackage], count: Int) {
            let first = leading.lazy.map { members[$0] }.filter { $0.itemKey != itemKey }.prefix(3)
            return (Array(first), members.count - (countByItem[itemKey] ?? 0) - unknownItems)
        }
    }

    /// The packages of one batch number, by position among the numbered ones: the first, the last
    /// (where the next is chained on) and how many.
    private struct NumberChain {
        var first: Int
        var last: Int
        var count: Int
    }

    /// batch-number-reused: each package's number (trimmed, any case) against the other packages
    /// of the manifest and the catalog's; a finding where one is of another item, a skip where an
    /// item is unknown. The evidence's origin is where the first other package stands.
    private func checkBatchNumbers(_ packages: [(index: Int, package: ResolvedPackage)], into outcome: inout Outcome) {
        guard settings.runs(.batchNumberReused) else { return }
        // Each package's number, and the numbered packages by number (trimmed, any case), gathered
        // once: comparing each package with every other one took minutes on a file of 10,000
        // packages of one batch.
        var numbered: [(index: Int, package: Int, number: String, key: String)] = []
        // The numbered packages of each number as a chain through `nextWithNumber` (by position
        // in `numbered`, -1 at the end): most numbers are on one package, and a list per number
        // was an allocation per numbered package.
        var withNumber: [String: NumberChain] = [:]
        var nextWithNumber: [Int] = []
        for position in packages.indices {
            guard let number = packages[position].package.request.productionBatchNumber?.trimmingWhitespace(),
                  !number.isEmpty else { continue }
            if numbered.isEmpty {
                // Room made once, at the first number: grown package by package, the table was
                // rehashed several times a manifest; a manifest without numbers allocates nothing.
                numbered.reserveCapacity(packages.count - position)
                nextWithNumber.reserveCapacity(packages.count - position)
                withNumber.reserveCapacity(packages.count - position)
            }
            let key = number.comparisonKey
            let member = numbered.count
            if let chain = withNumber[key] {
                nextWithNumber[chain.last] = member
                withNumber[key] = NumberChain(first: chain.first, last: member, count: chain.count + 1)
            } else {
                withNumber[key] = NumberChain(first: member, last: member, count: 1)
            }
            nextWithNumber.append(-1)
            numbered.append((packages[position].index, position, number, key))
        }
        // A catalog record of a tag this manifest creates (a file checked again after Metrc took
        // it) is that package, already compared as the manifest writes it.
        var recordsWithNumber: [String: [Catalog.Package]] = [:]
        if catalog.hasBatchNumbers {
            let newTags = Set(packages.map(\.package.tag))
            for key in withNumber.keys {
                recordsWithNumber[key] = catalog.packages(withBatchNumber: key).filter { !newTags.contains($0.tag) }
            }
        }
        // A number's group is counted by item only when the package is not alone with it, as most are.
        var groups: [String: NumberGroup] = [:]
        func group(_ key: String) -> NumberGroup {
            if let group = groups[key] { return group }
            var group = NumberGroup()
            var next = withNumber[key]!.first
            while next >= 0 {
                let member = next
                next = nextWithNumber[member]
                let package = packages[numbered[member].package].package
                group.add(NumberedPackage(tag: package.tag, itemKey: package.item?.comparisonKey, item: package.item,
                                          line: package.request.tagLine ?? package.request.position.line, origin: .manifest))
            }
            let catalogOrigin: Evidence.Origin = catalogIsMetrc ? .metrc : .packagesFile
            for record in recordsWithNumber[key] ?? [] {
                group.add(NumberedPackage(tag: record.tag, itemKey: record.item?.comparisonKey, item: record.item,
                                          origin: catalogOrigin))
            }
            groups[key] = group
            return group
        }
        for (index, position, number, key) in numbered {
            // The group holds the package itself.
            guard withNumber[key]!.count + (recordsWithNumber[key]?.count ?? 0) > 1 else { continue }
            let package = packages[position].package
            let group = group(key)
            guard let item = package.item else {
                outcome.skip(.batchNumberReused, reason: "the package's item is not known", tag: package.tag, settings: settings)
                continue
            }
            let clashes = group.others(than: item.comparisonKey)
            guard clashes.count > 0 else {
                // Not guessed: another package with the number may be of another item, or not.
                if group.unknownItems > 0 {
                    outcome.skip(.batchNumberReused, reason: "another package with its batch number is of an unknown item",
                                 tag: package.tag, settings: settings)
                }
                continue
            }
            let named = clashes.first.map { other in
                "package \(other.tag) of item \(FieldSyntax.quoted(other.item ?? "")) (\(other.place))"
            } + (clashes.count > 3 ? ["\(clashes.count - 3) more"] : [])
            outcome.add(finding(
                .batchNumberReused,
                "Batch number \(number) of package \(package.tag) (item \(FieldSyntax.quoted(item))) is also on \(Self.listed(named, conjunction: "and")); a production batch is of one item.",
                fix: "give each production batch its own number.",
                evidence: Evidence(field: "ProductionBatchNumber", value: number, line: package.request.position.line,
                                   origin: clashes.first[0].origin),
                at: package.request.position), package: index)
        }
    }

    // MARK: Words

    /// `items` in their order, each once.
    private static func eachOnce(_ items: [String]) -> [String] {
        var seen = Set<String>()
        return items.filter { seen.insert($0).inserted }
    }
}
