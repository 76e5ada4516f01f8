import Testing
@testable import BatchgateCore

@Suite("CSV manifest reader")
struct CSVManifestReaderTests {
    let header = "Tag,Item,Item Category,Quantity,UoM,Production Batch,Production Batch #,Date,Source Tag,Source Item,Source Category,Source Quantity,Source UoM"

    @Test func groupsRowsByTagIntoPackages() throws {
        let reading = readCSV("""
            \(header)
            \(tag(1)),Resin,Concentrate,5,Grams,yes,PB-1,2025-03-10,\(tag(101)),Buds A,Buds,100,Grams
            \(tag(2)),Buds A,Buds,10,Grams,no,,03/10/2025,\(tag(102)),Buds A,Buds,10,Grams
            \(tag(1).lowercased()),Resin,Concentrate,5,Grams,Y,PB-1,2025-03-10,\(tag(103)),Buds B,Buds,50,Grams

            """)
        #expect(reading.issues == [])
        let packages = reading.manifest.packages
        #expect(packages.compactMap(\.tag) == [tag(1), tag(2)])
        #expect(packages[0].ingredients.compactMap(\.package) == [tag(101), tag(103)])
        #expect(packages[0].isProductionBatch == true)
        #expect(packages[0].productionBatchNumber == "PB-1")
        #expect(packages[0].position.line == 2)
        #expect(packages[1].actualDate == "2025-03-10", "MM/DD/YYYY becomes YYYY-MM-DD")
        #expect(packages[1].isProductionBatch == false)
        #expect(packages[1].ingredients.first?.itemCategory == "Buds")
    }

    @Test func readsTheTrackAndTraceToolsTemplate() throws {
        let reading = readCSV("""
            New Package Tag,Source Package Tag,Source Package Quantity Used,Source Package Quantity Unit of Measure,Location Name,Item Name,New Package Quantity,New Package Unit,Packaged Date,Note,Production Batch Number,Is Donation?,Is Trade Sample?,Expiration Date,Sell By Date,Use By Date
            \(tag(1)),\(tag(101)),28,Grams,Vault,Pre-Roll 1g,28,Each,2025-03-10,"Run 4, line ""B""\",PB-7,No,No,,,
            \(tag(2)),\(tag(102)),28,Grams,Vault,Pre-Roll 1g,28,Each,2025-03-10,,,No,No,,,
            """)
        #expect(reading.issues == [])
        let packages = reading.manifest.packages
        #expect(packages[0].isProductionBatch == nil, "no indicator column: the indicator is unknown")
        #expect(packages[0].isMarked, "a batch number marks the package when there is no indicator column")
        #expect(packages[0].note == "Run 4, line \"B\"")
        #expect(packages[0].location == "Vault")
        #expect(packages[1].isProductionBatch == nil)
        #expect(!packages[1].isMarked)
        #expect(packages[1].unitOfMeasure == "Each")
    }

    @Test func readsSemicolonAndTabFilesWithBOMAndCRLF() throws {
        for delimiter in [";", "\t"] {
            let text = "\u{FEFF}" + [
                ["tag", "item", "category", "qty", "unit", "source package", "source quantity", "source unit", "source category", "Additives"],
                [tag(1), "Gummies", "Infused Edible", "100", "Each", tag(101), "2", "Grams", "Concentrate", "\"Sugar|flavoring: Cherry\""],
            ].map { $0.joined(separator: delimiter) }.joined(separator: "\r\n") + "\r\n"
            let bytes = Array(text.utf8)
            let reading = CSVManifestReader.read(try TextInput.validate(bytes))
            #expect(reading.issues == [], "delimiter \(delimiter.debugDescription)")
            #expect(reading.manifest.packages.first?.additives == [Additive(name: "Sugar"), Additive(name: "Cherry", kind: .flavoring)])
            #expect(reading.manifest.packages.first?.itemCategory == "Infused Edible")
        }
    }

    @Test(arguments: [
        ("Production Batch #", CSVColumn.productionBatchNumber),
        ("Production Batch", .isProductionBatch),
        ("P.B. No.", .productionBatchNumber),
        ("is_production_batch", .isProductionBatch),
        ("  UNIT of measure ", .unitOfMeasure),
        ("Source Package Quantity Unit of Measure", .ingredientUnitOfMeasure),
        ("Label", .tag),
        ("Process", .processingStep),
    ])
    func matchesHeaderAliases(header: String, column: CSVColumn) {
        #expect(CSVColumn.named(header) == column)
    }

    @Test func ignoresUnknownColumnsAndEmptyOnes() {
        let reading = readCSV("""
            Tag,Is Donation?,,Item,Category,Qty,Unit,Source Tag,Source Quantity,Source UoM,Source Category
            \(tag(1)),no,,Buds,Buds,5,Grams,\(tag(101)),5,Grams,Buds
            """)
        #expect(reading.issues == [])
    }

    @Test func reportsValuesInAColumnWithoutHeader() {
        let reading = readCSV("""
            Tag,,Item,Qty,Unit,Source Tag,Source Quantity,Source UoM
            \(tag(1)),oops,Buds,5,Grams,\(tag(101)),5,Grams
            """)
        #expect(reading.issues.first?.message.contains("column 2 has no header name but line 2 has a value in it") == true)
    }

    @Test func reportsMissingRequiredColumns() {
        let reading = readCSV("Item,Qty\nBuds,5\n")
        let message = reading.issues.first?.message ?? ""
        #expect(message.hasPrefix("line 1 (header): the header has no Tag (also accepted: Package Tag, New Package Tag, Label)"))
        #expect(message.contains("no IngredientPackage"))
        #expect(reading.manifest.packages.isEmpty)
    }

    @Test func reportsTwoColumnsForOneField() {
        let reading = readCSV("Tag,Label,Qty,Unit,Source Tag,Source Quantity,Source UoM\n")
        #expect(reading.issues.first?.message.contains("columns 1 (\"Tag\") and 2 (\"Label\") both mean Tag") == true)
    }

    @Test func reportsRaggedRowsWithTheirLine() {
        let reading = readCSV("""
            \(header)
            \(tag(1)),Resin,Concentrate,5,Grams,yes,PB-1,2025-03-10,\(tag(101)),Buds A,Buds,100,Grams,extra
            \(tag(2)),Resin,Concentrate,5,Grams
            """)
        #expect(reading.issues.map(\.line) == [2, 3])
        #expect(reading.issues[0].message == "line 2 (package \(tag(1))): the row has 14 cells, more than the header's 13 (is a delimiter or quote missing or extra?)")
        #expect(reading.issues[1].message.contains("5 cells, fewer than the header's 13"))
        #expect(reading.issues.map(\.packageIndex) == [0, 1], "the broken rows' packages are known")
        let report = check("\(header)\n,\"a\"\"b\"\n", name: "x.csv")
        #expect(report.errors.map(\.message) == ["line 2: the row has 2 cells, fewer than the header's 13 (is a delimiter or quote missing or extra?)"])
    }

    @Test func reportsConflictingPackageCellsNamingBothLines() {
        let reading = readCSV("""
            \(header)
            \(tag(1)),Resin,Concentrate,5,Grams,yes,PB-1,2025-03-10,\(tag(101)),Buds A,Buds,100,Grams
            \(tag(1)),Resin,Concentrate,5.0,grams,TRUE,PB-1,2025-03-10,\(tag(102)),Buds A,Buds,100,Grams
            \(tag(1)),Resin,Concentrate,6,Grams,yes,PB-1,2025-03-10,\(tag(103)),Buds A,Buds,100,Grams
            """)
        #expect(reading.issues.count == 1, "5 and 5.0, Grams and grams, yes and TRUE agree")
        #expect(reading.issues.first?.message == "line 4 (package \(tag(1))), Quantity: \"6\" conflicts with \"5\" on line 2; rows of one package must agree")
        #expect(reading.issues.first?.line == 4)
        #expect(reading.issues.first?.field == "Quantity")
    }

    @Test(arguments: [
        ("maybe", "", "IsProductionBatch: must be yes or no"),
        ("abc", "Quantity", "Quantity: must be a number greater than 0 written with digits, found \"abc\""),
        ("0", "Quantity", "Quantity: must be greater than 0, found 0"),
        ("13/45/2024", "Date", "ActualDate: must be a real calendar date"),
        ("2024/01/01", "Date", "ActualDate: must be a date written YYYY-MM-DD or MM/DD/YYYY"),
        ("SHORT", "Source Tag", "IngredientPackage: must be a Metrc tag"),
        ("-1", "Source Quantity", "IngredientQuantity: must be greater than 0"),
        ("", "Source UoM", "IngredientUnitOfMeasure: is empty"),
        ("", "Item", "Item: is empty"),
        ("bogus: thing", "Additives", "Additives: \"bogus: thing\" starts with \"bogus\""),
    ])
    func namesLineAndColumnOfBadCells(value: String, column: String, expected: String) {
        let names = ["Tag", "Item", "Category", "Quantity", "UoM", "Production Batch", "Date", "Source Tag",
                     "Source Quantity", "Source UoM", "Source Category", "Additives"]
        var cells = [tag(1), "Resin", "Concentrate", "5", "Grams", "no", "2025-01-01", tag(101), "10", "Grams", "Buds", ""]
        let index = column.isEmpty ? 5 : names.firstIndex(of: column)!
        cells[index] = value
        let reading = readCSV(names.joined(separator: ",") + "\n\n" + cells.joined(separator: ","))
        let messages = reading.issues.map(\.message)
        #expect(messages.contains { $0.hasPrefix("line 3 (package \(tag(1))), \(expected)") }, "\(messages)")
        #expect(reading.issues.allSatisfy { $0.line == 3 })
    }

    @Test func findsTheDelimiterAfterLeadingBlankLines() {
        let reading = readCSV("\n  \r\nTag;Item;Category;Qty;Unit;Source Tag;Source Quantity;Source UoM;Source Category\n\(tag(1));Buds;Buds;5;Grams;\(tag(2));5;Grams;Buds\n")
        #expect(reading.issues == [])
        #expect(reading.manifest.packages.first?.position.line == 4)
    }

    @Test func aBlankBooleanMeansNoAndDatesCompareAsDates() {
        let reading = readCSV("""
            Tag,Item,Category,Qty,Unit,Production Batch,Date,Source Tag,Source Quantity,Source UoM,Source Category
            \(tag(1)),Buds,Buds,5,Grams,yes,2025-03-10,\(tag(2)),5,Grams,Buds
            \(tag(1)),Buds,Buds,5,Grams,,03/10/2025,\(tag(3)),5,Grams,Buds
            """)
        #expect(reading.issues.map(\.message) == [
            "line 3 (package \(tag(1))), IsProductionBatch: \"\" conflicts with \"yes\" on line 2; rows of one package must agree",
        ])
    }

    @Test func reportsAnEmptyTagCell() {
        let reading = readCSV("Tag,Qty,Unit,Source Tag,Source Quantity,Source UoM\n,5,Grams,\(tag(1)),1,Grams\n")
        #expect(reading.issues.first?.message == "line 2, Tag: is empty: every row names the new package's tag")
    }

    @Test func reportsSyntaxErrors() {
        let reading = readCSV("Tag,Note\n\(tag(1)),\"never closed\n")
        #expect(reading.issues.first?.message == "not valid CSV: line 2: a quoted cell opened here is never closed (a '\"' is missing)")
    }

    @Test func headerOnlyHoldsNoPackage() {
        let report = check("\(header)\n", name: "x.csv")
        #expect(report.decision == .rejected)
        #expect(report.errors.map(\.message) == ["the manifest holds no package"])
    }
}
