import Foundation
import Testing
@testable import BatchgateCore

/// The pre-flight checks of the request itself (RequestChecks.swift): package-unit, date-future,
/// date-before-source, too-many-packages, batch-number-reused, batch-number-unmarked, against
/// catalogs built here, at each level, with what they skip and the sentences they write.
@Suite("Request checks")
struct RequestCheckTests {
    // MARK: Building manifests and catalogs

    /// One ingredient of a request: its source tag and what it takes.
    struct Source {
        var tag: String
        var quantity: Double = 10
        var unit = "Grams"
        var item: String? = "Blue Dream Buds"
        var category: String? = "Buds"
    }

    /// One package of Metrc's create-package request, with the fields these checks read.
    struct Request {
        var tag: String
        var item: String? = "Blue Dream Buds"
        var category: String? = "Buds"
        var quantity: Double = 5
        var unit = "Grams"
        var actualDate: String?
        var batchNumber: String?
        var isProductionBatch: Bool?
        var useSameItem = false
        var sources: [Source] = [Source(tag: BatchgateCoreTests.tag(101))]

        var json: String {
            func quoted(_ text: String?) -> String { text.map { "\"\($0)\"" } ?? "null" }
            var fields = ["\"Tag\": \"\(tag)\"", "\"Item\": \(quoted(item))", "\"ItemCategory\": \(quoted(category))",
                          "\"Quantity\": \(quantity)", "\"UnitOfMeasure\": \"\(unit)\""]
            if let actualDate { fields.append("\"ActualDate\": \"\(actualDate)\"") }
            if let batchNumber { fields.append("\"ProductionBatchNumber\": \"\(batchNumber)\"") }
            if let isProductionBatch { fields.append("\"IsProductionBatch\": \(isProductionBatch)") }
            if useSameItem { fields.append("\"UseSameItem\": true") }
            let ingredients = sources.map {
                "{\"Package\": \"\($0.tag)\", \"Quantity\": \($0.quantity), \"UnitOfMeasure\": \"\($0.unit)\", \"Item\": \(quoted($0.item)), \"ItemCategory\": \(quoted($0.category))}"
            }
            fields.append("\"Ingredients\": [\(ingredients.joined(separator: ", "))]")
            return "{" + fields.joined(separator: ", ") + "}"
        }
    }

    /// Checks `requests` as one JSON manifest.
    static func report(_ requests: [Request], catalog: Catalog = Catalog(), levels: [CheckID: CheckLevel] = [:],
                       today: String? = "2026-12-05", metrc: Bool = false) -> ManifestReport {
        let text = "[" + requests.map(\.json).joined(separator: ",\n") + "]"
        return report(text, name: "m.json", catalog: catalog, levels: levels, today: today, metrc: metrc)
    }

    static func report(_ text: String, name: String, catalog: Catalog = Catalog(), levels: [CheckID: CheckLevel] = [:],
                       today: String? = "2026-12-05", metrc: Bool = false) -> ManifestReport {
        var checker = ManifestChecker(catalog: catalog, settings: RuleSettings(checks: CheckSettings(levels)))
        checker.today = today
        checker.sourcesMustBeKnown = metrc
        return checker.check(fileName: name, bytes: Array(text.utf8))
    }

    /// The findings of `check` on the package tagged `tag`.
    static func findings(_ check: CheckID, _ report: ManifestReport, _ tag: String) -> [CheckFinding] {
        report.packages.first { $0.tag == tag }?.checks.filter { $0.check == check } ?? []
    }

    /// The checks of this suite: the source checks run beside them and are not judged here.
    static let requestChecks: Set<CheckID> = [.packageUnit, .dateFuture, .dateBeforeSource, .tooManyPackages,
                                              .batchNumberReused, .batchNumberUnmarked]

    /// The request checks' findings on the package at `index`.
    static func requestFindings(_ report: ManifestReport, _ index: Int = 0) -> [CheckFinding] {
        report.packages[index].checks.filter { requestChecks.contains($0.check) }
    }

    /// What `check` skipped.
    static func skipped(_ report: ManifestReport, _ check: CheckID) -> [SkippedCheck] {
        report.skipped.filter { $0.check == check }
    }

    static let preRoll = Catalog.Item(name: "Blue Dream 1g Pre-Roll", category: "Pre-Roll Flower", quantityType: .countBased)
    static let buds = Catalog.Item(name: "Blue Dream Buds", category: "Buds", quantityType: .weightBased)
    static let tincture = Catalog.Item(name: "Relief Tincture", category: "Tincture", quantityType: .volumeBased)

    /// Pre-rolls repacked into their own item: no production-batch rule applies.
    static func preRolls(_ tagNumber: Int = 1, quantity: Double = 250, unit: String) -> Request {
        Request(tag: tag(tagNumber), item: preRoll.name, category: preRoll.category, quantity: quantity, unit: unit,
                sources: [Source(tag: tag(101), quantity: 250, unit: "Each", item: preRoll.name, category: preRoll.category)])
    }

    // MARK: package-unit

    @Test func aUnitOfAnotherQuantityTypeThanTheItemsIsAnErrorNamingBoth() throws {
        let report = Self.report([Self.preRolls(unit: "Grams")], catalog: Catalog(items: [Self.preRoll]))
        let finding = try #require(Self.findings(.packageUnit, report, tag(1)).first)
        #expect(finding.severity == .error)
        #expect(finding.message == "Package \(tag(1)) is 250 Grams but its item \"Blue Dream 1g Pre-Roll\" is CountBased (items file).")
        #expect(finding.fix == "use Each (the units of a CountBased item), or the item of the right quantity type.")
        #expect(finding.evidence == Evidence(field: "UnitOfMeasure", value: "Grams", line: 1, origin: .itemsFile))
        #expect(report.packages.first?.status == .invalid)
        #expect(report.decision == .rejected)
        // Placed like a field error, so a person finds it where they would find a typo.
        #expect(report.errors.contains { $0.field == "UnitOfMeasure" && $0.message.contains("[package-unit]") })
    }

    @Test func aUnitOfTheItemsQuantityTypePassesWrittenAnyCase() {
        for unit in ["Each", " each "] {
            let report = Self.report([Self.preRolls(unit: unit)], catalog: Catalog(items: [Self.preRoll]))
            #expect(Self.findings(.packageUnit, report, tag(1)).isEmpty, "\(unit)")
            #expect(report.decision == .accepted, Comment(rawValue: report.text))
        }
    }

    @Test func theFixListsEveryUnitOfTheItemsType() throws {
        let volume = Request(tag: tag(1), item: Self.tincture.name, category: Self.tincture.category, unit: "Grams",
                             sources: [Source(tag: tag(101), unit: "Milliliters", item: Self.tincture.name, category: Self.tincture.category)])
        let finding = try #require(Self.findings(.packageUnit, Self.report([volume], catalog: Catalog(items: [Self.tincture])), tag(1)).first)
        #expect(finding.fix.hasPrefix("use Milliliters, Liters or Fluid Ounces (the units of a VolumeBased item)"))
        let weight = Request(tag: tag(1), unit: "Each")
        let byWeight = try #require(Self.findings(.packageUnit, Self.report([weight], catalog: Catalog(items: [Self.buds])), tag(1)).first)
        #expect(byWeight.fix.hasPrefix("use Milligrams, Grams, Kilograms, Ounces or Pounds"))
    }

    @Test func levelsDecideWhatAPackageUnitMismatchDoes() {
        let catalog = Catalog(items: [Self.preRoll])
        let warned = Self.report([Self.preRolls(unit: "Grams")], catalog: catalog, levels: [.packageUnit: .warning])
        #expect(Self.findings(.packageUnit, warned, tag(1)).map(\.severity) == [.warning])
        #expect(warned.packages.first?.status == .ok)
        #expect(warned.decision == .accepted)
        #expect(warned.errors.isEmpty)
        let off = Self.report([Self.preRolls(unit: "Grams")], catalog: catalog, levels: [.packageUnit: .off])
        #expect(Self.requestFindings(off).isEmpty)
        #expect(off.decision == .accepted)
        let offUnknown = Self.report([Self.preRolls(unit: "gm")], catalog: catalog, levels: [.packageUnit: .off])
        #expect(Self.skipped(offUnknown, .packageUnit).isEmpty, "an off check is listed nowhere")
    }

    @Test func againstMetrcsCatalogTheMessageSaysSo() throws {
        let source = Catalog.Package(tag: tag(101), item: Self.preRoll.name, category: Self.preRoll.category)
        let report = Self.report([Self.preRolls(unit: "Grams")], catalog: Catalog(items: [Self.preRoll], packages: [source]),
                                 metrc: true)
        let finding = try #require(Self.findings(.packageUnit, report, tag(1)).first)
        #expect(finding.message.hasSuffix("is CountBased (Metrc catalog)."))
        #expect(finding.evidence.origin == .metrc)
    }

    @Test func aUnitNameMetrcDoesNotUseIsSkippedNamingIt() throws {
        let report = Self.report([Self.preRolls(unit: "gm")], catalog: Catalog(items: [Self.preRoll]))
        #expect(Self.findings(.packageUnit, report, tag(1)).isEmpty)
        let skip = try #require(Self.skipped(report, .packageUnit).first)
        #expect(skip.reason.hasPrefix("unit \"gm\" is not one of Metrc's unit names (Milligrams, Grams,"))
        #expect(skip.tags == [tag(1)])
    }

    @Test func anItemWithoutAQuantityTypeIsSkippedNotGuessed() throws {
        let untyped = Catalog.Item(name: Self.preRoll.name, category: Self.preRoll.category)
        let cases: [(Catalog, String)] = [
            (Catalog(items: [untyped]), "the items catalog gives no QuantityType for the item"),
            (Catalog(items: [Self.buds]), "the item is not in the items catalog"),
            (Catalog(), "no items catalog (catalog.items, --items or catalog.metrc)"),
        ]
        for (catalog, reason) in cases {
            let report = Self.report([Self.preRolls(unit: "Grams"), Self.preRolls(2, unit: "Grams")], catalog: catalog)
            #expect(report.packages.indices.allSatisfy { Self.requestFindings(report, $0).isEmpty }, "\(reason)")
            #expect(Self.skipped(report, .packageUnit) == [SkippedCheck(check: .packageUnit, reason: reason, tags: [tag(1), tag(2)])], "\(reason)")
        }
    }

    @Test func useSameItemReadsTheQuantityTypeOfItsSourcesItem() throws {
        let split = Request(tag: tag(1), item: nil, category: nil, quantity: 3, unit: "Each", useSameItem: true,
                            sources: [Source(tag: tag(101)), Source(tag: tag(102))])
        let weighed = Catalog(packages: [
            Catalog.Package(tag: tag(101), item: "Blue Dream Buds", category: "Buds", itemQuantityType: .weightBased),
            Catalog.Package(tag: tag(102), item: "Blue Dream Buds", category: "Buds", itemQuantityType: .weightBased),
        ])
        let finding = try #require(Self.findings(.packageUnit, Self.report([split], catalog: weighed), tag(1)).first)
        #expect(finding.message == "Package \(tag(1)) is 3 Each but its item \"Blue Dream Buds\" is WeightBased (packages file, the item of source \(tag(101)) and \(tag(102))).")
        #expect(finding.evidence.origin == .packagesFile)

        var disagreeing = weighed
        disagreeing.insert(Catalog.Package(tag: tag(102), item: "Blue Dream Buds", category: "Buds", itemQuantityType: .countBased))
        let mixed = Self.report([split], catalog: disagreeing)
        #expect(Self.requestFindings(mixed).isEmpty)
        #expect(Self.skipped(mixed, .packageUnit).map(\.reason) == ["UseSameItem, and the source packages' items are of different quantity types"])
        var partial = weighed
        partial.insert(Catalog.Package(tag: tag(102), item: "Blue Dream Buds", category: "Buds"))
        #expect(Self.skipped(Self.report([split], catalog: partial), .packageUnit).map(\.reason)
                == ["UseSameItem, and the catalog gives no QuantityType for the item of a source package"])
    }

    // MARK: date-future

    @Test func anActualDateAfterTodayIsAWarning() throws {
        let report = Self.report([Request(tag: tag(1), actualDate: "2026-12-06"), Request(tag: tag(2), actualDate: "2026-12-05")])
        let finding = try #require(Self.findings(.dateFuture, report, tag(1)).first)
        #expect(finding.severity == .warning)
        #expect(finding.message == "ActualDate 2026-12-06 of package \(tag(1)) is later than today's date anywhere on Earth (2026-12-05).")
        #expect(finding.evidence == Evidence(field: "ActualDate", value: "2026-12-06", line: 1, origin: .manifest))
        #expect(Self.findings(.dateFuture, report, tag(2)).isEmpty, "today itself is no future")
        #expect(report.decision == .accepted)
        #expect(report.summary == "accepted: 2 packages, 1 warning (date-future)")
    }

    @Test func aFutureDateAtErrorRejectsPlacedOnActualDate() {
        let report = Self.report([Request(tag: tag(1), actualDate: "2027-01-01")], levels: [.dateFuture: .error])
        #expect(report.decision == .rejected)
        #expect(report.errors.map(\.field) == ["ActualDate"])
    }

    @Test func withoutAClockDateFutureIsSkippedForTheManifest() {
        let report = Self.report([Request(tag: tag(1), actualDate: "2999-01-01")], today: nil)
        #expect(Self.requestFindings(report).isEmpty)
        let skip = Self.skipped(report, .dateFuture)
        #expect(skip.count == 1)
        #expect(skip.first?.tags == [])
        #expect(skip.first?.reason.hasPrefix("no clock: today's date was not given") == true)
        // No ActualDate: nothing to compare, nothing to say.
        #expect(Self.skipped(Self.report([Request(tag: tag(1))], today: nil), .dateFuture).isEmpty)
    }

    // MARK: date-before-source

    static func packaged(_ number: Int, _ date: String?) -> Catalog.Package {
        Catalog.Package(tag: tag(number), item: "Blue Dream Buds", category: "Buds", quantity: 1000,
                        unitOfMeasure: "Grams", packagedDate: date)
    }

    @Test func anActualDateBeforeASourcesPackagedDateIsAWarningNamingBoth() throws {
        let catalog = Catalog(packages: [Self.packaged(101, "2025-02-10")])
        let report = Self.report([Request(tag: tag(1), actualDate: "2025-02-01"), Request(tag: tag(2), actualDate: "2025-02-10")],
                                 catalog: catalog)
        let finding = try #require(Self.findings(.dateBeforeSource, report, tag(1)).first)
        #expect(finding.severity == .warning)
        #expect(finding.message == "ActualDate 2025-02-01 of package \(tag(1)) is before the PackagedDate the packages file gives its source \(tag(101)) (2025-02-10): a package cannot be made before what it is made from.")
        #expect(finding.fix.contains("on or after 2025-02-10"))
        #expect(finding.evidence == Evidence(field: "ActualDate", value: "2025-02-01", line: 1, origin: .packagesFile))
        #expect(Self.findings(.dateBeforeSource, report, tag(2)).isEmpty, "the same day is fine")
        #expect(report.decision == .accepted)
    }

    @Test func severalLaterSourcesMakeOneFindingAndADateWithATimeCounts() throws {
        let catalog = Catalog(packages: [Self.packaged(101, "2025-02-10T00:00:00Z"), Self.packaged(102, "2025-03-01"),
                                         Self.packaged(103, "2024-01-01")])
        let request = Request(tag: tag(1), actualDate: "2025-02-01",
                              sources: [Source(tag: tag(101)), Source(tag: tag(102)), Source(tag: tag(101)), Source(tag: tag(103))])
        let found = Self.findings(.dateBeforeSource, Self.report([request], catalog: catalog), tag(1))
        #expect(found.count == 1)
        #expect(found.first?.message.contains("gives its sources \(tag(101)) (2025-02-10) and \(tag(102)) (2025-03-01)") == true)
        #expect(found.first?.fix.contains("on or after 2025-03-01") == true)
    }

    @Test func aSourceWithoutAPackagedDateIsSkippedForThatTag() {
        let catalog = Catalog(packages: [Self.packaged(101, nil), Self.packaged(103, "2025-01-01")])
        let request = Request(tag: tag(1), actualDate: "2025-02-01",
                              sources: [Source(tag: tag(101)), Source(tag: tag(102)), Source(tag: tag(103))])
        let report = Self.report([request], catalog: catalog)
        #expect(Self.requestFindings(report).isEmpty)
        #expect(Self.skipped(report, .dateBeforeSource) == [
            SkippedCheck(check: .dateBeforeSource, reason: "the catalog gives no PackagedDate for the source package", tags: [tag(101)]),
            SkippedCheck(check: .dateBeforeSource, reason: "the source package is not in the packages catalog", tags: [tag(102)]),
        ])
        let noCatalog = Self.report([request, Request(tag: tag(2), actualDate: "2025-02-01")])
        #expect(Self.skipped(noCatalog, .dateBeforeSource)
                == [SkippedCheck(check: .dateBeforeSource, reason: "no packages catalog (catalog.packages, --packages or catalog.metrc)")])
    }

    // MARK: too-many-packages

    @Test func moreThanTenPackagesIsAManifestWarning() throws {
        let eleven = (1...11).map { Request(tag: tag($0)) }
        let report = Self.report(eleven)
        let finding = try #require(report.checks.first)
        #expect(report.checks.map(\.check) == [.tooManyPackages])
        #expect(finding.severity == .warning)
        #expect(finding.position == nil)
        #expect(finding.message == "The manifest holds 11 packages; Metrc is reported to refuse a request of more than 10 (HTTP 413).")
        #expect(finding.fix == "split it into files of at most 10 packages, or submit it 10 at a time.")
        #expect(report.packages.indices.allSatisfy { Self.requestFindings(report, $0).isEmpty })
        #expect(report.decision == .accepted)
        #expect(Self.report(Array(eleven.prefix(PreflightChecker.packagesPerRequest))).checks.isEmpty)

        let rejected = Self.report(eleven, levels: [.tooManyPackages: .error])
        #expect(rejected.decision == .rejected)
        #expect(rejected.errors.count == 1 && rejected.errors.first?.packageIndex == nil)
        #expect(rejected.packages.allSatisfy { $0.status == .ok }, "the packages themselves are fine")
        #expect(Self.report(eleven, levels: [.tooManyPackages: .off]).checks.isEmpty)
    }

    /// A CSV row per ingredient: 10 packages of two ingredients each are 20 rows and one request.
    @Test func packagesAreCountedNotCSVRows() {
        func csv(_ packages: Int) -> String {
            let rows = (1...packages).flatMap { number in
                [101, 102].map { "\(tag(number)),\(tag($0)),10,Grams,Blue Dream Buds,Buds,20,Grams,Blue Dream Buds,Buds" }
            }
            return (["New Package Tag,Source Package Tag,Source Package Quantity Used,Source Package Quantity Unit of Measure,Item Name,Item Category,New Package Quantity,New Package Unit,Source Item,Source Category"]
                    + rows).joined(separator: "\n")
        }
        let ten = Self.report(csv(10), name: "m.csv")
        #expect(ten.packages.count == 10, Comment(rawValue: ten.text))
        #expect(ten.checks.isEmpty)
        #expect(Self.report(csv(11), name: "m.csv").checks.map(\.check) == [.tooManyPackages])
    }

    // MARK: batch-number-reused

    @Test func oneNumberOnPackagesOfDifferentItemsWarnsOnEach() throws {
        let report = Self.report([
            Request(tag: tag(1), batchNumber: "PB-7"),
            Request(tag: tag(2), item: "Gelato Buds", batchNumber: " pb-7 "),
            Request(tag: tag(3), batchNumber: "PB-7"),
        ])
        let first = try #require(Self.findings(.batchNumberReused, report, tag(1)).first)
        #expect(first.severity == .warning)
        #expect(first.message == "Batch number PB-7 of package \(tag(1)) (item \"Blue Dream Buds\") is also on package \(tag(2)) of item \"Gelato Buds\" (this manifest, line 2); a production batch is of one item.")
        #expect(first.fix == "give each production batch its own number.")
        #expect(first.evidence == Evidence(field: "ProductionBatchNumber", value: "PB-7", line: 1, origin: .manifest))
        let second = try #require(Self.findings(.batchNumberReused, report, tag(2)).first)
        #expect(second.message.contains("is also on package \(tag(1)) of item \"Blue Dream Buds\" (this manifest, line 1) and package \(tag(3))"))
        #expect(Self.findings(.batchNumberReused, report, tag(3)).count == 1)
        #expect(report.decision == .accepted)
    }

    @Test func oneNumberOnOneItemIsOneBatch() {
        let report = Self.report([Request(tag: tag(1), batchNumber: "PB-7"), Request(tag: tag(2), item: "blue dream buds ", batchNumber: "PB-7")],
                                 catalog: Catalog(packages: [Catalog.Package(tag: tag(500), item: "Blue Dream Buds", category: "Buds",
                                                                             productionBatchNumber: "PB-7")]))
        #expect(report.packages.indices.allSatisfy { Self.requestFindings(report, $0).isEmpty })
        #expect(Self.skipped(report, .batchNumberReused).isEmpty)
    }

    @Test func aCatalogPackageOfAnotherItemWithTheNumberWarns() throws {
        let catalog = Catalog(packages: [
            Catalog.Package(tag: tag(500), item: "Gelato Live Resin", category: "Concentrate", productionBatchNumber: "PB-7"),
            Catalog.Package(tag: tag(101), item: "Blue Dream Buds", category: "Buds"),
        ])
        let report = Self.report([Request(tag: tag(1), batchNumber: "PB-7")], catalog: catalog)
        let finding = try #require(Self.findings(.batchNumberReused, report, tag(1)).first)
        #expect(finding.message.contains("is also on package \(tag(500)) of item \"Gelato Live Resin\" (packages file)"))
        #expect(finding.evidence.origin == .packagesFile)
        let live = Self.report([Request(tag: tag(1), batchNumber: "PB-7")], catalog: catalog, metrc: true)
        #expect(Self.findings(.batchNumberReused, live, tag(1)).first?.message.contains("(Metrc catalog)") == true)
        // The new package's own record (the file checked again after Metrc took it) is no other package.
        let again = Catalog(packages: [Catalog.Package(tag: tag(1), item: "Gelato Live Resin", category: "Concentrate",
                                                       productionBatchNumber: "PB-7")])
        #expect(Self.requestFindings(Self.report([Request(tag: tag(1), batchNumber: "PB-7")], catalog: again)).isEmpty)
    }

    @Test func anOtherPackageOfUnknownItemIsSkippedNotGuessed() {
        let catalog = Catalog(packages: [Catalog.Package(tag: tag(500), item: nil, category: "Buds", productionBatchNumber: "PB-7")])
        let report = Self.report([Request(tag: tag(1), batchNumber: "PB-7")], catalog: catalog)
        #expect(Self.requestFindings(report).isEmpty)
        #expect(Self.skipped(report, .batchNumberReused) == [SkippedCheck(check: .batchNumberReused,
                                                reason: "another package with its batch number is of an unknown item", tags: [tag(1)])])
    }

    // MARK: batch-number-unmarked

    @Test func aNumberWithTheIndicatorOffWhereNoRuleAsksIsTheChecksWarning() throws {
        let report = Self.report([Request(tag: tag(1), batchNumber: "PB-7", isProductionBatch: false)])
        let package = try #require(report.packages.first)
        #expect(package.status == .ok)
        #expect(package.warnings.isEmpty, "no longer a warning of the rules")
        let finding = try #require(Self.findings(.batchNumberUnmarked, report, tag(1)).first)
        #expect(finding.severity == .warning)
        #expect(finding.message == "A production batch number (PB-7) is given with IsProductionBatch false, so Metrc will not mark it; no rule requires a batch.")
        #expect(finding.fix == "leave the number empty.")
        #expect(finding.evidence == Evidence(field: "ProductionBatchNumber", value: "PB-7", line: 1, origin: .manifest))
        #expect(package.messages.contains("Warning: \(finding.message) Fix: \(finding.fix)"))
        #expect(report.decision == .accepted)

        let rejected = Self.report([Request(tag: tag(1), batchNumber: "PB-7", isProductionBatch: false)],
                                   levels: [.batchNumberUnmarked: .error])
        #expect(rejected.packages.first?.status == .invalid)
        #expect(rejected.errors.map(\.field) == ["ProductionBatchNumber"])
        let off = Self.report([Request(tag: tag(1), batchNumber: "PB-7", isProductionBatch: false)],
                              levels: [.batchNumberUnmarked: .off])
        #expect(Self.requestFindings(off).isEmpty && off.packages.first?.warnings.isEmpty == true)
    }

    /// Where a rule requires a batch, the number with the indicator off is the rules' needs-batch,
    /// with its fix, and the check stays silent.
    @Test func whereARuleRequiresABatchTheRulesSayIt() throws {
        let resin = Request(tag: tag(1), item: "Blue Dream Live Resin", category: "Concentrate",
                            batchNumber: "PB-7", isProductionBatch: false)
        let report = Self.report([resin], levels: [.batchNumberUnmarked: .error])
        let package = try #require(report.packages.first)
        #expect(package.status == .needsBatch)
        #expect(Self.requestFindings(report).isEmpty)
        #expect(package.fix == "package \(tag(1)) gives batch number PB-7 but IsProductionBatch is false, so Metrc will not mark it: set IsProductionBatch to true (tick Production Batch).")
        #expect(report.decision == .needsBatch)
    }

    @Test func aNumberWithTheIndicatorOnOrAbsentIsNoUnmarkedNumber() {
        for marked in [true, nil] as [Bool?] {
            let report = Self.report([Request(tag: tag(1), batchNumber: "PB-7", isProductionBatch: marked)])
            #expect(Self.findings(.batchNumberUnmarked, report, tag(1)).isEmpty, "\(String(describing: marked))")
        }
        let blank = Self.report([Request(tag: tag(1), batchNumber: "  ", isProductionBatch: false)])
        #expect(Self.requestFindings(blank).isEmpty)
    }

    // MARK: The fixtures that came before

    /// The request checks find nothing in the fixtures written before them (every case, bulletin
    /// example and catalog look-up), but for the one that gives a number with the indicator off.
    @Test func earlierFixturesGetNoRequestFindingByAccident() throws {
        var reports: [(String, ManifestReport)] = []
        for expected in FixtureTests.expectations {
            let items = try expected.items.map { try CatalogReader.readItems(FixtureTests.bytes($0), fileName: $0) } ?? []
            let packages = try expected.packagesFile.map { try CatalogReader.readPackages(FixtureTests.bytes($0), fileName: $0) } ?? []
            let text = String(decoding: try FixtureTests.bytes(expected.file), as: UTF8.self)
            reports.append((expected.file, Self.report(text, name: expected.file, catalog: Catalog(items: items, packages: packages))))
        }
        let bulletinCatalog = try BulletinTests.catalog(items: "items.json", packages: "packages.json")
        for name in try FileManager.default.contentsOfDirectory(atPath: BulletinTests.folder.path)
        where !["items.json", "packages.json"].contains(name) {
            let text = String(decoding: try BulletinTests.bytes(name), as: UTF8.self)
            reports.append(("bulletin/" + name, Self.report(text, name: name, catalog: bulletinCatalog)))
        }
        #expect(reports.count > 100)
        for (name, report) in reports {
            let found = report.checkFindings(.error) + report.checkFindings(.warning)
            let ids = Set(found.map(\.check)).intersection(Self.requestChecks)
            let expected: Set<CheckID> = name == "bulletin/warning-number-with-false.json" ? [.batchNumberUnmarked] : []
            #expect(ids == expected, "\(name): \(found.map(\.message))")
        }
    }
}
