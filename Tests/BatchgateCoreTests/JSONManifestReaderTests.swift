import Testing
@testable import BatchgateCore

@Suite("JSON manifest reader")
struct JSONManifestReaderTests {
    @Test func readsMetrcsCreatePackageArray() throws {
        let text = """
            [{"Tag": "abcdef012345670000020201", "Location": null, "Sublocation": null, "Item": "Buds",
              "Quantity": 16.0, "UnitOfMeasure": "Ounces", "PatientLicenseNumber": "X00001",
              "Note": "This is a note.", "IsProductionBatch": false, "ProductionBatchNumber": null,
              "IsDonation": false, "IsTradeSample": false, "IsFinishedGood": false,
              "ProductRequiresRemediation": false, "UseSameItem": false, "ActualDate": "2015-12-15",
              "ExpirationDate": null, "SellByDate": null, "UseByDate": null,
              "Ingredients": [
                {"Package": "ABCDEF012345670000010041", "Quantity": 8.0, "UnitOfMeasure": "Ounces"},
                {"Package": "ABCDEF012345670000010042", "Quantity": 8.0, "UnitOfMeasure": "Ounces"}],
              "RequiredLabTestBatches": null, "ProcessingJobTypeId": null, "LabTestStageId": null,
              "SomeFieldAddedIn2030": {"nested": [1, 2]}}]
            """
        let reading = readJSON(text)
        #expect(reading.issues == [])
        let package = try #require(reading.manifest.packages.first)
        #expect(package.tag == "ABCDEF012345670000020201", "tags are upper-cased")
        #expect(package.item == "Buds")
        #expect(package.quantity == 16)
        #expect(package.unitOfMeasure == "Ounces")
        #expect(package.actualDate == "2015-12-15")
        #expect(package.note == "This is a note.")
        #expect(package.ingredients.map(\.package) == ["ABCDEF012345670000010041", "ABCDEF012345670000010042"])
        #expect(package.ingredients.map(\.quantity) == [8, 8])
        #expect(package.position.line == 1)
    }

    @Test func readsOnePackageObjectAndTheEnvelope() throws {
        let single = readJSON(packageJSON())
        #expect(single.issues == [])
        #expect(single.manifest.packages.count == 1)

        let envelope = readJSON("""
            {"licensenumber": "PR-1", "FACILITY": "North", "Source": "scanner 3",
             "packages": [\(packageJSON(tag: tag(1))), \(packageJSON(tag: tag(2)))]}
            """)
        #expect(envelope.issues == [])
        #expect(envelope.manifest.licenseNumber == "PR-1")
        #expect(envelope.manifest.facility == "North")
        #expect(envelope.manifest.source == "scanner 3")
        #expect(envelope.manifest.packages.compactMap(\.tag) == [tag(1), tag(2)])
    }

    @Test func matchesPropertyNamesInAnyCase() throws {
        let reading = readJSON("""
            {"TAG": "\(tag(1))", "item": "X", "itemcategory": "Buds", "QUANTITY": 1, "unitofmeasure": "Grams",
             "isproductionbatch": true, "PRODUCTIONBATCHNUMBER": "PB-1", "additives": ["Limonene"],
             "processingstep": "Infusion",
             "ingredients": [{"PACKAGE": "\(tag(2))", "quantity": 1, "UNITofMEASURE": "Grams", "itemCategory": "Buds"}]}
            """)
        #expect(reading.issues == [])
        let package = try #require(reading.manifest.packages.first)
        #expect(package.isProductionBatch == true)
        #expect(package.productionBatchNumber == "PB-1")
        #expect(package.additives == [Additive(name: "Limonene")])
        #expect(package.processingStep == "Infusion")
        #expect(package.ingredients.first?.itemCategory == "Buds")
    }

    @Test func takesItemNullWithUseSameItem() throws {
        let reading = readJSON(packageJSON(item: nil, category: nil, extra: "\"UseSameItem\": true"))
        #expect(reading.issues == [])
        #expect(reading.manifest.packages.first?.useSameItem == true)
    }

    @Test func readsAdditivesAsTextOrObjects() throws {
        let reading = readJSON(packageJSON(extra: """
            "Additives": ["Sugar", {"Name": "Limonene", "Kind": "Terpene"}, {"name": "MCT oil", "kind": "lipid"}]
            """))
        #expect(reading.issues == [])
        #expect(reading.manifest.packages.first?.additives == [
            Additive(name: "Sugar"), Additive(name: "Limonene", kind: .terpene), Additive(name: "MCT oil", kind: .lipid),
        ])
    }

    /// Each broken field gives an issue naming the package (and ingredient) index, the field and the line.
    @Test(arguments: [
        (#""Tag": null"#, "Packages[0].Tag (line 2): is null"),
        (#""Tag": "1A4FF01""#, "Packages[0].Tag (line 2): must be a Metrc tag of 24 letters A-Z and digits, found \"1A4FF01\" (7 characters)"),
        (#""Tag": "1a4ff0100000022000000-23""#, "Packages[0].Tag (line 2): must be a Metrc tag"),
        (#""Tag": 12"#, "Packages[0].Tag (line 2): must be text, found a number"),
        (#""Quantity": "sixteen""#, "Packages[0].Quantity (line 2): must be a number greater than 0, found text \"sixteen\""),
        (#""Quantity": null"#, "Packages[0].Quantity (line 2): must be a number greater than 0, found null"),
        (#""Quantity": 0"#, "Packages[0].Quantity (line 2): must be greater than 0, found 0"),
        (#""Quantity": -2.5"#, "Packages[0].Quantity (line 2): must be greater than 0, found -2.5"),
        (#""UnitOfMeasure": """#, "Packages[0].UnitOfMeasure (line 2): is empty"),
        (#""Item": null"#, "Packages[0].Item (line 2): is null"),
        (#""IsProductionBatch": "yes""#, "Packages[0].IsProductionBatch (line 2): must be true or false, found text \"yes\""),
        (#""UseSameItem": 1"#, "Packages[0].UseSameItem (line 2): must be true or false, found a number"),
        (#""ActualDate": "2024-02-30""#, "Packages[0].ActualDate (line 2): must be a real calendar date, found \"2024-02-30\""),
        (#""ActualDate": "12/15/2015""#, "Packages[0].ActualDate (line 2): must be a date written YYYY-MM-DD"),
        (#""ProductionBatchNumber": 7"#, "Packages[0].ProductionBatchNumber (line 2): must be text, found a number"),
        (#""Additives": [{"Name": "Sugar", "Kind": "sweetener"}]"#, "Packages[0].Additives (line 2): entry 0 has Kind \"sweetener\""),
        (#""Additives": "Sugar""#, "Packages[0].Additives (line 2): must be a list of additives, found text"),
        (#""Additives": [""]"#, "Packages[0].Additives (line 2): entry 0 is empty text"),
        (#""Ingredients": null"#, "Packages[0].Ingredients (line 2): must be a list of ingredient objects, found null"),
        (#""Ingredients": []"#, "Packages[0].Ingredients (line 2): is empty"),
        (#""Ingredients": [{"Package": "X", "Quantity": 1, "UnitOfMeasure": "g"}]"#, "Packages[0].Ingredients[0].Package (line 2): must be a Metrc tag"),
        (#""Ingredients": [{"Package": "1A4FF0100000022000000999", "UnitOfMeasure": "g"}]"#, "Packages[0].Ingredients[0].Quantity (line 2): is missing"),
        (#""Ingredients": [{"Package": "1A4FF0100000022000000999", "Quantity": 1}]"#, "Packages[0].Ingredients[0].UnitOfMeasure (line 2): is missing"),
        (#""Ingredients": [7]"#, "Packages[0].Ingredients[0] (line 2) must be an ingredient object {Package, Quantity, UnitOfMeasure}, found a number"),
    ])
    func namesTheFieldAndLineOfEveryError(field: String, expected: String) throws {
        // The bad field is on line 2; later duplicates of a key are replaced by the bad one.
        let base: [(String, String)] = [
            ("Tag", "\"\(tag(1))\""), ("Item", "\"Resin\""), ("Quantity", "5"), ("UnitOfMeasure", "\"Grams\""),
            ("Ingredients", "[{\"Package\": \"\(tag(9))\", \"Quantity\": 1, \"UnitOfMeasure\": \"Grams\"}]"),
        ]
        let badKey = String(field.split(separator: "\"")[0])
        let rest = base.filter { $0.0 != badKey }.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ")
        let reading = readJSON("[{\n\(field),\n\(rest)}]")
        let messages = reading.issues.map(\.message)
        #expect(messages.contains { $0.hasPrefix(expected) }, "\(messages) should hold \(expected)")
        #expect(reading.issues.allSatisfy { $0.packageIndex == 0 })
        #expect(reading.issues.contains { $0.line == 2 })
    }

    @Test func refusesTagsThatOnlyUpperCaseIntoShape() {
        // "ﬀ" upper-cases to "FF" and "ſ" to "S" under Unicode rules; a tag is ASCII only.
        for bad in ["1A4FF01000000220000000ﬀ", "1A4FF010000002200000000ſ", "1A4FF0100000022000000０1"] {
            let reading = readJSON(packageJSON(tag: bad))
            #expect(reading.issues.first?.field == "Tag", "\(bad)")
        }
        #expect(readJSON(packageJSON(tag: " 1a4ff0100000022000000001 ")).manifest.packages.first?.tag == tag(1))
    }

    @Test func emptyItemWithUseSameItemIsNoItem() {
        let reading = readJSON(packageJSON(item: "", category: nil, extra: "\"UseSameItem\": true"))
        #expect(reading.issues == [])
        #expect(reading.manifest.packages.first?.item == nil)
    }

    @Test func handlesObjectsWithManyPropertiesAndManyPackages() {
        // Both would take hours if any step were quadratic; they must simply finish and report.
        // (An object is now capped at ManifestLimits.maximumJSONMembers properties; this one is at the cap.)
        let properties = (0..<(ManifestLimits.maximumJSONMembers - 1)).map { "\"p\($0)\": \($0)" }.joined(separator: ",")
        let wide = readJSON("{\(properties), \"P1\": 1}")
        #expect(wide.issues.contains { $0.message.contains("has the property \"P1\" twice") })
        let atCap = check("[" + Array(repeating: "{}", count: ManifestChecker.maximumPackages).joined(separator: ",") + "]")
        #expect(atCap.decision == .rejected)
        #expect(atCap.packages.count == ManifestChecker.maximumPackages, "every package evaluated up to the cap")
        let many = check("[" + Array(repeating: "{}", count: 50_000).joined(separator: ",") + "]")
        #expect(many.decision == .rejected)
        #expect(many.packages.isEmpty && many.errors.first?.message.contains("split it") == true)
    }

    @Test func reportsMissingRequiredFields() {
        let reading = readJSON("[{}]")
        let fields = Set(reading.issues.compactMap(\.field))
        #expect(fields == ["Tag", "Item", "Quantity", "UnitOfMeasure", "Ingredients"])
        #expect(reading.issues.first?.message.contains("Packages[0].Tag (line 1): is missing") == true)
    }

    @Test func reportsTheSamePropertyTwiceInDifferentCase() {
        let reading = readJSON(packageJSON(extra: "\"tag\": \"\(tag(2))\""))
        #expect(reading.issues.count == 1)
        #expect(reading.issues.first?.message.contains("has the property \"tag\" twice") == true)
    }

    @Test func reportsAPackageThatIsNotAnObject() {
        let reading = readJSON("[\(packageJSON()),\n 42]")
        #expect(reading.issues.map(\.message) == ["Packages[1] (line 2) must be a package object, found a number"])
    }

    @Test func refusesOtherTopLevelValues() {
        for text in ["42", "\"text\"", "null", "true"] {
            let reading = readJSON(text)
            #expect(reading.manifest.packages.isEmpty)
            #expect(reading.issues.first?.message.contains("a manifest must be a list of packages or an object") == true)
        }
        let envelope = readJSON("{\"Packages\": {\"Tag\": 1}}")
        #expect(envelope.issues.first?.message.contains("Packages (line 1) must be a list of package objects") == true)
    }

    @Test func reportsSyntaxErrorsWithTheirLine() {
        let reading = readJSON("[\n{\"Tag\": \"\(tag(1))\",\n \"Quantity\": sixteen}]")
        #expect(reading.issues.first?.line == 3)
        #expect(reading.issues.first?.message.hasPrefix("not valid JSON: line 3, column 14: 'sixteen' is not a JSON value") == true)
    }
}
