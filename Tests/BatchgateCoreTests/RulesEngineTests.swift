import Testing
@testable import BatchgateCore

@Suite("Rules engine")
struct RulesEngineTests {
    func verdict(_ json: String, settings: RuleSettings = RuleSettings()) throws -> PackageVerdict {
        let report = check(json, settings: settings)
        #expect(report.errors == [])
        return try #require(report.packages.first)
    }

    @Test func categoryChangeNamesTagsAndCategories() throws {
        let package = try verdict(packageJSON())
        #expect(package.rules == [.categoryChange, .formChange])
        #expect(package.status == .needsBatch)
        #expect(package.findings[0].message ==
            "Ingredient \(tag(101)) is Buds and the new package is Concentrate, so the product changes category.")
        #expect(package.findings[1].message ==
            "Ingredient \(tag(101)) is plant material (Buds) and the new package is a concentrate (Concentrate), so the product changes form.")
        #expect(package.fix?.contains("tick Production Batch") == true)
    }

    @Test func categoriesCompareTrimmedAndCaseInsensitively() throws {
        let package = try verdict(packageJSON(item: "Buds B", category: " buds ", ingredients: [(tag(101), "Buds A", "BUDS")]))
        #expect(package.rules == [])
        #expect(package.status == .ok)
    }

    @Test func multipleCategoriesListsEachCategory() throws {
        let package = try verdict(packageJSON(
            item: "Infused Pre-Roll", category: "Infused Pre-Roll",
            ingredients: [(tag(101), "Buds A", "Buds"), (tag(102), "Resin", "Concentrate"), (tag(103), "Buds B", "Buds")]))
        #expect(package.rules == [.categoryChange, .multipleCategories, .formChange])
        #expect(package.findings[1].message ==
            "The ingredients combine 2 categories, Buds (\(tag(101)), \(tag(103))) and Concentrate (\(tag(102))), so multiple categories are combined.")
        #expect(package.findings[0].message.hasPrefix("Ingredients \(tag(101)) and \(tag(103)) are Buds, ingredient \(tag(102)) is Concentrate and the new package is Infused Pre-Roll"))
    }

    @Test func multipleCategoriesAppliesEvenWhenOneMatchesThePackage() throws {
        let package = try verdict(packageJSON(
            item: "Buds Mix", category: "Buds", ingredients: [(tag(101), "Buds A", "Buds"), (tag(102), "Kief", "Kief")]))
        #expect(package.rules == [.categoryChange, .multipleCategories, .formChange])
    }

    @Test(arguments: [Additive.Kind.additive, .lipid, .flavoring, .terpene])
    func additivesLipidsFlavoringsAndTerpenesRequireABatch(kind: Additive.Kind) throws {
        let package = try verdict(packageJSON(
            category: "Buds", extra: "\"Additives\": [{\"Name\": \"Limonene\", \"Kind\": \"\(kind.rawValue)\"}]"))
        #expect(package.rules == [.additive])
        let shown = kind == .additive ? "Limonene" : "Limonene (\(kind.rawValue))"
        #expect(package.findings[0].message ==
            "\(shown) is added to package \(tag(1)) (Buds), so a non-cannabis ingredient is added.")
    }

    /// The bulletin: "any time non-cannabis ingredients are added", so kind `other` counts too
    /// (before issue 12 it did not).
    @Test func anOtherKindIsAnAdditiveToo() throws {
        let package = try verdict(packageJSON(
            category: "Buds", extra: "\"Additives\": [{\"Name\": \"Paper cone\", \"Kind\": \"other\"}]"))
        #expect(package.rules == [.additive])
        #expect(package.status == .needsBatch)
        #expect(package.findings[0].evidence == Evidence(field: "Additives", value: "Paper cone", line: package.position.line))
    }

    @Test func processingStepChangesFormUnlessListed() throws {
        let extraction = try verdict(packageJSON(category: "Buds", extra: "\"ProcessingStep\": \"Extraction\""))
        #expect(extraction.rules == [.formChange])
        #expect(extraction.findings[0].message ==
            "Package \(tag(1)) (Buds) is made from Buds (\(tag(101))) by Extraction, a processing step that changes the product's form.")
        for step in ["Repackage", " split ", "COMBINE", "Relabel", ""] {
            let plain = try verdict(packageJSON(category: "Buds", extra: "\"ProcessingStep\": \"\(step)\""))
            #expect(plain.rules == [], "step \(step)")
        }
        let tuned = try verdict(packageJSON(category: "Buds", extra: "\"ProcessingStep\": \"Trimming\""),
                                settings: RuleSettings(sameFormSteps: ["Repackage", "Trimming"]))
        #expect(tuned.rules == [])
    }

    @Test(arguments: [
        ("Buds", ProductForm.plantMaterial), ("Buds (by strain)", .plantMaterial), ("Shake/Trim (prepackaged)", .plantMaterial),
        ("Kief", .concentrate), ("Concentrate (Each)", .concentrate), ("Extract (weight - each)", .concentrate),
        ("Vape Cartridge (weight - each)", .concentrate), ("Vape Cart", .concentrate),
        ("Pre-Roll Flower", .preRoll), ("Pre-Roll Infused", .preRoll), ("Infused Pre-Roll", .preRoll),
        ("Infused Edible", .infused), ("Infused Non-Edible", .infused), ("Infused Liquid", .infused),
        ("Edible (weight - each)", .infused), ("Tincture (volume - each)", .infused),
        ("Topical (weight - each)", .infused), ("Capsule (weight - each)", .infused),
    ])
    func classifiesCategoryForms(category: String, form: ProductForm) {
        #expect(ProductForm.of(category: category) == form)
    }

    @Test func unknownFormsNeverReportAFormChange() throws {
        #expect(ProductForm.of(category: "Combined Category") == nil)
        let package = try verdict(packageJSON(category: "Combined Category"))
        #expect(package.rules == [.categoryChange])
    }

    @Test func sameFormCategoryChangeIsStillACategoryChange() throws {
        let never = RuleSettings(itemChange: .never)
        let package = try verdict(packageJSON(category: "Vape Cart", ingredients: [(tag(101), "Resin", "Concentrate")]),
                                  settings: never)
        #expect(package.rules == [.categoryChange])
        // By default the new item of a concentrate is a form change as well (contract 5, form-change c).
        let byDefault = try verdict(packageJSON(category: "Vape Cart", ingredients: [(tag(101), "Resin", "Concentrate")]))
        #expect(byDefault.rules == [.categoryChange, .formChange])
    }

    @Test func markedBatchIsOkAndSaysSo() throws {
        let package = try verdict(packageJSON(extra: "\"IsProductionBatch\": true, \"ProductionBatchNumber\": \"PB-9\""))
        #expect(package.status == .ok)
        #expect(package.productionBatchRequired)
        #expect(package.messages.last == "Marked as production batch PB-9, as required.")
    }

    @Test func markedWithoutANumberNeedsTheNumber() throws {
        for number in ["null", "\"\"", "\"   \""] {
            let package = try verdict(packageJSON(extra: "\"IsProductionBatch\": true, \"ProductionBatchNumber\": \(number)"))
            #expect(package.status == .needsBatch)
            #expect(package.fix?.contains("batch number is blank") == true)
        }
    }

    @Test func flaggedWithoutANumberNeedsOneEvenWhenNoRuleApplies() throws {
        let package = try verdict(packageJSON(category: "Buds", extra: "\"IsProductionBatch\": true"))
        #expect(package.productionBatchRequired == false)
        #expect(package.status == .needsBatch)
        #expect(package.fix?.contains("untick Production Batch") == true)
    }

    @Test func flaggedButNotRequiredIsOkWithAWarning() throws {
        let package = try verdict(packageJSON(
            category: "Buds", extra: "\"IsProductionBatch\": true, \"ProductionBatchNumber\": \"PB-1\""))
        #expect(package.status == .ok)
        #expect(package.productionBatchRequired == false)
        #expect(package.messages.contains { $0.contains("lab testing starts over") })
    }

    @Test func decisionIsTheWorstPackage() {
        let ok = packageJSON(tag: tag(1), category: "Buds")
        let needs = packageJSON(tag: tag(2))
        let bad = packageJSON(tag: tag(3), extra: "\"Quantity\": 0")
        #expect(check("[\(ok)]").decision == .accepted)
        #expect(check("[\(ok), \(needs)]").decision == .needsBatch)
        #expect(check("[\(ok), \(needs), \(bad)]").decision == .rejected)
        let report = check("[\(ok), \(needs), \(bad)]")
        #expect(report.packages.map(\.status) == [.ok, .needsBatch, .invalid])
    }

    @Test func duplicateTagsRejectTheManifest() {
        let report = check("[\(packageJSON(category: "Buds")),\n\(packageJSON(category: "Buds"))]")
        #expect(report.decision == .rejected)
        #expect(report.errors.map(\.message) == [
            "Packages[1].Tag (line 2): \(tag(1)) is also the tag of package 0 (line 1); every new package needs its own tag",
        ])
    }

    @Test func aPackageCannotBeMadeFromItself() {
        let report = check(packageJSON(ingredients: [(tag(1), "Buds", "Buds")]))
        #expect(report.decision == .rejected)
        #expect(report.errors.first?.field == "Package")
    }

    @Test func emptyManifestIsRejected() {
        let report = check("[]")
        #expect(report.decision == .rejected)
        #expect(report.errors.map(\.message) == ["the manifest holds no package"])
    }
}
