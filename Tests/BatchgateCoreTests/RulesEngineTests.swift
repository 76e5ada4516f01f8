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
    /// (it once did not).
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
        // By default the new item of a concentrate is a form change as well (docs/rules.md, form change 3).
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

// MARK: - Evidence, guards and settings (docs/rules.md)

/// Every finding names the evidence that decided it, and its sentence quotes that evidence.
private func expectQuoted(_ findings: [RuleFinding], sourceLocation: SourceLocation = #_sourceLocation) {
    for finding in findings {
        #expect(finding.message.contains(finding.evidence.value),
                "\(finding.rule.rawValue): \(finding.message) does not quote \(finding.evidence.value)",
                sourceLocation: sourceLocation)
    }
}

/// The one package of a JSON manifest that must read without errors.
private func judged(_ json: String, catalog: Catalog = Catalog(), settings: RuleSettings = RuleSettings(),
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> PackageVerdict {
    let report = check(json, catalog: catalog, settings: settings)
    #expect(report.errors == [], sourceLocation: sourceLocation)
    let package = try #require(report.packages.first, sourceLocation: sourceLocation)
    expectQuoted(package.findings, sourceLocation: sourceLocation)
    return package
}

/// The packages of a CSV manifest that must read without errors.
private func judgedCSV(_ csv: String, catalog: Catalog = Catalog(),
                       sourceLocation: SourceLocation = #_sourceLocation) -> [PackageVerdict] {
    let report = check(csv, name: "m.csv", catalog: catalog)
    #expect(report.errors == [], sourceLocation: sourceLocation)
    for package in report.packages { expectQuoted(package.findings, sourceLocation: sourceLocation) }
    return report.packages
}

/// Bulk buds repackaged into a new bud item: plain repackaging, no rule applies.
private func budsRepack(item: String = "Blue Dream 3.5g", source: String? = "Blue Dream Bulk Buds", extra: String = "") -> String {
    packageJSON(item: item, category: "Buds", ingredients: [(tag(101), source, "Buds")], extra: extra)
}

/// A concentrate made from one concentrate ingredient.
private func concentrate(item: String? = "Blue Dream Disty 1g", category: String? = "Concentrate",
                         source: String? = "Blue Dream Distillate", sourceCategory: String = "Concentrate",
                         extra: String = "") -> String {
    packageJSON(item: item, category: category, ingredients: [(tag(101), source, sourceCategory)], extra: extra)
}

extension RulesEngineTests {
    // MARK: category-change and multiple-categories

    @Test func categoryChangeEvidenceIsTheIngredientsCategoryAndWhereItCameFrom() throws {
        // The package on line 3 of the file: evidence carries the line.
        let inFile = try judged("[\n\n" + packageJSON(item: "Live Resin", category: "Concentrate",
                                                     ingredients: [(tag(101), "Blue Dream Buds", "Buds")]) + "\n]")
        #expect(inFile.rules.first == .categoryChange)
        #expect(inFile.findings.first?.evidence == Evidence(field: "Ingredients[0].ItemCategory", value: "Buds", line: 3, origin: .manifest))

        // The category from the packages file (by tag) and from the items file (by item name).
        let packages = Catalog(packages: [Catalog.Package(tag: tag(101), item: "Blue Dream Buds", category: "Buds")])
        let byTag = try judged(packageJSON(ingredients: [(tag(101), nil, nil)]), catalog: packages)
        #expect(byTag.findings.first?.evidence == Evidence(field: "Ingredients[0].ItemCategory", value: "Buds", line: 1, origin: .packagesFile))
        let items = Catalog(items: [Catalog.Item(name: "Blue Dream Buds", category: "Buds")])
        let byName = try judged(packageJSON(ingredients: [(tag(101), "Blue Dream Buds", nil)]), catalog: items)
        #expect(byName.findings.first?.evidence == Evidence(field: "Ingredients[0].ItemCategory", value: "Buds", line: 1, origin: .itemsFile))
        #expect(byName.findings.first?.message.contains("new package is Concentrate") == true)
    }

    @Test func noCategoryChangeWithinOneCategory() throws {
        let package = try judged(budsRepack())
        #expect(package.rules == [])
        #expect(package.status == .ok)
        #expect(package.warnings == [])
    }

    @Test func multipleCategoriesEvidenceIsTheSecondCategory() throws {
        let package = try judged(packageJSON(
            item: "Infused Pre-Roll", category: "Infused Pre-Roll",
            ingredients: [(tag(101), "Buds A", "Buds"), (tag(102), "Buds B", "BUDS"), (tag(103), "Resin", "Concentrate")]))
        let finding = try #require(package.findings.first { $0.rule == .multipleCategories })
        #expect(finding.evidence == Evidence(field: "Ingredients[2].ItemCategory", value: "Concentrate", line: 1))
        // The guard: ingredients of one category (in any case) are not multiple categories.
        let one = try judged(packageJSON(
            item: "Infused Pre-Roll", category: "Infused Pre-Roll",
            ingredients: [(tag(101), "Buds A", "Buds"), (tag(102), "Buds B", " buds ")]))
        #expect(!one.rules.contains(.multipleCategories))
        #expect(one.rules.contains(.categoryChange))
    }

    // MARK: additive (a): the Additives list

    @Test(arguments: Additive.Kind.allCases)
    func everyKindOfListedAdditiveRequiresABatch(kind: Additive.Kind) throws {
        let package = try judged(budsRepack(extra: "\"Additives\": [{\"Name\": \"Limonene\", \"Kind\": \"\(kind.rawValue)\"}]"))
        #expect(package.rules == [.additive])
        #expect(package.status == .needsBatch)
        #expect(package.findings.first?.evidence == Evidence(field: "Additives", value: "Limonene", line: 1))
        #expect(package.findings.first?.message.contains(kind == .additive ? "Limonene is added" : "Limonene (\(kind.rawValue)) is added") == true)
    }

    @Test func severalAdditivesAreAllNamedAndTheFirstIsTheEvidence() throws {
        let package = try judged(budsRepack(extra: "\"Additives\": [\"Sugar\", {\"Name\": \"Paper cone\", \"Kind\": \"other\"}]"))
        #expect(package.findings.first?.message ==
            "Sugar and Paper cone (other) are added to package \(tag(1)) (Buds), so a non-cannabis ingredient is added.")
        #expect(package.findings.first?.evidence.value == "Sugar")
    }

    // MARK: additive (b): words in the note and the item name

    @Test func anAdditiveWordInTheNoteRequiresABatch() throws {
        let package = try judged(budsRepack(extra: "\"Note\": \"Repack; sprayed w/ Terpenes (2%)\""))
        #expect(package.rules == [.additive])
        #expect(package.findings.first?.evidence == Evidence(field: "Note", value: "Terpenes", line: 1))
        #expect(package.findings.first?.message.hasPrefix("The note says \"Terpenes\" and no ingredient's item does") == true)
        #expect(package.findings.first?.message.contains("\"Additives\": []") == true, "the message says how to state that nothing was added")
    }

    @Test func anAdditiveWordInTheItemNameRequiresABatch() throws {
        let package = try judged(budsRepack(item: "Strawberry Flavored Buds 3.5g"))
        #expect(package.rules == [.additive])
        #expect(package.findings.first?.evidence == Evidence(field: "Item", value: "Flavored", line: 1))
        #expect(package.findings.first?.message.hasPrefix("Item \"Strawberry Flavored Buds 3.5g\" says \"Flavored\"") == true)
    }

    @Test func theNoteIsReadBeforeTheItemName() throws {
        let package = try judged(budsRepack(item: "Strawberry Flavored Buds", extra: "\"Note\": \"+ terps\""))
        #expect(package.findings.map(\.evidence.field) == ["Note"])
    }

    @Test(arguments: [
        "terpene", "Terpenes", "terp", "terps", "flavor", "flavored", "flavour", "flavouring", "MCT", "lipid",
        "coconut oil", "carrier oil", "olive oil", "glycerin", "glycerine", "propylene glycol", "sugar", "sweetener",
        "sweeteners",
    ])
    func everyDefaultWordCounts(word: String) throws {
        let package = try judged(budsRepack(extra: "\"Note\": \"with \(word) added\""))
        #expect(package.rules == [.additive], "\(word)")
        #expect(package.findings.first?.evidence.field == "Note")
        #expect(package.findings.first?.evidence.value.lowercased() == word.lowercased())
    }

    @Test func noAdditiveWordNoAdditive() throws {
        for note in ["Repack of bulk", "No additives", "non-flavored", "Unflavored", "Sugarcane field", "Interpreted"] {
            let package = try judged(budsRepack(extra: "\"Note\": \"\(note)\""))
            #expect(package.rules == [], "\(note)")
        }
        for item in ["Cookies and Cream 3.5g", "Lemon Cherry Gelato 3.5g", "Liquid Diamonds"] {
            #expect(try judged(budsRepack(item: item)).rules == [], "\(item)")
        }
    }

    @Test func theWordInAnIngredientsItemNameSuppressesIt() throws {
        // A strain name carried over from the ingredient is no additive.
        #expect(try judged(budsRepack(item: "Sugar Cane 3.5g", source: "Sugar Cane Bulk")).rules == [])
        #expect(try judged(budsRepack(item: "Terp Town 3.5g", source: "TERP TOWN bulk",
                                      extra: "\"Note\": \"Repack of Terp Town\"")).rules == [])
        // The ingredient's item from the packages file, by tag, suppresses it as well...
        let catalog = Catalog(packages: [Catalog.Package(tag: tag(101), item: "Sugar Cane Bulk", category: "Buds")])
        #expect(try judged(budsRepack(item: "Sugar Cane 3.5g", source: nil), catalog: catalog).rules == [])
        // ...but an ingredient whose item is unknown cannot.
        let unknown = try judged(budsRepack(item: "Sugar Cane 3.5g", source: nil))
        #expect(unknown.rules == [.additive])
        #expect(unknown.findings.first?.evidence == Evidence(field: "Item", value: "Sugar", line: 1))
        // Only the same word is suppressed: "terp" in the strain does not hide "terpenes" in the note.
        let other = try judged(budsRepack(item: "Terp Town 3.5g", source: "Terp Town Bulk", extra: "\"Note\": \"added terpenes\""))
        #expect(other.rules == [.additive])
        #expect(other.findings.first?.evidence.value == "terpenes")
    }

    @Test func anEmptyAdditivesListTurnsTheWordsOff() throws {
        let stated = try judged(budsRepack(item: "Strawberry Flavored Buds", extra: "\"Note\": \"added terps\", \"Additives\": []"))
        #expect(stated.rules == [])
        #expect(stated.status == .ok)
        // Null, like an absent field, says nothing.
        let null = try judged(budsRepack(extra: "\"Note\": \"added terps\", \"Additives\": null"))
        #expect(null.rules == [.additive])
        #expect(null.findings.first?.evidence.field == "Note")
    }

    @Test func anEmptyAdditivesCellTurnsTheWordsOffAndAnAbsentColumnDoesNot() {
        let withColumn = judgedCSV("""
            Tag,Item,Category,Qty,Unit,Note,Additives,Source Tag,Source Item,Source Category,Source Quantity,Source UoM
            \(tag(1)),Blue Dream 3.5g,Buds,5,Grams,added terps,,\(tag(101)),Blue Dream Bulk,Buds,5,Grams
            \(tag(2)),Blue Dream 3.5g,Buds,5,Grams,,terpene: Limonene,\(tag(102)),Blue Dream Bulk,Buds,5,Grams
            """)
        #expect(withColumn.map(\.rules) == [[], [.additive]])
        #expect(withColumn.last?.findings.first?.evidence == Evidence(field: "Additives", value: "Limonene", line: 3))
        #expect(withColumn.last?.findings.first?.message.contains("Limonene (terpene)") == true)

        let withoutColumn = judgedCSV("""
            Tag,Item,Category,Qty,Unit,Note,Source Tag,Source Item,Source Category,Source Quantity,Source UoM
            \(tag(1)),Blue Dream 3.5g,Buds,5,Grams,added terps,\(tag(101)),Blue Dream Bulk,Buds,5,Grams
            """)
        #expect(withoutColumn.map(\.rules) == [[.additive]])
        #expect(withoutColumn.first?.findings.first?.evidence == Evidence(field: "Note", value: "terps", line: 2))
    }

    @Test func theWordListIsASetting() throws {
        let stevia = RuleSettings(additiveWords: ["stevia", "cane sugar"])
        #expect(try judged(budsRepack(extra: "\"Note\": \"Stevia added\""), settings: stevia).rules == [.additive])
        #expect(try judged(budsRepack(extra: "\"Note\": \"terpenes added\""), settings: stevia).rules == [])
        #expect(try judged(budsRepack(extra: "\"Note\": \"sugar\""), settings: stevia).rules == [])
        #expect(try judged(budsRepack(extra: "\"Note\": \"Cane-Sugar\""), settings: stevia).findings.first?.evidence.value == "Cane-Sugar")
        let none = RuleSettings(additiveWords: [])
        #expect(try judged(budsRepack(extra: "\"Note\": \"terpenes added\""), settings: none).rules == [])
    }

    // MARK: form-change (a) and (b)

    @Test func aStepThatChangesFormIsTheEvidence() throws {
        let package = try judged(budsRepack(extra: "\"ProcessingStep\": \" Extraction \""))
        #expect(package.rules == [.formChange])
        #expect(package.findings.first?.evidence == Evidence(field: "ProcessingStep", value: "Extraction", line: 1))
    }

    @Test func aCategoryOfAnotherFormIsTheEvidence() throws {
        let package = try judged(packageJSON(item: "Live Resin", category: "Concentrate"))
        let finding = try #require(package.findings.first { $0.rule == .formChange })
        #expect(finding.evidence == Evidence(field: "ItemCategory", value: "Concentrate", line: 1, origin: .manifest))
        let catalog = Catalog(items: [Catalog.Item(name: "Live Resin", category: "Concentrate")])
        let fromItems = try judged(packageJSON(item: "Live Resin", category: nil), catalog: catalog)
        #expect(fromItems.findings.first { $0.rule == .formChange }?.evidence.origin == .itemsFile)
    }

    // MARK: form-change (c): a concentrate's new item

    @Test func aConcentrateOfAnotherItemIsAFormChangeByDefault() throws {
        let package = try judged(concentrate())
        #expect(package.rules == [.formChange])
        #expect(package.status == .needsBatch)
        #expect(package.findings.first?.evidence == Evidence(field: "Item", value: "Blue Dream Disty 1g", line: 1))
        #expect(package.findings.first?.message.hasPrefix(
            "Item \"Blue Dream Disty 1g\" (Concentrate) is made from \"Blue Dream Distillate\" (ingredient \(tag(101)))") == true)
        #expect(package.warnings == [])
        // Kief and a vape cart are concentrates too.
        #expect(try judged(concentrate(item: "Kief 1g", category: "Kief", source: "Kief Bulk", sourceCategory: "Kief")).rules == [.formChange])
    }

    @Test func theSameItemOrUseSameItemIsClear() throws {
        #expect(try judged(concentrate(item: "BLUE DREAM DISTILLATE")).rules == [])
        let same = try judged(concentrate(item: nil, category: nil, extra: "\"UseSameItem\": true"))
        #expect(same.rules == [])
        #expect(same.item == "Blue Dream Distillate")
        #expect(same.category == "Concentrate")
        #expect(same.warnings == [])
        // Lots of one item combined keep it.
        let lots = try judged(packageJSON(item: "Blue Dream Distillate", category: "Concentrate", ingredients: [
            (tag(101), "Blue Dream Distillate", "Concentrate"), (tag(102), "blue dream distillate", "Concentrate")]))
        #expect(lots.rules == [])
    }

    /// Beyond the rule's words ("differs from the item of every ingredient"), on purpose: a
    /// blend of two concentrate items kept under one of them is a new concentrate (the red team's
    /// distillate plus live terpenes, sold as the distillate).
    @Test func aBlendOfConcentrateItemsIsAFormChange() throws {
        let blend = try judged(packageJSON(item: "Blue Dream Distillate", category: "Concentrate", ingredients: [
            (tag(101), "Blue Dream Distillate", "Concentrate"), (tag(102), "Blue Dream Live Terpenes", "Concentrate")]))
        #expect(blend.rules == [.formChange])
        #expect(blend.findings.first?.message.contains("blends") == true)
        #expect(blend.findings.first?.evidence == Evidence(field: "Item", value: "Blue Dream Distillate", line: 1))
    }

    @Test func aSameFormStepDoesNotLiftTheConcentratesItemChange() throws {
        for step in ["Repackage", "Relabel", "Split", "Combine"] {
            let package = try judged(concentrate(extra: "\"ProcessingStep\": \"\(step)\""))
            #expect(package.rules == [.formChange], "\(step)")
            #expect(package.findings.first?.evidence.field == "Item")
        }
    }

    @Test func anUnknownIngredientItemIsAWarningNotAFinding() throws {
        let package = try judged(concentrate(source: nil))
        #expect(package.rules == [])
        #expect(package.status == .ok)
        #expect(package.productionBatchRequired == false)
        let warning = try #require(package.warnings.first)
        #expect(package.warnings.count == 1)
        #expect(warning.evidence == Evidence(field: "Ingredients[0].Package", value: tag(101), line: 1))
        #expect(warning.message.contains(tag(101)))
        #expect(warning.message.contains("packages file"))
        #expect(package.messages.contains { $0.hasPrefix("Warning: The item of ingredient \(tag(101)) has no known name") })
    }

    @Test func theUnknownItemWarningOnlyWhenNothingElseApplies() throws {
        let additive = try judged(concentrate(source: nil, extra: "\"Note\": \"+ terps\""))
        #expect(additive.rules == [.additive])
        #expect(additive.warnings == [])
        let changed = try judged(concentrate(category: "Vape Cart", source: nil))
        #expect(changed.rules == [.categoryChange])
        #expect(changed.warnings == [])
        // Not a concentrate: nothing to check, nothing to warn about.
        #expect(try judged(budsRepack(source: nil)).warnings == [])
    }

    @Test func theIngredientsItemIsLookedUpByTagEvenWhenItsCategoryIsGiven() throws {
        let catalog = Catalog(packages: [Catalog.Package(tag: tag(101), item: "Blue Dream Distillate", category: "Concentrate")])
        let package = try judged(concentrate(source: nil), catalog: catalog)
        #expect(package.rules == [.formChange])
        #expect(package.findings.first?.message.contains("\"Blue Dream Distillate\"") == true)
        #expect(package.warnings == [])
        let same = try judged(concentrate(item: "Blue Dream Distillate", source: nil), catalog: catalog)
        #expect(same.rules == [])
        #expect(same.warnings == [])
        // An Item in the manifest is read before the packages file.
        let named = try judged(concentrate(item: "Blue Dream Disty 1g", source: "Blue Dream Disty 1g"), catalog: catalog)
        #expect(named.rules == [])
    }

    @Test func itemChangeAlwaysFlagsBudsIntoANewBudItem() throws {
        let always = RuleSettings(itemChange: .always)
        let package = try judged(budsRepack(), settings: always)
        #expect(package.rules == [.formChange])
        #expect(package.findings.first?.evidence == Evidence(field: "Item", value: "Blue Dream 3.5g", line: 1))
        #expect(package.findings.first?.message.contains("rules.itemChange set to always") == true)
        #expect(package.findings.first?.message.contains("\"Blue Dream Bulk Buds\"") == true)
        #expect(try judged(budsRepack(item: "Blue Dream Bulk Buds"), settings: always).rules == [])
        #expect(try judged(packageJSON(item: nil, category: nil, ingredients: [(tag(101), "Blue Dream Bulk Buds", "Buds")],
                                       extra: "\"UseSameItem\": true"), settings: always).rules == [])
        let unknown = try judged(budsRepack(source: nil), settings: always)
        #expect(unknown.rules == [])
        #expect(unknown.warnings.first?.evidence?.value == tag(101))
        // By default the same package is plain repackaging.
        #expect(try judged(budsRepack()).rules == [])
    }

    @Test func itemChangeNeverTurnsTheConcentrateRuleOff() throws {
        let never = RuleSettings(itemChange: .never)
        let package = try judged(concentrate(), settings: never)
        #expect(package.rules == [])
        #expect(package.warnings == [])
        #expect(try judged(concentrate(source: nil), settings: never).warnings == [])
    }

    // MARK: form-change (d): a form the item name states

    @Test func anItemNamingAPreRollMadeFromBudsIsAFormChange() throws {
        let package = try judged(budsRepack(item: "Blue Dream Pre-Roll 1g"))
        #expect(package.rules == [.formChange])
        #expect(package.findings.first?.evidence == Evidence(field: "Item", value: "Pre-Roll", line: 1))
        #expect(package.findings.first?.message.hasPrefix("Item \"Blue Dream Pre-Roll 1g\" says \"Pre-Roll\", a pre-roll, which neither its category (Buds)") == true)
        for (item, said) in [("Blue Dream Prerolls 5pk", "Prerolls"), ("Blue Dream Blunt", "Blunt"), ("Blue Dream Joints 5pk", "Joints"),
                             ("Blue Dream Dogwalker", "Dogwalker"), ("Blue Dream Vape", "Vape"), ("Blue Dream 510 Pod", "Pod"),
                             ("Blue Dream AIO 1g", "AIO")] {
            let named = try judged(budsRepack(item: item))
            #expect(named.rules == [.formChange], "\(item)")
            #expect(named.findings.first?.evidence.value == said)
        }
    }

    /// In a flower category, words for infused products are strain names ("Grape Soda", "Cotton
    /// Candy", "Chocolate Thai"): an edible cannot be filed there, so they are no evidence.
    @Test func infusedWordsInAFlowerCategoryAreStrainNames() throws {
        for item in ["Blue Dream Gummies", "Chocolate Thai 3.5g", "Cotton Candy 3.5g", "Grape Soda 3.5g", "Blue Dream Tincture",
                     "Blue Dream Softgels", "Blue Dream Seltzer", "Blue Dream Balm"] {
            #expect(try judged(budsRepack(item: item)).rules == [], "\(item)")
        }
        // Nor in a concentrate category (the reviewer's "Grape Soda Live Resin").
        let never = RuleSettings(itemChange: .never)
        #expect(try judged(concentrate(item: "Grape Soda Live Resin 1g", source: "Blue Dream Distillate"), settings: never).rules == [])
        // Where they can be a form (a category of no known form), they are evidence.
        let gummies = try judged(packageJSON(item: "Blue Dream Gummies", category: "Combined Category",
                                             ingredients: [(tag(101), "Blue Dream Bulk", "Combined Category")]))
        #expect(gummies.rules == [.formChange])
        #expect(gummies.findings.first?.evidence.value == "Gummies")
    }

    /// And in an infused category, "joint" is a "Joint Relief Balm", not a pre-roll.
    @Test func preRollWordsInAnInfusedCategoryAreNotAForm() throws {
        let balm = try judged(packageJSON(item: "Joint Relief Balm 2oz", category: "Infused Non-Edible",
                                          ingredients: [(tag(101), "Relief Balm Bulk 1:1", "Infused Non-Edible")]))
        #expect(balm.rules == [])
        // Without an infused form beside it, "joint" is read ("Infused Joint" from bulk infused oil).
        let joint = try judged(packageJSON(item: "Blue Dream Infused Joint 1g", category: "Infused Non-Edible",
                                           ingredients: [(tag(101), "Blue Dream Infused Oil", "Infused Non-Edible")]))
        #expect(joint.rules == [.formChange])
    }

    @Test func aFormTheIngredientsItemHasIsClear() throws {
        #expect(try judged(budsRepack(item: "Blue Dream Pre-Roll 5pk", source: "Blue Dream Pre-Roll 1g")).rules == [])
        #expect(try judged(budsRepack(item: "Blue Dream Pre-Rolls", source: "Blue Dream Preroll")).rules == [])
        let same = try judged(packageJSON(item: nil, category: nil, ingredients: [(tag(101), "Blue Dream Pre-Roll 1g", "Buds")],
                                          extra: "\"UseSameItem\": true"))
        #expect(same.rules == [])
        let catalog = Catalog(packages: [Catalog.Package(tag: tag(101), item: "Blue Dream Pre-Roll 1g", category: "Buds")])
        #expect(try judged(budsRepack(item: "Blue Dream Pre-Roll 5pk", source: nil), catalog: catalog).rules == [])
        #expect(try judged(budsRepack(item: "Blue Dream Pre-Roll 5pk", source: nil)).rules == [.formChange])
    }

    @Test func aFormTheCategoryHasIsClear() throws {
        let never = RuleSettings(itemChange: .never)
        #expect(try judged(concentrate(item: "Blue Dream Cart", category: "Vape Cart", source: "Blue Dream 1g", sourceCategory: "Vape Cart"),
                           settings: never).rules == [])
        let inConcentrate = try judged(concentrate(item: "Blue Dream Cart", source: "Blue Dream 1g"), settings: never)
        #expect(inConcentrate.rules == [.formChange])
        #expect(inConcentrate.findings.first?.evidence.value == "Cart")
        #expect(try judged(packageJSON(item: "Pineapple Pre-Roll 5pk", category: "Pre-Roll Flower",
                                       ingredients: [(tag(101), "Pineapple 1g", "Pre-Roll Flower")])).rules == [])
        #expect(try judged(packageJSON(item: "Watermelon Gummies 10pk", category: "Infused Edible",
                                       ingredients: [(tag(101), "Watermelon 100mg Bulk", "Infused Edible")])).rules == [])
        #expect(try judged(packageJSON(item: "Lemon Soda 12oz", category: "Infused Liquid",
                                       ingredients: [(tag(101), "Lemon 10mg", "Infused Liquid")])).rules == [])
        #expect(try judged(packageJSON(item: "Relief Balm", category: "Topical (weight - each)",
                                       ingredients: [(tag(101), "Relief 1:1", "Topical (weight - each)")])).rules == [])
    }

    /// An infused category holds every infused form (states file drinks and tinctures under
    /// "Infused Edible"), once an ingredient is a finished infused form; bulk infused oil made into
    /// softgels or gummies is a change of form.
    @Test func anInfusedCategoryHoldsEveryInfusedFormOfFinishedGoods() throws {
        for (item, source, category) in [("Lemon Seltzer 4pk", "Watermelon Gummies 10pk", "Infused Edible"),
                                         ("Relief Balm 2oz", "Relief Lotion 4oz", "Infused Non-Edible"),
                                         ("CBN Softgels 30ct", "CBN Capsules 10ct", "Infused Non-Edible")] {
            let package = try judged(packageJSON(item: item, category: category, ingredients: [(tag(101), source, category)]))
            #expect(package.rules == [], "\(item) in \(category)")
        }
        for (item, category) in [("Blue Dream Softgel 10mg", "Infused Edible"), ("Blue Dream Gummies 10pk", "Infused Non-Edible")] {
            let package = try judged(packageJSON(item: item, category: category,
                                                 ingredients: [(tag(101), "Blue Dream Infused Oil Bulk", category)]))
            #expect(package.rules == [.formChange], "\(item) in \(category)")
        }
        // "Non-Edible" is still not the word "edible" (Words joins "non"), as a category name shows.
        #expect(!NamedForm.held(byCategory: Words("Infused Non-Edible")).contains(.edible))
        #expect(NamedForm.held(byCategory: Words("Infused Edible")).contains(.edible))
    }

    @Test func aFormAnIngredientsCategoryHasIsClear() throws {
        // "Combined Category" has no form of its own: the cart comes from the ingredient's category.
        let package = try judged(packageJSON(item: "Blue Dream Cart Combo", category: "Combined Category",
                                             ingredients: [(tag(101), "Blue Dream 1g", "Vape Cart")]))
        #expect(package.rules == [.categoryChange])
    }

    @Test func strainWordsAreNoForm() throws {
        for item in ["Kush Mints 3.5g", "Cookies and Cream 3.5g", "Gelato Cake 3.5g", "Liquid Diamonds", "Cartel OG 3.5g"] {
            #expect(try judged(budsRepack(item: item)).rules == [], "\(item)")
        }
    }

    // MARK: marked

    @Test func aBatchNumberMarksThePackageWhereTheIndicatorIsAbsent() throws {
        let package = try judged(packageJSON(extra: "\"ProductionBatchNumber\": \"PB-7\""))
        #expect(package.productionBatchRequired)
        #expect(package.isMarked)
        #expect(package.status == .ok)
        #expect(package.messages.last == "Marked as production batch PB-7, as required.")
        for blank in ["\"\"", "\"   \"", "null"] {
            let unmarked = try judged(packageJSON(extra: "\"ProductionBatchNumber\": \(blank)"))
            #expect(unmarked.status == .needsBatch, "\(blank)")
            #expect(!unmarked.isMarked)
            #expect(unmarked.fix?.hasPrefix("tick Production Batch (IsProductionBatch)") == true)
        }
    }

    @Test func aNumberMarkedWhereNoRuleAsksIsAWarningWithItsEvidence() throws {
        let byNumber = try judged(budsRepack(extra: "\"ProductionBatchNumber\": \"PB-7\""))
        #expect(byNumber.status == .ok)
        #expect(byNumber.warnings.first?.evidence == Evidence(field: "ProductionBatchNumber", value: "PB-7", line: 1))
        #expect(byNumber.warnings.first?.message.contains("lab testing starts over") == true)
        let byFlag = try judged(budsRepack(extra: "\"IsProductionBatch\": true, \"ProductionBatchNumber\": \"PB-7\""))
        #expect(byFlag.warnings.first?.evidence == Evidence(field: "IsProductionBatch", value: "true", line: 1))
    }

    @Test func aNumberWithTheIndicatorFalseIsNotMarked() throws {
        // Not required: the pre-flight check batch-number-unmarked warns; not a needs-batch.
        let notRequired = try judged(budsRepack(extra: "\"IsProductionBatch\": false, \"ProductionBatchNumber\": \"PB-7\""))
        #expect(notRequired.status == .ok)
        #expect(!notRequired.isMarked)
        #expect(notRequired.warnings.isEmpty)
        #expect(notRequired.checks.map(\.check) == [.batchNumberUnmarked])
        #expect(notRequired.checks.first?.message.contains("Metrc will not mark it") == true)
        #expect(notRequired.checks.first?.evidence == Evidence(field: "ProductionBatchNumber", value: "PB-7", line: 1))
        // Required: needs-batch, and the fix says why the number is not enough.
        let required = try judged(packageJSON(extra: "\"IsProductionBatch\": false, \"ProductionBatchNumber\": \"PB-7\""))
        #expect(required.status == .needsBatch)
        #expect(required.fix ==
            "package \(tag(1)) gives batch number PB-7 but IsProductionBatch is false, so Metrc will not mark it: set IsProductionBatch to true (tick Production Batch).")
    }

    @Test func csvWithoutAnIndicatorColumnIsMarkedByTheNumber() {
        let packages = judgedCSV("""
            New Package Tag,Source Package Tag,Source Package Quantity Used,Source Package Quantity Unit of Measure,Item Name,New Package Quantity,New Package Unit,Production Batch Number,Item Category,Source Category
            \(tag(1)),\(tag(101)),5,Grams,Live Resin,5,Grams,PB-1,Concentrate,Buds
            \(tag(2)),\(tag(102)),5,Grams,Live Resin,5,Grams,,Concentrate,Buds
            """)
        #expect(packages.map(\.status) == [.ok, .needsBatch])
        #expect(packages.map(\.isMarked) == [true, false])
    }

    /// docs/manifests.md §6: in CSV an empty boolean cell is false, and only where the header has no
    /// IsProductionBatch column does a batch number set the indicator (the reader once left an
    /// empty cell as "absent", so the number marked the package: a false accept).
    @Test func csvWithAnEmptyIndicatorCellIsNotMarkedByTheNumber() {
        let packages = judgedCSV("""
            Tag,Item,Category,Qty,Unit,Production Batch,Production Batch #,Source Tag,Source Category,Source Quantity,Source UoM
            \(tag(1)),Live Resin,Concentrate,5,Grams,yes,PB-1,\(tag(101)),Buds,5,Grams
            \(tag(2)),Live Resin,Concentrate,5,Grams,,PB-2,\(tag(102)),Buds,5,Grams
            """)
        #expect(packages.first?.status == .ok)
        #expect(packages.last?.status == .needsBatch)
        #expect(packages.last?.fix?.contains("Metrc will not mark it") == true)
    }

    /// docs/rules.md lists flavor/flavour with endings: "flavoring" is the bulletin's own word, and
    /// "flavorings" is its plural.
    @Test func naturalFlavoringsAddedIsAnAdditive() throws {
        let package = try judged(budsRepack(extra: "\"Note\": \"natural flavorings added\""))
        #expect(package.rules == [.additive])
        #expect(package.findings.first?.evidence.value == "flavorings")
    }
}

/// What the red team found after the rules' first cut, each fixed with its guard beside it.
extension RulesEngineTests {
    @Test(arguments: ["No terpenes added", "Terpene-free, sugar free", "without sugar", "Sugar-free gummies base",
                      "zero sweetener"])
    func aDeniedAdditiveWordIsNoEvidence(note: String) throws {
        #expect(try judged(budsRepack(extra: "\"Note\": \"\(note)\"")).rules == [], "\(note)")
    }

    @Test func aDenialCoversOnlyTheWordItStandsBy() throws {
        let package = try judged(budsRepack(extra: "\"Note\": \"no sugar, terpenes added\""))
        #expect(package.rules == [.additive])
        #expect(package.findings.first?.evidence.value == "terpenes")
    }

    @Test func sugarLeafIsTrimNotSugar() throws {
        let trim = packageJSON(item: "Blue Dream Sugar Leaf 7g", category: "Shake/Trim",
                               ingredients: [(tag(101), "Blue Dream Trim", "Shake/Trim")])
        #expect(try judged(trim).rules == [])
        let sweetened = packageJSON(item: "Blue Dream Sugar Leaf 7g", category: "Shake/Trim",
                                    ingredients: [(tag(101), "Blue Dream Trim", "Shake/Trim")], extra: "\"Note\": \"sugar coated\"")
        #expect(try judged(sweetened).rules == [.additive])
    }

    @Test(arguments: ["[\"None\"]", "[\"N/A\"]", "[{\"Name\": \"none\"}]", "[\"-\"]"])
    func additivesOfNoneSayNothingWasAdded(list: String) throws {
        let package = try judged(budsRepack(extra: "\"Additives\": \(list), \"Note\": \"terpenes 2.1% per COA\""))
        #expect(package.rules == [], "\(list)")
        #expect(try judged(budsRepack(extra: "\"Additives\": [\"None\", \"MCT oil\"]")).rules == [.additive])
    }

    @Test(arguments: ["Repackaging", "repackaged", "RELABELED", "Combined", "Splits"])
    func aSameFormStepWithAnEndingIsTheSameStep(step: String) throws {
        #expect(try judged(budsRepack(extra: "\"ProcessingStep\": \"\(step)\"")).rules == [], "\(step)")
    }

    @Test func aStepThatOnlyStartsLikeASameFormStepChangesForm() throws {
        for step in ["Repackage and infuse", "Combine with distillate"] {
            #expect(try judged(budsRepack(extra: "\"ProcessingStep\": \"\(step)\"")).rules == [.formChange], "\(step)")
        }
    }

    /// Finished concentrate units re-bagged are not bulk concentrate processed (docs/rules.md's
    /// repackaging guard); bulk into units, or units into bulk, still is (c).
    @Test func finishedConcentrateUnitsRebaggedAreClear() throws {
        let never = """
            {"Tag": "\(tag(1))", "Item": "Gelato Live Resin 2-Pack", "ItemCategory": "Concentrate", "Quantity": 50, \
            "UnitOfMeasure": "Each", "Ingredients": [{"Package": "\(tag(101))", "Quantity": 100, "UnitOfMeasure": "Each", \
            "Item": "Gelato Live Resin 1 g Jar", "ItemCategory": "Concentrate"}]}
            """
        #expect(try judged(never).rules == [], "counted units into a pack of them")
        let melted = never.replacingOccurrences(of: "\"Quantity\": 50, \"UnitOfMeasure\": \"Each\"",
                                                with: "\"Quantity\": 50, \"UnitOfMeasure\": \"Grams\"")
        #expect(try judged(melted).rules == [.formChange], "units melted back into bulk")
        // Weighed on both sides: the source states its size and the new item keeps its whole name.
        #expect(try judged(concentrate(item: "Gelato Live Resin 1g 2-Pack", source: "Gelato Live Resin 1g")).rules == [])
        #expect(try judged(concentrate(item: "Gelato Live Resin 0.5 g Duo", source: "Gelato Live Resin 0.5 g")).rules == [])
        // Bulk into jars, or a new product that keeps the old name: the bulletin's examples.
        #expect(try judged(concentrate(item: "Gelato Live Resin 1g", source: "Gelato Live Resin Bulk")).rules == [.formChange])
        #expect(try judged(concentrate(item: "Gelato Live Resin Sauce", source: "Gelato Live Resin")).rules == [.formChange])
        #expect(try judged(concentrate(item: "Gelato Live Resin 1g Sauce", source: "Gelato Live Resin 1g")).rules == [.formChange],
                "a word beyond a pack's is a new product")
        #expect(try judged(concentrate(item: "Gelato 1g 2-Pack", source: "Gelato Live Resin 1g")).rules == [.formChange],
                "a word of the source's name dropped")
    }

    @Test func unitSizesAreRead() {
        for text in ["Live Resin 1g", "Cart 0.5 g", "Gummies 100mg", "Tincture 30 ml", "Flower 3.5 grams"] {
            #expect(Words(text).statesUnitSize, "\(text)")
        }
        for text in ["Live Resin Bulk", "OG 18", "Gelato #33", "Blue Dream", "Gummies 10pk"] {
            #expect(!Words(text).statesUnitSize, "\(text)")
        }
    }
}

/// The second red-team round: false accepts the first round's exceptions opened, each closed.
extension RulesEngineTests {
    @Test(arguments: [("Blue Dream Cart Oil", "Blue Dream Vape Cart 0.5g"), ("Blue Dream Vape Distillate", "Blue Dream Cartridge 1g"),
                      ("Blue Dream Pod Fill Oil", "Blue Dream Pod 0.5g"), ("510 Distillate Bulk", "Blue Dream 510 Cartridge 1g")])
    func bulkVapeOilIntoCartsIsAFormChange(source: String, item: String) throws {
        #expect(try judged(concentrate(item: item, source: source)).rules == [.formChange], "\(source) -> \(item)")
    }

    private func counted(_ item: String, from source: String) -> String {
        """
        {"Tag": "\(tag(1))", "Item": "\(item)", "ItemCategory": "Concentrate", "Quantity": 50, "UnitOfMeasure": "Each", \
        "Ingredients": [{"Package": "\(tag(101))", "Quantity": 100, "UnitOfMeasure": "Each", "Item": "\(source)", \
        "ItemCategory": "Concentrate"}]}
        """
    }

    @Test func countedUnitsMadeIntoAnotherProductAreAFormChange() throws {
        for (source, item) in [("Blue Dream Distillate Syringe 1g", "Blue Dream Pen 0.5g"), ("Gelato Live Resin 1g", "Gelato Live Badder 1g"),
                               ("Distillate Syringe 1g", "Watermelon Distillate Syringe 1g")] {
            #expect(try judged(counted(item, from: source)).rules == [.formChange], "\(source) -> \(item)")
        }
        #expect(try judged(counted("Gelato Live Resin 2-Pack", from: "Gelato Live Resin 1g")).rules == [])
    }

    @Test(arguments: ["Infused with 10.0% terps", "Remediated: No. Terpenes: 5%", "Live terps - free of PG/VG",
                      "Blended with terpenes, free of cutting agents", "PG/VG: no; terpenes: 6%", "coated in sugar, free of dyes"])
    func aDenialAcrossPunctuationOrFreeOfDeniesNothing(note: String) throws {
        #expect(try judged(budsRepack(extra: "\"Note\": \"\(note)\"")).rules == [.additive], "\(note)")
    }

    @Test(arguments: ["No added sugar", "no artificial flavors", "non\u{2013}flavored"])
    func commonDenialsAreRead(note: String) throws {
        #expect(try judged(budsRepack(extra: "\"Note\": \"\(note)\"")).rules == [], "\(note)")
    }

    /// A number is no form: "510" is the cart thread, and also any item's number (the soak's
    /// "Soak 510" flower).
    @Test func aBareNumberIsNoForm() throws {
        #expect(try judged(budsRepack(item: "Soak 510", source: nil)).rules == [])
        #expect(try judged(budsRepack(item: "Runtz 510 3.5g")).rules == [])
    }

    @Test func aNoneWithAKindIsAnAdditive() throws {
        #expect(try judged(budsRepack(extra: "\"Additives\": [{\"Name\": \"None\", \"Kind\": \"terpene\"}]")).rules == [.additive])
    }

    @Test(arguments: ["Splitting", "Relabelled", "relabeling"])
    func stepsWithADoubledConsonantAreTheSameStep(step: String) throws {
        #expect(try judged(budsRepack(extra: "\"ProcessingStep\": \"\(step)\"")).rules == [], "\(step)")
    }
}

/// From the rules' review: what a program and a person read when the reason is not a rule.
extension RulesEngineTests {
    @Test func aBlankNumberOnAMarkedBatchIsExplainedWithEvidence() throws {
        let report = check(budsRepack(extra: "\"IsProductionBatch\": true, \"ProductionBatchNumber\": \" \""))
        let package = try #require(report.packages.first)
        #expect(package.status == .needsBatch)
        #expect(package.rules == [])
        #expect(package.warnings.first?.evidence == Evidence(field: "ProductionBatchNumber", value: "", line: package.position.line))
        #expect(report.text.contains("NEEDS BATCH: Production Batch is marked with a blank batch number, which Metrc refuses"))
        #expect(report.text.contains("warning: Production Batch is ticked but the batch number is blank"))
        #expect(!report.text.contains("required ()"))
    }

    @Test(arguments: ["Gelato Live Sugar 1g", "Gelato Sugar Wax 1g", "Gelato Terp Sauce 1g"])
    func concentratesNamedForTheirTextureAddNothing(item: String) throws {
        let package = try judged(concentrate(item: item, source: "Gelato Live Resin Bulk"))
        #expect(!package.rules.contains(.additive), "\(item)")
    }

    @Test func anAdditiveWordWithIngredientItemsUnknownSaysWhichAreUnknown() throws {
        let package = try judged(budsRepack(item: "Blue Dream Terp Infused 3.5g", source: nil))
        #expect(package.rules.contains(.additive))
        #expect(package.findings.first?.message.contains("the item of \(tag(101)) is not known") == true)
    }
}
