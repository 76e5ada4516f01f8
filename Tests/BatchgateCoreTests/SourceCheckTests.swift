import Testing
@testable import BatchgateCore

/// The pre-flight checks of source packages and new tags, on catalogs built in place: what each
/// finds, at which level, what it skips and why, and the unit conversions and sums of over-use.
@Suite("Source checks")
struct SourceCheckTests {
    static func source(_ number: Int) -> String { "1A4FF0100000022000000" + String(number) }
    static func newTag(_ number: Int) -> String { "1A4FF030000002200000" + String(9000 + number) }

    /// An active package of Blue Dream Buds holding `quantity` `unit`, as Metrc records it.
    static func active(_ number: Int, _ quantity: Double?, _ unit: String?, item: String = "Blue Dream Buds",
                       category: String = "Buds") -> Catalog.Package {
        Catalog.Package(tag: source(number), item: item, category: category, quantity: quantity, unitOfMeasure: unit,
                        packagedDate: "2025-02-10", isOnHold: false, isFinished: false, labTestingState: "TestPassed",
                        lastModified: "2025-02-25T18:04:31+00:00")
    }

    static let catalog: Catalog = {
        var onHold = active(531, 100, "Grams"); onHold.isOnHold = true
        var finished = active(541, 0, "Grams"); finished.isFinished = true; finished.finishedDate = "2025-03-01"
        var archived = active(551, 0, "Grams"); archived.archivedDate = "2025-03-05"
        var failed = active(561, 500, "Grams"); failed.labTestingState = "RETESTFAILED"
        var unknownState = Catalog.Package(tag: source(562), item: "Blue Dream Buds", category: "Buds", quantity: 500,
                                           unitOfMeasure: "Grams")
        unknownState.lastModified = "2025-02-25T18:04:31+00:00"
        return Catalog(
            items: [.init(name: "Blue Dream Buds", category: "Buds", quantityType: .weightBased, unitOfMeasure: "Grams"),
                    .init(name: "Blue Dream Tincture", category: "Tincture", quantityType: .volumeBased, unitOfMeasure: "Milliliters")],
            packages: [
                active(501, 1360.8, "Grams"), active(511, 16, "Ounces"), active(512, 1, "Pounds"),
                active(521, 1, "Liters", item: "Blue Dream Tincture", category: "Tincture"),
                onHold, finished, archived, failed, unknownState,
                active(591, 100, "gm"), active(592, nil, "Grams"),
                // A packages file naming a new tag's category: no stock, no state.
                Catalog.Package(tag: newTag(100), item: "Blue Dream Buds", category: "Buds"),
            ])
    }()

    /// One ingredient: how much of which source, in which unit, with the item and category a
    /// manifest may give.
    struct Take {
        var source: String
        var quantity: Double
        var unit: String = "Grams"
        var item: String? = nil
        var category: String? = nil
    }

    /// A JSON manifest, one member a line, of packages of `item` (quantity 1 in `unit`) each made of `takes`.
    static func manifest(_ packages: [(tag: String, takes: [Take])], item: String = "Blue Dream Buds",
                         unit: String = "Grams") -> String {
        var lines = ["["]
        for (number, package) in packages.enumerated() {
            lines.append("{\"Tag\": \"\(package.tag)\", \"Item\": \"\(item)\", \"Quantity\": 1, \"UnitOfMeasure\": \"\(unit)\", \"ActualDate\": \"2025-06-02\", \"Ingredients\": [")
            for (index, take) in package.takes.enumerated() {
                var fields = "\"Package\": \"\(take.source)\", \"Quantity\": \(take.quantity), \"UnitOfMeasure\": \"\(take.unit)\""
                if let item = take.item { fields += ", \"Item\": \"\(item)\"" }
                if let category = take.category { fields += ", \"ItemCategory\": \"\(category)\"" }
                lines.append("{\(fields)}" + (index < package.takes.count - 1 ? "," : ""))
            }
            lines.append("]}" + (number < packages.count - 1 ? "," : ""))
        }
        lines.append("]")
        return lines.joined(separator: "\n")
    }

    static func check(_ json: String, catalog: Catalog = catalog, metrc: Bool = false,
                      levels: [CheckID: CheckLevel] = [:]) -> ManifestReport {
        var checker = ManifestChecker(catalog: catalog, settings: RuleSettings(checks: CheckSettings(levels)))
        checker.sourcesMustBeKnown = metrc
        return checker.check(fileName: "m.json", bytes: Array(json.utf8))
    }

    static func one(_ take: Take, tag: String = newTag(1), metrc: Bool = false, levels: [CheckID: CheckLevel] = [:],
                    item: String = "Blue Dream Buds", unit: String = "Grams") -> ManifestReport {
        check(manifest([(tag, [take])], item: item, unit: unit), metrc: metrc, levels: levels)
    }

    /// Every failed check, by new tag.
    static func failed(_ report: ManifestReport) -> [String: [CheckID]] {
        var failed: [String: [CheckID]] = [:]
        for package in report.packages where !package.checks.isEmpty { failed[package.tag ?? "?"] = package.checks.map(\.check) }
        return failed
    }

    static func skipped(_ report: ManifestReport, _ check: CheckID) -> SkippedCheck? {
        report.skipped.first { $0.check == check }
    }

    // MARK: Numbers

    @Test func quantitiesShowAtMostThreeDecimalsAndNoTrailingZeros() {
        #expect(PreflightChecker.quantityText(453.59237) == "453.592")
        #expect(PreflightChecker.quantityText(16) == "16")
        #expect(PreflightChecker.quantityText(139.2) == "139.2")
        #expect(PreflightChecker.quantityText(0.40763) == "0.408")
        #expect(PreflightChecker.quantityText(1000.0004) == "1000")
        #expect(PreflightChecker.quantityText(0.0004) == "0.0004")
        #expect(PreflightChecker.quantityText(0) == "0")
        #expect(PreflightChecker.quantityText(-2.5) == "-2.5")
    }

    // MARK: tag-in-use

    @Test func aNewTagThatIsAPackageWithStockIsInUse() throws {
        let report = Self.one(Take(source: Self.source(501), quantity: 10), tag: Self.source(511))
        #expect(report.decision == .rejected)
        let finding = try #require(report.packages.first?.checks.first { $0.check == .tagInUse }, "\(report.text)")
        #expect(finding.severity == .error)
        #expect(finding.message.contains("Tag \(Self.source(511)) is not available."))
        #expect(finding.message.contains("Blue Dream Buds, active, in the packages file"))
        #expect(finding.evidence == Evidence(field: "Tag", value: Self.source(511), line: 2, origin: .packagesFile))
        #expect(finding.fix.contains("unused tag"))
        #expect(report.errors.contains { $0.message.contains("Packages[0].Tag (line 2): [tag-in-use]") })
    }

    @Test func aNewTagThePackagesFileNamesOnlyForItsCategoryIsSkippedNotFound() {
        for metrc in [false, true] {
            let report = Self.one(Take(source: Self.source(501), quantity: 10), tag: Self.newTag(100), metrc: metrc)
            #expect(report.decision == .accepted, "\(report.text)")
            #expect(Self.failed(report).isEmpty)
            #expect(Self.skipped(report, .tagInUse)?.tags == [Self.newTag(100)])
        }
    }

    @Test func aNewTagTheCatalogLacksProvesNothing() {
        let report = Self.one(Take(source: Self.source(501), quantity: 10))
        #expect(report.decision == .accepted, "\(report.text)")
        #expect(report.packages.first?.checks.isEmpty == true)
        #expect(Self.skipped(report, .tagInUse) == nil)
    }

    @Test func withoutAPackagesCatalogEverySourceCheckIsSkippedForTheManifest() {
        let report = Self.check(Self.manifest([(Self.newTag(1), [Take(source: Self.source(501), quantity: 5000, item: "Blue Dream Buds")])]),
                                catalog: Catalog(items: [.init(name: "Blue Dream Buds", category: "Buds")]))
        #expect(report.decision == .accepted, "\(report.text)")
        let sourceChecks: [CheckID] = [.tagInUse, .sourceNotInFacility, .sourceInactive, .sourceOnHold, .sourceLabFailed,
                                       .sourceOverUsed, .ingredientUnit]
        let skippedSourceChecks = report.skipped.filter { sourceChecks.contains($0.check) }
        #expect(Set(skippedSourceChecks.map(\.check)) == Set(sourceChecks))
        #expect(skippedSourceChecks.allSatisfy { $0.reason == PreflightChecker.noPackagesCatalog && $0.tags.isEmpty })
        #expect(report.text.contains("source-over-used, ingredient-unit, date-before-source]: no packages catalog"), "\(report.text)")
    }

    // MARK: source-not-in-facility

    @Test func onFilesASourceTheyLackIsNotCheckedAndNamed() {
        let report = Self.one(Take(source: Self.source(999), quantity: 10, item: "Blue Dream Buds", category: "Buds"))
        #expect(report.decision == .accepted, "\(report.text)")
        let skip = Self.skipped(report, .sourceNotInFacility)
        #expect(skip?.reason == PreflightChecker.filesAreNotMetrc)
        #expect(skip?.tags == [Self.source(999)])
        #expect(report.catalogMisses.isEmpty)
    }

    @Test func onMetrcASourceItLacksIsAnErrorInMetrcsWordsAndLookedUpFirst() throws {
        let report = Self.one(Take(source: Self.source(999), quantity: 10, item: "Blue Dream Buds", category: "Buds"), metrc: true)
        #expect(report.decision == .rejected)
        // Listed for a look-up although the manifest gave every category.
        #expect(report.catalogMisses.packages == [Self.source(999)])
        let finding = try #require(report.packages.first?.checks.first, "\(report.text)")
        #expect(finding.check == .sourceNotInFacility)
        #expect(finding.message.contains("Package \(Self.source(999)) does not exist in the current Facility."))
        #expect(finding.evidence == Evidence(field: "Ingredients[0].Package", value: Self.source(999), line: 3, origin: .metrc))
        #expect(report.errors.contains { $0.message.contains("Packages[0].Ingredients[0].Package (line 3): [source-not-in-facility]") })
        #expect(Self.skipped(report, .sourceNotInFacility) == nil)
    }

    @Test func onMetrcAKnownSourceAmongUnknownOnesIsNotLookedUp() {
        let report = Self.check(Self.manifest([
            (Self.newTag(1), [Take(source: Self.source(501), quantity: 10), Take(source: Self.source(999), quantity: 1, category: "Buds")]),
        ]), metrc: true)
        #expect(report.catalogMisses.packages == [Self.source(999)])
    }

    @Test func setToWarningOrOffAPackageWithItsCategoriesIsEvaluated() {
        let take = Take(source: Self.source(999), quantity: 10, item: "Blue Dream Buds", category: "Buds")
        let warned = Self.one(take, metrc: true, levels: [.sourceNotInFacility: .warning])
        #expect(warned.decision == .accepted, "\(warned.text)")
        #expect(warned.packages.first?.status == .ok)
        #expect(warned.packages.first?.checks.map(\.severity) == [.warning])
        let off = Self.one(take, metrc: true, levels: [.sourceNotInFacility: .off])
        #expect(off.decision == .accepted, "\(off.text)")
        #expect(off.packages.first?.checks.isEmpty == true)
        #expect(off.catalogMisses.packages == [Self.source(999)])
    }

    @Test func setToOffAnUnknownSourceWhoseCategoryNoOneKnowsStillStopsThePackage() {
        let report = Self.one(Take(source: Self.source(999), quantity: 10), metrc: true, levels: [.sourceNotInFacility: .off])
        #expect(report.decision == .rejected)
        #expect(report.packages.first?.status == .invalid)
        #expect(report.errors.contains { $0.message.contains("is not in the facility's Metrc catalog") })
        #expect(report.catalogMisses.packages == [Self.source(999)])
    }

    // MARK: source-inactive, source-on-hold, source-lab-failed

    @Test func aFinishedSourceIsAnErrorNamingTheDate() throws {
        let report = Self.one(Take(source: Self.source(541), quantity: 1))
        #expect(report.decision == .rejected)
        let finding = try #require(report.packages.first?.checks.first)
        #expect(finding.check == .sourceInactive)
        #expect(finding.message.contains("finished since 2025-03-01 (FinishedDate in the packages file)"))
        #expect(finding.evidence.field == "Ingredients[0].Package")
    }

    @Test func anEmptyFinishedSourceIsInactiveNotAlsoOverUsedUnlessInactiveIsOff() {
        let report = Self.one(Take(source: Self.source(541), quantity: 5))
        #expect(Self.failed(report) == [Self.newTag(1): [.sourceInactive]])
        let off = Self.one(Take(source: Self.source(541), quantity: 5), levels: [.sourceInactive: .off])
        #expect(Self.failed(off) == [Self.newTag(1): [.sourceOverUsed]])
    }

    @Test func anArchivedSourceIsAnErrorNamingTheDate() throws {
        let report = Self.one(Take(source: Self.source(551), quantity: 1))
        let finding = try #require(report.packages.first?.checks.first)
        #expect(finding.check == .sourceInactive)
        #expect(finding.message.contains("archived since 2025-03-05 (ArchivedDate"))
    }

    @Test func aSourceOnHoldIsAnError() throws {
        let report = Self.one(Take(source: Self.source(531), quantity: 1))
        #expect(report.decision == .rejected)
        #expect(Self.failed(report) == [Self.newTag(1): [.sourceOnHold]])
        #expect(report.packages.first?.checks.first?.message.contains("is on hold (IsOnHold") == true)
    }

    @Test func aSourceThatFailedItsTestsIsAWarningByDefault() throws {
        let report = Self.one(Take(source: Self.source(561), quantity: 1))
        #expect(report.decision == .accepted, "\(report.text)")
        let finding = try #require(report.packages.first?.checks.first)
        #expect(finding.check == .sourceLabFailed && finding.severity == .warning)
        #expect(finding.message.contains("LabTestingState RETESTFAILED"))
        #expect(finding.fix.contains("remediation, extraction"))
        let strict = Self.one(Take(source: Self.source(561), quantity: 1), levels: [.sourceLabFailed: .error])
        #expect(strict.decision == .rejected)
    }

    @Test func aSourceWhoseStateTheCatalogDoesNotGiveIsSkippedForThatTag() {
        let report = Self.one(Take(source: Self.source(562), quantity: 1))
        #expect(report.decision == .accepted, "\(report.text)")
        for check in [CheckID.sourceInactive, .sourceOnHold, .sourceLabFailed] {
            #expect(Self.skipped(report, check)?.tags == [Self.source(562)], "\(check)")
        }
        #expect(Self.skipped(report, .sourceOverUsed) == nil)
    }

    @Test func aSourceTakenTwiceByOnePackageIsReportedOnce() {
        let report = Self.check(Self.manifest([(Self.newTag(1), [Take(source: Self.source(531), quantity: 1), Take(source: Self.source(531), quantity: 1)])]))
        #expect(Self.failed(report) == [Self.newTag(1): [.sourceOnHold]])
    }

    // MARK: source-over-used and unit conversion

    @Test func sixteenOuncesHold453Point6GramsButNot454() throws {
        let within = Self.one(Take(source: Self.source(511), quantity: 453.6))
        #expect(within.decision == .accepted, "\(within.text)")
        let over = Self.one(Take(source: Self.source(511), quantity: 454))
        #expect(over.decision == .rejected)
        let finding = try #require(over.packages.first?.checks.first, "\(over.text)")
        #expect(finding.check == .sourceOverUsed)
        #expect(finding.message.contains("holds 16 Ounces (packages file)"))
        #expect(finding.message.contains("454 Grams (16.014 Ounces) for package \(Self.newTag(1)) (line 3)"))
        #expect(finding.fix.contains("take 0.014 Ounces (0.408 Grams) less from \(Self.source(511))"))
        #expect(finding.evidence == Evidence(field: "Ingredients[0].Quantity", value: "454 Grams", line: 3))
        #expect(over.errors.contains { $0.message.contains("Packages[0].Ingredients[0].Quantity (line 3): [source-over-used]") })
    }

    @Test func oneLiterHolds1000MillilitersButNot1001() throws {
        let within = Self.one(Take(source: Self.source(521), quantity: 1000, unit: "Milliliters"),
                              item: "Blue Dream Tincture", unit: "Milliliters")
        #expect(within.decision == .accepted, "\(within.text)")
        let over = Self.one(Take(source: Self.source(521), quantity: 1001, unit: "Milliliters"),
                            item: "Blue Dream Tincture", unit: "Milliliters")
        let finding = try #require(over.packages.first?.checks.first, "\(over.text)")
        #expect(finding.check == .sourceOverUsed)
        #expect(finding.message.contains("1001 Milliliters (1.001 Liters)"))
        #expect(finding.message.contains("0.001 Liters (1 Milliliters) more than it holds"))
    }

    @Test func onePoundHoldsSixteenOuncesExactlyAndUnitNamesMatchAnyCaseAndSpace() {
        let report = Self.one(Take(source: Self.source(512), quantity: 16, unit: " ounces "))
        #expect(report.decision == .accepted, "\(report.text)")
        #expect(MetrcUnit.convert(1, from: "Kilograms", to: "Grams") == 1000)
        #expect(MetrcUnit.convert(1, from: "Fluid Ounces", to: "Milliliters") == 29.5735295625)
    }

    @Test func threePackagesEachWithinButOverTogetherAllCarryTheSum() {
        let three = Self.check(Self.manifest((1...3).map { (Self.newTag($0), [Take(source: Self.source(501), quantity: 500)]) }))
        #expect(three.decision == .rejected)
        #expect(Self.failed(three) == [Self.newTag(1): [.sourceOverUsed], Self.newTag(2): [.sourceOverUsed], Self.newTag(3): [.sourceOverUsed]])
        for package in three.packages {
            let message = package.checks.first?.message ?? ""
            #expect(message.contains("holds 1360.8 Grams (packages file); this manifest takes 1500 Grams from it"), "\(message)")
            #expect(message.contains("500 Grams for package \(Self.newTag(1)) (line 3), 500 Grams for package \(Self.newTag(2)) (line 6) and 500 Grams for package \(Self.newTag(3)) (line 9), 139.2 Grams more"), "\(message)")
        }
        let two = Self.check(Self.manifest((1...2).map { (Self.newTag($0), [Take(source: Self.source(501), quantity: 500)]) }))
        #expect(two.decision == .accepted, "\(two.text)")
    }

    @Test func overUseOnMetrcNamesWhenTheQuantityWasLastModified() {
        let report = Self.one(Take(source: Self.source(501), quantity: 2000), metrc: true)
        #expect(report.packages.first?.checks.first?.message.contains("(Metrc catalog, last modified 2025-02-25T18:04:31+00:00)") == true, "\(report.text)")
        #expect(report.packages.first?.checks.first?.evidence.origin == .manifest)
    }

    @Test func aSourceTakenTwiceByOnePackageIsSummedAndReportedOnce() {
        let report = Self.check(Self.manifest([(Self.newTag(1), [Take(source: Self.source(501), quantity: 700), Take(source: Self.source(501), quantity: 700)])]))
        #expect(Self.failed(report) == [Self.newTag(1): [.sourceOverUsed]])
        #expect(report.packages.first?.checks.first?.message.contains("takes 1400 Grams") == true)
    }

    @Test func overUseSetToWarningLeavesTheDecisionAndOffSaysNothing() {
        let take = Take(source: Self.source(501), quantity: 2000)
        let warned = Self.one(take, levels: [.sourceOverUsed: .warning])
        #expect(warned.decision == .accepted)
        #expect(warned.packages.first?.status == .ok)
        #expect(warned.packages.first?.checks.map(\.severity) == [.warning])
        let off = Self.one(take, levels: [.sourceOverUsed: .off])
        #expect(off.decision == .accepted)
        #expect(off.packages.first?.checks.isEmpty == true)
        #expect(!off.skipped.contains { $0.check == .sourceOverUsed })
    }

    @Test func aSourceWithoutQuantityIsNotCheckedForOverUse() {
        let report = Self.one(Take(source: Self.source(592), quantity: 99999))
        #expect(report.decision == .accepted, "\(report.text)")
        #expect(Self.skipped(report, .sourceOverUsed)?.tags == [Self.source(592)])
        #expect(Self.skipped(report, .ingredientUnit) == nil)
    }

    // MARK: ingredient-unit

    @Test func eachFromAGramsPackageIsAnErrorAndLeftOutOfTheSum() throws {
        let report = Self.check(Self.manifest([(Self.newTag(1), [Take(source: Self.source(501), quantity: 2000, unit: "Each"),
                                                                  Take(source: Self.source(501), quantity: 500)])]))
        #expect(report.decision == .rejected)
        #expect(Self.failed(report) == [Self.newTag(1): [.ingredientUnit]])
        let finding = try #require(report.packages.first?.checks.first)
        #expect(finding.message.contains("takes 2000 Each from \(Self.source(501)), which is counted in Grams (WeightBased, packages file)"))
        #expect(finding.fix == "give the quantity taken from \(Self.source(501)) in Milligrams, Grams, Kilograms, Ounces or Pounds.")
        #expect(finding.evidence == Evidence(field: "Ingredients[0].UnitOfMeasure", value: "Each", line: 3))
        #expect(report.errors.contains { $0.message.contains("Packages[0].Ingredients[0].UnitOfMeasure (line 3): [ingredient-unit]") })
    }

    @Test func aUnitThatIsNotMetrcsLeavesBothUnitChecksUncheckedForThatSource() {
        let report = Self.one(Take(source: Self.source(501), quantity: 99999, unit: "gm"))
        #expect(report.decision == .accepted, "\(report.text)")
        #expect(Self.failed(report).isEmpty)
        for check in [CheckID.ingredientUnit, .sourceOverUsed] {
            let skip = Self.skipped(report, check)
            #expect(skip?.tags == [Self.source(501)], "\(check)")
            #expect(skip?.reason.hasPrefix("unit \"gm\" is not one of Metrc's unit names") == true, "\(check)")
        }
        let sourceUnit = Self.one(Take(source: Self.source(591), quantity: 1))
        #expect(Self.skipped(sourceUnit, .ingredientUnit)?.reason.hasPrefix("unit \"gm\"") == true)
    }
}
