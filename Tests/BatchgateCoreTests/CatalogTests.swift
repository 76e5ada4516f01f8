import Testing
@testable import BatchgateCore

@Suite("Catalog")
struct CatalogTests {
    func items(_ text: String) throws(CatalogError) -> [Catalog.Item] {
        try CatalogReader.readItems(Array(text.utf8), fileName: "items.x")
    }

    func packages(_ text: String) throws(CatalogError) -> [Catalog.Package] {
        try CatalogReader.readPackages(Array(text.utf8), fileName: "packages.x")
    }

    @Test func readsItemsFromMetrcJSONAndCSV() throws {
        let json = try items("""
            [{"Id": 1, "Name": "Blue Dream Buds", "ProductCategoryName": "Buds", "ProductCategoryType": "Buds",
              "QuantityType": "WeightBased", "UnitOfMeasureName": "Grams", "StrainName": "Blue Dream"}]
            """)
        #expect(json == [Catalog.Item(name: "Blue Dream Buds", category: "Buds", quantityType: .weightBased,
                                      unitOfMeasure: "Grams")])
        let bare = [Catalog.Item(name: "Blue Dream Buds", category: "Buds")]
        #expect(try items("Name,Category\nBlue Dream Buds,Buds\n") == bare)
        #expect(try items("Item;ProductCategoryName\r\nBlue Dream Buds;Buds\r\n") == bare)
        #expect(try items("{\"Data\": [{\"Name\": \"Blue Dream Buds\", \"ProductCategoryName\": \"Buds\"}], \"Total\": 1}") == bare)
        #expect(try items("Name,Category,Quantity Type,Unit of Measure\nBlue Dream Buds,Buds,Weight Based,Grams\n") == json)
    }

    @Test func readsPackagesFromMetrcJSONAndCSV() throws {
        let json = try packages("""
            [{"Id": 7, "Label": "\(tag(101).lowercased())", "Quantity": 100, "UnitOfMeasureName": "Grams",
              "PackagedDate": "2025-01-01", "IsProductionBatch": false, "ProductionBatchNumber": null,
              "Item": {"Id": 3, "Name": "Blue Dream Buds", "ProductCategoryName": "Buds", "ProductCategoryType": "Buds"}}]
            """)
        #expect(json == [Catalog.Package(tag: tag(101), item: "Blue Dream Buds", category: "Buds", quantity: 100,
                                         unitOfMeasure: "Grams", packagedDate: "2025-01-01")])
        let bare = [Catalog.Package(tag: tag(101), item: "Blue Dream Buds", category: "Buds")]
        #expect(try packages("Tag,Item,Category\n\(tag(101)),Blue Dream Buds,Buds\n") == bare)
        #expect(try packages("Label,Item Name,Item Category\n\(tag(101)),Blue Dream Buds,Buds\n") == bare)
        #expect(!bare[0].hasStockOrState && json[0].hasStockOrState)
    }

    @Test(arguments: [
        ("[{\"Name\": \"X\"}]", "items.x, line 1: item \"X\" has no ProductCategoryName (or Category)"),
        ("[{\"ProductCategoryName\": \"Buds\"}]", "items.x, line 1: an item has no Name"),
        ("[1]", "items.x, line 1: entry 0 must be an object, found a number"),
        ("{\"a\": 1}", "items.x, line 1: expected the list of items that Metrc's API returns (or an object with Data)"),
        ("[{\"Name\": ", "items.x, line 1: not valid JSON: the text ends where a value was expected"),
        ("Name,Category\nA,Buds,extra\n", "items.x, line 2: the row has 3 cells but the header has 2"),
        ("Name,Category\nA,Buds\na,Concentrate\n", "items.x, line 3: item \"a\" is listed as Concentrate here and as Buds on line 2; keep one"),
        ("", "items.x: the file is empty (no text, or only white space)"),
    ])
    func reportsBadItemsFilesWithFileAndLine(text: String, message: String) {
        #expect(throws: CatalogError.self) { try items(text) }
        do {
            _ = try items(text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func reportsBadPackagesFiles() {
        #expect(throws: CatalogError(file: "packages.x", line: 2, reason: "Label must be a Metrc tag of 24 letters A-Z and digits, found \"nope\" (4 characters)")) {
            try packages("Tag,Item\nnope,X\n")
        }
        #expect(throws: CatalogError(file: "packages.x", line: 2, reason: "package \(tag(1)) gives neither its item nor its category")) {
            try packages("Tag,Note\n\(tag(1)),x\n")
        }
    }

    // MARK: Resolution order

    let ingredientOnly = """
        {"Tag": "\(tag(1))", "Item": "Blue Dream Live Resin", "Quantity": 5, "UnitOfMeasure": "Grams",
         "Ingredients": [{"Package": "\(tag(101))", "Quantity": 100, "UnitOfMeasure": "Grams"}]}
        """

    @Test func fillsCategoriesFromTheItemsAndPackagesFiles() throws {
        let catalog = Catalog(items: [.init(name: "blue dream live resin", category: "Concentrate"),
                                      .init(name: "Blue Dream Buds", category: "Buds")],
                              packages: [.init(tag: tag(101), item: "Blue Dream Buds", category: nil)])
        let report = check(ingredientOnly, catalog: catalog)
        #expect(report.decision == .needsBatch, Comment(rawValue: report.text))
        #expect(report.packages.first?.category == "Concentrate")
        #expect(report.packages.first?.rules == [.categoryChange, .formChange])
    }

    @Test func aPackagesFileCategoryServesWhenTheItemIsUnknown() throws {
        let catalog = Catalog(items: [.init(name: "Blue Dream Live Resin", category: "Concentrate")],
                              packages: [.init(tag: tag(101), item: "Old Name", category: "Buds")])
        #expect(check(ingredientOnly, catalog: catalog).packages.first?.rules == [.categoryChange, .formChange])
    }

    @Test func theManifestsOwnCategoriesComeFirst() throws {
        // The second package's ingredient item is named with a category in the first package.
        let text = """
            [\(packageJSON(tag: tag(1), item: "Resin", category: "Concentrate", ingredients: [(tag(101), "Blue Dream Buds", "Buds")])),
             {"Tag": "\(tag(2))", "Item": "Blue Dream Buds", "Quantity": 5, "UnitOfMeasure": "Grams",
              "Ingredients": [{"Package": "\(tag(102))", "Item": "Blue Dream Buds", "Quantity": 5, "UnitOfMeasure": "Grams"}]}]
            """
        let catalog = Catalog(items: [.init(name: "Blue Dream Buds", category: "Shake/Trim")])
        let report = check(text, catalog: catalog)
        #expect(report.packages[1].category == "Buds")
        #expect(report.packages[1].rules == [])
    }

    @Test func useSameItemTakesTheIngredientsItem() throws {
        let text = packageJSON(item: nil, category: nil, ingredients: [(tag(101), "Blue Dream Buds", "Buds")],
                               extra: "\"UseSameItem\": true")
        let report = check(text)
        #expect(report.decision == .accepted, Comment(rawValue: report.text))
        #expect(report.packages.first?.item == "Blue Dream Buds")
        #expect(report.packages.first?.category == "Buds")
    }

    @Test func useSameItemWithMixedIngredientsIsAnError() {
        let text = packageJSON(item: nil, category: nil,
                               ingredients: [(tag(101), "Buds A", "Buds"), (tag(102), "Resin", "Concentrate")],
                               extra: "\"UseSameItem\": true")
        let report = check(text)
        #expect(report.decision == .rejected)
        #expect(report.errors.first?.field == "UseSameItem")
    }

    @Test func anUnknownCategoryNamesTheItemOrTagAndTheFile() {
        let report = check(ingredientOnly)
        #expect(report.decision == .rejected)
        #expect(report.errors.map(\.message) == [
            "Packages[0].Ingredients[0].ItemCategory (line 2): ingredient \(tag(101)): its item and category are unknown: add tag \(tag(101)) to the packages file, or give the ingredient Item and ItemCategory",
        ])
        let withPackages = check(ingredientOnly, catalog: Catalog(packages: [.init(tag: tag(101), item: "Mystery", category: nil)]))
        #expect(withPackages.errors.first?.message.contains("its item \"Mystery\" has no known category: add the item to the items file") == true)
        let outputUnknown = check(ingredientOnly, catalog: Catalog(packages: [.init(tag: tag(101), item: "B", category: "Buds")]))
        #expect(outputUnknown.errors.map(\.message) == [
            "Packages[0].ItemCategory (line 1): the item \"Blue Dream Live Resin\" of package \(tag(1)) has no known category: add the item to the items file, or give the package an ItemCategory",
        ])
        #expect(outputUnknown.packages.first?.status == .invalid)
    }

    // MARK: Metrc's catalog overlaid by the files

    let fromMetrc = Catalog(
        items: [.init(name: "Blue Dream Buds", category: "Buds"), .init(name: "BD Live Resin", category: "Concentrate")],
        packages: [.init(tag: tag(101), item: "Blue Dream Buds", category: "Buds"),
                   .init(tag: tag(102), item: "BD Live Resin", category: "Concentrate")])

    @Test func theOverlaysEntriesWinAndTheRestIsKeptFromBoth() {
        let local = Catalog(
            items: [.init(name: "  blue dream BUDS ", category: "Shake/Trim"), .init(name: "House Blend", category: "Infused")],
            packages: [.init(tag: tag(102), item: "House Blend", category: nil), .init(tag: tag(103), item: nil, category: "Buds")])
        let merged = fromMetrc.overlaid(by: local)

        #expect(merged.category(ofItem: "Blue Dream Buds") == "Shake/Trim", "the same name in any case and spacing is the overlay's")
        #expect(merged.category(ofItem: "BD Live Resin") == "Concentrate", "kept from Metrc")
        #expect(merged.category(ofItem: "house blend") == "Infused", "added by the overlay")
        #expect(merged.itemCount == 3)

        #expect(merged.package(tagged: tag(101)) == .init(tag: tag(101), item: "Blue Dream Buds", category: "Buds"))
        // Whole, not field by field: Metrc's Concentrate does not fill the overlay's missing category.
        #expect(merged.package(tagged: tag(102)) == .init(tag: tag(102), item: "House Blend", category: nil))
        #expect(merged.package(tagged: tag(103)) == .init(tag: tag(103), item: nil, category: "Buds"))
        #expect(merged.packageCount == 3)

        #expect(fromMetrc.category(ofItem: "Blue Dream Buds") == "Buds", "the catalogs overlaid are values, left as they were")
        #expect(local.itemCount == 2)
    }

    @Test func anEmptyCatalogChangesNothingOnEitherSide() {
        #expect(fromMetrc.overlaid(by: Catalog()) == fromMetrc)
        #expect(Catalog().overlaid(by: fromMetrc) == fromMetrc)
        #expect(fromMetrc.overlaid(by: fromMetrc) == fromMetrc)
    }

    @Test func aManifestIsDecidedOnTheOverlaidCatalog() {
        // Metrc knows the source package; only the local items file knows the new item's category.
        let metrcOnly = check(ingredientOnly, catalog: fromMetrc)
        #expect(metrcOnly.decision == .rejected)
        let local = Catalog(items: [.init(name: "Blue Dream Live Resin", category: "Concentrate")])
        let report = check(ingredientOnly, catalog: fromMetrc.overlaid(by: local))
        #expect(report.decision == .needsBatch, Comment(rawValue: report.text))
        #expect(report.packages.first?.rules == [.categoryChange, .formChange])
    }

    // MARK: The fields the pre-flight checks read

    @Test func readsMetrcsStockStateAndDatesFromJSON() throws {
        let read = try packages("""
            {"Data": [{"Id": 7, "Label": "\(tag(101))", "Quantity": 1360.8, "UnitOfMeasureName": "Grams",
              "PackagedDate": "2018-03-06T00:00:00Z", "IsOnHold": true, "IsFinished": false, "FinishedDate": null,
              "ArchivedDate": null, "LabTestingState": "TestFailed", "ProductionBatchNumber": "PB-7",
              "LastModified": "2025-02-25T18:04:31+00:00",
              "Item": {"Name": "Blue Dream Buds", "ProductCategoryName": "Buds", "QuantityType": "WeightBased"}}]}
            """)
        #expect(read == [Catalog.Package(
            tag: tag(101), item: "Blue Dream Buds", category: "Buds", quantity: 1360.8, unitOfMeasure: "Grams",
            packagedDate: "2018-03-06", isOnHold: true, isFinished: false, labTestingState: "TestFailed",
            productionBatchNumber: "PB-7", itemQuantityType: .weightBased, lastModified: "2025-02-25T18:04:31+00:00")])
    }

    /// Metrc's own answers are not refused over a field of an unexpected type: the field is left
    /// unknown (its check is skipped) and the record still gives its item and category.
    @Test func aJSONFieldOfAnotherTypeIsLeftUnknown() throws {
        let read = try packages("""
            [{"Label": "\(tag(101))", "Quantity": "lots", "IsOnHold": "maybe", "PackagedDate": "yesterday",
              "ProductionBatchNumber": "", "Item": {"Name": "Blue Dream Buds", "ProductCategoryName": "Buds", "QuantityType": 0}}]
            """)
        #expect(read == [Catalog.Package(tag: tag(101), item: "Blue Dream Buds", category: "Buds")])
        // A quantity Metrc writes as text is still a quantity.
        #expect(try packages("[{\"Label\": \"\(tag(101))\", \"Item\": \"X\", \"Quantity\": \"12.5\"}]")[0].quantity == 12.5)
        #expect(try items("[{\"Name\": \"X\", \"ProductCategoryName\": \"Buds\", \"QuantityType\": 1}]")[0].quantityType == nil)
    }

    @Test func readsTheSameFieldsFromACSVUnderItsCommonNames() throws {
        let read = try packages("""
            Label,Item,Category,Qty,Unit of Measure,Packaged Date,Lab Testing State,On Hold,Finished,P.B. No.
            \(tag(101)),Blue Dream Buds,Buds,16,Ounces,3/6/2018,TestPassed,no,,PB-7
            \(tag(102)),Blue Dream Buds,Buds,,,,,,,
            """)
        #expect(read[0] == Catalog.Package(
            tag: tag(101), item: "Blue Dream Buds", category: "Buds", quantity: 16, unitOfMeasure: "Ounces",
            packagedDate: "2018-03-06", isOnHold: false, labTestingState: "TestPassed", productionBatchNumber: "PB-7"))
        // A blank cell is unknown, not "no": nobody wrote the state down.
        #expect(read[1] == Catalog.Package(tag: tag(102), item: "Blue Dream Buds", category: "Buds"))
    }

    @Test(arguments: [
        ("Tag,Item,Quantity\n\(tag(101)),X,1\n\(tag(102)),X,a lot\n", "packages.x, line 3: package \(tag(102)): Quantity must be a number, found \"a lot\""),
        ("Tag,Item,On Hold\n\(tag(101)),X,perhaps\n", "packages.x, line 2: package \(tag(101)): IsOnHold must be yes or no (true/false, y/n, 1/0, x or empty), found \"perhaps\""),
        ("Tag,Item,Packaged Date\n\(tag(101)),X,2025-02-30\n", "packages.x, line 2: package \(tag(101)): PackagedDate must be a real calendar date, found \"2025-02-30\""),
        ("Tag,Item,Quantity Type\n\(tag(101)),X,Heavy\n", nil),
    ])
    func aCSVValueThatCannotBeReadNamesItsLineAndField(_ text: String, _ message: String?) throws {
        // `Quantity Type` on a package is the item's: read only as ItemQuantityType, so it is ignored.
        guard let message else {
            #expect(try packages(text)[0].itemQuantityType == nil)
            return
        }
        #expect(throws: CatalogError.self) { try packages(text) }
        do { _ = try packages(text) } catch { #expect(error.description == message) }
    }

    @Test func anItemsCSVWithAnUnknownQuantityTypeSaysWhich() {
        do {
            _ = try items("Name,Category,QuantityType\nBlue Dream Buds,Buds,Heavy\n")
            Issue.record("read an unknown quantity type")
        } catch {
            #expect(error.description == "items.x, line 2: item \"Blue Dream Buds\": QuantityType must be WeightBased, CountBased or VolumeBased, found \"Heavy\"")
        }
    }

    @Test func anOverlayWithoutStockKeepsMetrcsStockAndState() {
        let metrc = Catalog(packages: [Catalog.Package(tag: tag(101), item: "Blue Dream Buds", category: "Buds", quantity: 10,
                                                       unitOfMeasure: "Grams", isOnHold: true, productionBatchNumber: "PB-1",
                                                       itemQuantityType: .weightBased)])
        let sameItem = metrc.overlaid(by: Catalog(packages: [Catalog.Package(tag: tag(101), item: "blue dream buds", category: "Flower")]))
        #expect(sameItem.package(tagged: tag(101)) == Catalog.Package(
            tag: tag(101), item: "blue dream buds", category: "Flower", quantity: 10, unitOfMeasure: "Grams", isOnHold: true,
            productionBatchNumber: "PB-1", itemQuantityType: .weightBased))
        #expect(sameItem.packages(withBatchNumber: " pb-1 ").map(\.tag) == [tag(101)])
        // Another item: Metrc's item's quantity type says nothing of it.
        let otherItem = metrc.overlaid(by: Catalog(packages: [Catalog.Package(tag: tag(101), item: "Gelato", category: "Buds")]))
        #expect(otherItem.package(tagged: tag(101))?.itemQuantityType == nil)
        // An overlay that gives stock is taken whole.
        let whole = Catalog.Package(tag: tag(101), item: "Gelato", category: "Buds", quantity: 3, unitOfMeasure: "Each")
        #expect(metrc.overlaid(by: Catalog(packages: [whole])).package(tagged: tag(101)) == whole)
        #expect(metrc.overlaid(by: Catalog(packages: [whole])).packages(withBatchNumber: "PB-1").isEmpty)
    }

    @Test func insertKeepsTheBatchNumberIndexTrue() {
        var catalog = Catalog(packages: [Catalog.Package(tag: tag(101), item: "A", category: "Buds", productionBatchNumber: "PB-1")])
        catalog.insert(Catalog.Package(tag: tag(101), item: "A", category: "Buds", productionBatchNumber: "PB-2"))
        catalog.insert(Catalog.Package(tag: tag(102), item: "B", category: "Buds", productionBatchNumber: "pb-2"))
        #expect(catalog.packages(withBatchNumber: "PB-1").isEmpty)
        #expect(catalog.packages(withBatchNumber: "PB-2").map(\.tag) == [tag(101), tag(102)])
    }

    @Test func anItemsOverlayWithoutQuantityTypeKeepsMetrcs() {
        let metrc = Catalog(items: [Catalog.Item(name: "Blue Dream Buds", category: "Buds", quantityType: .weightBased,
                                                 unitOfMeasure: "Grams")])
        let named = metrc.overlaid(by: Catalog(items: [Catalog.Item(name: "blue dream buds", category: "Flower")]))
        #expect(named.item(named: "Blue Dream Buds") == Catalog.Item(name: "blue dream buds", category: "Flower",
                                                                     quantityType: .weightBased, unitOfMeasure: "Grams"))
        let counted = Catalog.Item(name: "Blue Dream Buds", category: "Buds", quantityType: .countBased, unitOfMeasure: "Each")
        #expect(metrc.overlaid(by: Catalog(items: [counted])).item(named: "Blue Dream Buds") == counted)
    }
}
