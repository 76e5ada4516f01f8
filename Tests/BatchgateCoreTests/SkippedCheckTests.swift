import Testing
@testable import BatchgateCore

/// How the checks that could not run are reported: a source whose record gives only its item and
/// category is said once for every check that reads a record, and the text report puts checks
/// skipped for one reason and the same tags on one line, while the JSON keeps one entry a check.
@Suite("Skipped checks")
struct SkippedCheckTests {
    static let bare = "1A4FF0100000022000000801"
    static let stocked = "1A4FF0100000022000000802"

    static func report() -> ManifestReport {
        let catalog = Catalog(
            items: [.init(name: "Blue Dream Buds", category: "Buds", quantityType: .weightBased)],
            packages: [
                Catalog.Package(tag: bare, item: "Blue Dream Buds", category: "Buds"),
                // Stock but no state: only the state checks are skipped for it, each for its field.
                Catalog.Package(tag: stocked, item: "Blue Dream Buds", category: "Buds", quantity: 100,
                                unitOfMeasure: "Grams", packagedDate: "2025-01-01"),
            ])
        var checker = ManifestChecker(catalog: catalog)
        checker.today = "2026-12-05"
        let manifest = """
            [{"Tag": "1A4FF0300000022000008001", "Item": "Blue Dream Buds", "Quantity": 10, "UnitOfMeasure": "Grams",
              "ActualDate": "2025-06-02", "Ingredients": [
                {"Package": "\(bare)", "Quantity": 5, "UnitOfMeasure": "Grams"},
                {"Package": "\(stocked)", "Quantity": 5, "UnitOfMeasure": "Grams"}]}]
            """
        return checker.check(fileName: "m.json", bytes: Array(manifest.utf8))
    }

    @Test func aRecordOfOnlyItemAndCategoryIsOneReasonForEveryCheckThatReadsARecord() {
        let report = Self.report()
        #expect(report.decision == .accepted, "\(report.text)")
        let forBare = report.skipped.filter { $0.tags.contains(Self.bare) }
        #expect(Set(forBare.map(\.check)) == [.sourceInactive, .sourceOnHold, .sourceLabFailed, .ingredientUnit,
                                              .sourceOverUsed, .dateBeforeSource])
        #expect(forBare.allSatisfy { $0.reason == PreflightChecker.Outcome.bareRecord && $0.tags == [Self.bare] })
        let forStocked = report.skipped.filter { $0.tags.contains(Self.stocked) }
        #expect(Set(forStocked.map(\.check)) == [.sourceInactive, .sourceOnHold, .sourceLabFailed])
        #expect(forStocked.allSatisfy { $0.reason != PreflightChecker.Outcome.bareRecord })
    }

    @Test func theTextReportSaysOneReasonOnceAndTheJSONEveryCheck() throws {
        let report = Self.report()
        let lines = report.text.split(separator: "\n").filter { $0.contains("not checked") }
        #expect(lines.filter { $0.contains(Self.bare) }.map(String.init) == [
            "  not checked [source-inactive, source-on-hold, source-lab-failed, ingredient-unit, source-over-used, date-before-source] (\(Self.bare)): \(PreflightChecker.Outcome.bareRecord)",
        ])
        #expect(lines.filter { $0.contains(Self.stocked) }.count == 3, "\(report.text)")
        let json = try JSONParser.parse(report.jsonLine()[...])
        guard case .object(let members) = json.value, let skipped = members.first(where: { $0.key == "skipped" }),
              case .array(let entries) = skipped.value else {
            Issue.record("no skipped array in \(String(decoding: report.jsonLine(), as: UTF8.self))")
            return
        }
        #expect(entries.count == report.skipped.count)
    }

    /// `batchgate check --config` reads Metrc's cache without asking Metrc: its records are named
    /// as Metrc's, and a source it lacks is not called missing from the facility, since the cache
    /// may predate it.
    @Test func metrcsCacheReadOfflineIsNamedAsMetrcsAndLooksNothingUp() {
        let catalog = Catalog(
            items: [.init(name: "Blue Dream Buds", category: "Buds", quantityType: .weightBased)],
            packages: [Catalog.Package(tag: Self.stocked, item: "Blue Dream Buds", category: "Buds", quantity: 100,
                                       unitOfMeasure: "Grams", packagedDate: "2025-01-01", isOnHold: false,
                                       isFinished: false, labTestingState: "TestPassed",
                                       lastModified: "2025-02-25T18:04:31+00:00")])
        var checker = ManifestChecker(catalog: catalog)
        checker.catalogIsMetrc = true
        let manifest = """
            [{"Tag": "1A4FF0300000022000008001", "Item": "Blue Dream Buds", "Quantity": 10, "UnitOfMeasure": "Grams",
              "Ingredients": [
                {"Package": "\(Self.stocked)", "Quantity": 150, "UnitOfMeasure": "Grams"},
                {"Package": "1A4FF0100000022000000999", "Item": "Blue Dream Buds", "ItemCategory": "Buds", "Quantity": 5, "UnitOfMeasure": "Grams"}]}]
            """
        let report = checker.check(fileName: "m.json", bytes: Array(manifest.utf8))
        #expect(report.decision == .rejected, "\(report.text)")
        let overUse = report.packages.first?.checks.first { $0.check == .sourceOverUsed }
        #expect(overUse?.message.contains("(Metrc catalog, last modified 2025-02-25T18:04:31+00:00)") == true, "\(report.text)")
        #expect(overUse?.evidence.origin == .manifest)
        #expect(!report.packages.flatMap(\.checks).contains { $0.check == .sourceNotInFacility })
        #expect(report.skipped.contains { $0.check == .sourceNotInFacility && $0.reason == PreflightChecker.cacheNotAsked })
        #expect(report.catalogMisses.isEmpty, "nothing is looked up offline")
    }
}
