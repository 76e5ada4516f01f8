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
        #expect(json == [Catalog.Item(name: "Blue Dream Buds", category: "Buds")])
        #expect(try items("Name,Category\nBlue Dream Buds,Buds\n") == json)
        #expect(try items("Item;ProductCategoryName\r\nBlue Dream Buds;Buds\r\n") == json)
        #expect(try items("{\"Data\": [{\"Name\": \"Blue Dream Buds\", \"ProductCategoryName\": \"Buds\"}], \"Total\": 1}") == json)
    }

    @Test func readsPackagesFromMetrcJSONAndCSV() throws {
        let json = try packages("""
            [{"Id": 7, "Label": "\(tag(101).lowercased())", "Quantity": 100, "UnitOfMeasureName": "Grams",
              "PackagedDate": "2025-01-01", "IsProductionBatch": false, "ProductionBatchNumber": null,
              "Item": {"Id": 3, "Name": "Blue Dream Buds", "ProductCategoryName": "Buds", "ProductCategoryType": "Buds"}}]
            """)
        #expect(json == [Catalog.Package(tag: tag(101), item: "Blue Dream Buds", category: "Buds")])
        #expect(try packages("Tag,Item,Category\n\(tag(101)),Blue Dream Buds,Buds\n") == json)
        #expect(try packages("Label,Item Name,Item Category\n\(tag(101)),Blue Dream Buds,Buds\n") == json)
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
}
