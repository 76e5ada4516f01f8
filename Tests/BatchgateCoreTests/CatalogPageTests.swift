import Testing
@testable import BatchgateCore

/// Records shaped as Metrc's documentation shows them (the spec's section "Reading the catalog from
/// Metrc's API"): the builders write every field the spec names, so a reader that trips over one
/// of them (a number where text was expected, null, a nested object) fails here.
enum MetrcShapes {
    /// An item as `GET /items/v2/active` writes it: `ProductCategoryType` and `QuantityType` as text.
    static func item(id: Int, name: String, category: String, categoryType: String = #""Buds""#,
                     quantityType: String = #""WeightBased""#) -> String {
        """
        {"Id": \(id), "Name": "\(name)", "ProductCategoryName": "\(category)", "ProductCategoryType": \(categoryType), \
        "QuantityType": \(quantityType), "DefaultLabTestingState": "NotSubmitted", "UnitOfMeasureName": "Grams", \
        "ApprovalStatus": "Approved", "StrainId": 12, "StrainName": "Blue Dream", "IsUsed": true}
        """
    }

    /// A package as `GET /packages/v2/active` writes it, the item nested; in Metrc's package
    /// examples the nested `ProductCategoryType` and `QuantityType` are integers.
    static func package(_ label: String, item: String = "Blue Dream Buds", category: String = "Buds",
                        categoryType: String = "0", quantityType: String = "0",
                        lastModified: String? = "2026-01-05T17:44:03+00:00", extraFields: String = "") -> String {
        """
        {"Id": 7301, "Label": "\(label)", \(extraFields)"PackageType": "Product", "SourceHarvestNames": "BD-2025-12", \
        "SourcePackageLabels": "\(tag(900))", "LocationName": "Vault", "Quantity": 100.5, "UnitOfMeasureName": "Grams", \
        "UnitOfMeasureAbbreviation": "g", "PackagedDate": "2026-01-05", "ExpirationDate": null, \
        "InitialLabTestingState": "NotSubmitted", "LabTestingState": "TestPassed", "LabTestingStateDate": "2026-01-04", \
        "IsProductionBatch": false, "ProductionBatchNumber": null, "SourceProductionBatchNumbers": "", \
        "IsTradeSample": false, "IsDonation": false, "IsTestingSample": false, "ProductRequiresRemediation": false, \
        "ContainsRemediatedProduct": false, "ReceivedDateTime": null, "ReceivedFromFacilityLicenseNumber": null, \
        "IsOnHold": false, "IsFinished": false, "FinishedDate": null, "ArchivedDate": null, \
        "LastModified": \(lastModified.map { "\"\($0)\"" } ?? "null"), \
        "Item": {"Id": 3, "Name": "\(item)", "ProductCategoryName": "\(category)", "ProductCategoryType": \(categoryType), \
        "QuantityType": \(quantityType), "DefaultLabTestingState": "NotSubmitted", "UnitOfMeasureName": "Grams", \
        "ApprovalStatus": "Approved", "StrainId": 12, "StrainName": "Blue Dream", "UnitThcPercent": null, \
        "UnitWeight": null, "ItemBrandName": null, "IsUsed": true}}
        """
    }

    /// v2's paging envelope around these records.
    static func envelope(_ records: [String], page: Int = 1, totalPages: Int = 1, pageSize: Int = 20) -> String {
        let total = max(0, (totalPages - 1) * pageSize) + records.count
        return """
            {"Data": [\(records.joined(separator: ",\n"))],
             "Total": \(total), "TotalRecords": \(total), "PageSize": \(pageSize), "RecordsOnPage": \(records.count),
             "Page": \(page), "CurrentPage": \(page), "TotalPages": \(totalPages)}
            """
    }
}

@Suite("Catalog pages from Metrc's API")
struct CatalogPageTests {
    func packages(_ text: String, endpoint: String = "GET /packages/v2/active") throws(MetrcPageError) -> MetrcPage<Catalog.Package> {
        try CatalogReader.readPackagePage(Array(text.utf8), endpoint: endpoint)
    }

    func items(_ text: String, endpoint: String = "GET /items/v2/active") throws(MetrcPageError) -> MetrcPage<Catalog.Item> {
        try CatalogReader.readItemPage(Array(text.utf8), endpoint: endpoint)
    }

    /// The message of the error reading `text` as packages throws; fails the test when it reads.
    func packageError(_ text: String, endpoint: String = "GET /packages/v2/active") -> MetrcPageError? {
        #expect(throws: MetrcPageError.self) { try packages(text, endpoint: endpoint) }
        do {
            _ = try packages(text, endpoint: endpoint)
            return nil
        } catch {
            return error
        }
    }

    /// What ``MetrcShapes/package(_:item:category:categoryType:quantityType:lastModified:extraFields:)``
    /// writes, as the catalog keeps it; the nested item's integer `QuantityType` is not read.
    let budsPackage = Catalog.Package(tag: tag(101), item: "Blue Dream Buds", category: "Buds", quantity: 100.5,
                                      unitOfMeasure: "Grams", packagedDate: "2026-01-05", isOnHold: false,
                                      isFinished: false, labTestingState: "TestPassed",
                                      lastModified: "2026-01-05T17:44:03+00:00")
    /// An item as ``MetrcShapes/item(id:name:category:categoryType:quantityType:)`` writes it.
    func item(_ name: String, _ category: String, quantityType: QuantityType? = .weightBased) -> Catalog.Item {
        Catalog.Item(name: name, category: category, quantityType: quantityType, unitOfMeasure: "Grams")
    }

    // MARK: Shapes

    @Test func anEmptyEnvelopeIsTheLastPage() throws {
        // Metrc answers a window with nothing in it with no pages at all.
        let page = try packages(MetrcShapes.envelope([], page: 1, totalPages: 0))
        #expect(page == MetrcPage(records: [], page: 1, totalPages: 0, totalRecords: 0))
        #expect(page.isLastPage)
    }

    @Test func anEnvelopeOfOneRecord() throws {
        let page = try packages(MetrcShapes.envelope([MetrcShapes.package(tag(101))]))
        #expect(page.records == [MetrcRecord(entry: budsPackage, lastModified: "2026-01-05T17:44:03+00:00")])
        #expect(page.page == 1 && page.totalPages == 1 && page.isLastPage)
    }

    @Test func aFullPageOfTwentyInTheMiddleOfThree() throws {
        let records = (0..<20).map { MetrcShapes.package(tag(200 + $0), lastModified: "2026-01-05T10:\(10 + $0):00+00:00") }
        let page = try packages(MetrcShapes.envelope(records, page: 2, totalPages: 3))
        #expect(page.entries.map(\.tag) == (0..<20).map { tag(200 + $0) }, "every record, in Metrc's order")
        #expect(page.records.last?.lastModified == "2026-01-05T10:29:00+00:00")
        #expect(page.page == 2 && page.totalPages == 3)
        #expect(!page.isLastPage)
    }

    @Test func theTotalOfRecordsIsReadFromTheEnvelopeOrCounted() throws {
        // The sync compares it between the pages of one window to see records move meanwhile.
        #expect(try packages(MetrcShapes.envelope([MetrcShapes.package(tag(1))], page: 3, totalPages: 3)).totalRecords == 41)
        #expect(try packages(#"{"Data": [], "Total": 7, "CurrentPage": 1, "TotalPages": 1}"#).totalRecords == 7, "Total where TotalRecords is missing")
        #expect(try packages(#"{"Data": [], "CurrentPage": 1, "TotalPages": 1}"#).totalRecords == nil)
        #expect(try items("[\(MetrcShapes.item(id: 1, name: "A", category: "Buds"))]").totalRecords == 1)
        #expect(packageError(#"{"Data": [], "TotalRecords": "7", "CurrentPage": 1, "TotalPages": 1}"#)?.problem
                == .pagingFieldNotANumber(field: "TotalRecords", found: #"text "7""#))
    }

    @Test func badRecordsAreSkippedAndListedOnlyWhenAsked() throws {
        let text = MetrcShapes.envelope([MetrcShapes.item(id: 1, name: "A", category: "Buds"), #"{"ProductCategoryName": "Buds"}"#, "7",
                                         MetrcShapes.item(id: 4, name: "D", category: "Buds")])
        #expect(throws: MetrcPageError.self) { try items(text) }
        let page = try CatalogReader.readItemPage(Array(text.utf8), endpoint: "GET /items/v2/active page 1", skippingBadRecords: true)
        #expect(page.entries.map(\.name) == ["A", "D"])
        #expect(page.skipped.map(\.description) == ["GET /items/v2/active page 1, line 2: Data[1]: an item has no Name",
                                                    "GET /items/v2/active page 1, line 3: Data[2] must be a record (an object), found a number"])
        // The envelope itself is never skipped over.
        #expect(throws: MetrcPageError.self) {
            try CatalogReader.readItemPage(Array(#"{"Data": 3, "TotalPages": 1, "CurrentPage": 1}"#.utf8), endpoint: "e", skippingBadRecords: true)
        }
        // Nor is a package asked for by label: there is nothing else in the answer to keep.
        #expect(throws: MetrcPageError.self) {
            try CatalogReader.readPackagePage(Array(#"{"Label": "x", "Item": {}}"#.utf8), endpoint: "e", skippingBadRecords: true)
        }
    }

    @Test func aBareListIsOnePageOfOne() throws {
        // v1's items endpoint, and v2 endpoints without paging.
        let page = try items("""
            [\(MetrcShapes.item(id: 1, name: "Blue Dream Buds", category: "Buds")),
             \(MetrcShapes.item(id: 2, name: "BD Live Resin", category: "Concentrate", categoryType: #""Concentrate""#))]
            """, endpoint: "GET /items/v1/active")
        #expect(page.entries == [item("Blue Dream Buds", "Buds"), item("BD Live Resin", "Concentrate")])
        #expect(page.records.map(\.lastModified) == [nil, nil], "items carry no LastModified here")
        #expect(page.page == 1 && page.totalPages == 1 && page.isLastPage)
        #expect(try items("[]").records.isEmpty)
    }

    @Test func oneObjectIsOnePackageByLabel() throws {
        // GET /packages/v2/{label} answers the package itself; Metrc's labels may come in lower case.
        let page = try packages(MetrcShapes.package(tag(101).lowercased()), endpoint: "GET /packages/v2/\(tag(101))")
        #expect(page.records == [MetrcRecord(entry: budsPackage, lastModified: "2026-01-05T17:44:03+00:00")])
        #expect(page.isLastPage)
    }

    /// A quantity type is read only by its name: as a number it is an index into an enum whose
    /// order Metrc does not document, so it stays unknown (and the checks that need it are skipped).
    @Test(arguments: [("0", "0"), ("5", "1"), (#""Buds""#, #""WeightBased""#), ("null", "null"), (#""""#, "2.5")])
    func categoryTypesAsNumbersOrTextNeverMatter(categoryType: String, quantityType: String) throws {
        let named: QuantityType? = quantityType == #""WeightBased""# ? .weightBased : nil
        let package = MetrcShapes.package(tag(101), categoryType: categoryType, quantityType: quantityType)
        var expected = budsPackage
        expected.itemQuantityType = named
        #expect(try packages(MetrcShapes.envelope([package])).entries == [expected])
        let record = MetrcShapes.item(id: 1, name: "Blue Dream Buds", category: "Buds",
                                      categoryType: categoryType, quantityType: quantityType)
        #expect(try items(MetrcShapes.envelope([record])).entries == [item("Blue Dream Buds", "Buds", quantityType: named)])
    }

    @Test func transferRecordsWithTheOldFlatFieldsStillRead() throws {
        // Removed from packages in 2021, still written on transfer records: no nested Item.
        let page = try packages("""
            [{"PackageId": 7301, "PackageLabel": "\(tag(101))", "ProductName": "Blue Dream Buds",
              "ProductCategoryName": "Buds", "ShippedQuantity": 100, "LastModified": "2026-01-05T17:44:03Z"}]
            """, endpoint: "GET /transfers/v2/deliveries/package")
        let flat = Catalog.Package(tag: tag(101), item: "Blue Dream Buds", category: "Buds", lastModified: "2026-01-05T17:44:03Z")
        #expect(page.records == [MetrcRecord(entry: flat, lastModified: "2026-01-05T17:44:03Z")])
        // A nested Item, where there is one, wins over the flat fields.
        let both = MetrcShapes.package(tag(101), extraFields: #""ProductName": "Old Name", "ProductCategoryName": "Shake/Trim", "#)
        #expect(try packages(both).entries == [budsPackage])
    }

    /// Pages and files go through one mapping: the same records read the same either way.
    @Test func aPageReadsAsTheSameRecordsInAFileRead() throws {
        let records = [MetrcShapes.package(tag(101)), MetrcShapes.package(tag(102), item: "BD Resin", category: "Concentrate"),
                       #"{"Label": "\#(tag(103))", "ProductName": "Flat", "ProductCategoryName": "Buds"}"#]
        let fromFile = try CatalogReader.readPackages(Array("[\(records.joined(separator: ","))]".utf8), fileName: "p.json")
        #expect(try packages(MetrcShapes.envelope(records)).entries == fromFile)
        #expect(fromFile.count == 3)
    }

    // MARK: Missing fields

    @Test func fieldsThatMayBeMissing() throws {
        // No LastModified, and a nested item without its category: the item name is enough.
        let record = #"{"Label": "\#(tag(101))", "Item": {"Name": "Blue Dream Buds", "ProductCategoryType": 0}}"#
        #expect(try packages(record).records == [MetrcRecord(entry: Catalog.Package(tag: tag(101), item: "Blue Dream Buds", category: nil),
                                                             lastModified: nil)])
        // LastModified as null, or not as text, is no time at all rather than an error.
        #expect(try packages(MetrcShapes.package(tag(101), lastModified: nil)).records.first?.lastModified == nil)
        #expect(try packages(#"{"Label": "\#(tag(101))", "ProductName": "X", "LastModified": 1767635043}"#).records.first?.lastModified == nil)
        // Page without CurrentPage: Page serves.
        let pageOnly = #"{"Data": [], "Page": 4, "TotalPages": 4}"#
        #expect(try packages(pageOnly) == MetrcPage(records: [], page: 4, totalPages: 4))
    }

    @Test(arguments: [
        (#"{"Data": [{"Label": "\#(tag(101))", "Item": {"Id": 3, "ProductCategoryType": 0}}], "CurrentPage": 1, "TotalPages": 1}"#,
         "GET /packages/v2/active, line 1: Data[0]: package \(tag(101)) gives neither its item nor its category"),
        (#"[{"Id": 1, "Item": {"Name": "X", "ProductCategoryName": "Buds"}}]"#,
         "GET /packages/v2/active, line 1: [0]: a package has no Label (or Tag)"),
        (#"{"Label": "1A4F", "Item": {"Name": "X"}}"#,
         "GET /packages/v2/active, line 1: Label must be a Metrc tag of 24 letters A-Z and digits, found \"1A4F\" (4 characters)"),
        (#"{"Data": [], "CurrentPage": 1}"#,
         "GET /packages/v2/active, line 1: the answer has Data but no TotalPages, so whether more pages follow is unknown"),
        (#"{"Data": [], "TotalPages": 1}"#,
         "GET /packages/v2/active, line 1: the answer has Data but no CurrentPage, so whether more pages follow is unknown"),
    ])
    func missingFieldsThatAreNeeded(text: String, message: String) {
        #expect(packageError(text)?.description == message)
    }

    @Test func anItemWithoutItsCategoryNamesTheItemAndTheRecord() {
        let text = MetrcShapes.envelope([MetrcShapes.item(id: 1, name: "Blue Dream Buds", category: "Buds"),
                                         #"{"Id": 2, "Name": "Mystery", "ProductCategoryType": 0}"#])
        #expect(throws: MetrcPageError(endpoint: "GET /items/v2/active page 1", line: 2,
                                       problem: .badRecord(path: "Data[1]", reason: "item \"Mystery\" has no ProductCategoryName (or Category)"))) {
            try items(text, endpoint: "GET /items/v2/active page 1")
        }
    }

    // MARK: Garbage

    @Test(arguments: [
        ("<html><body>502 Bad Gateway</body></html>",
         "GET /packages/v2/active, line 1: column 1: the answer is not JSON (unexpected '<' where a value was expected); is the server Metrc's API?"),
        ("Unauthorized", "GET /packages/v2/active, line 1: column 1: the answer is not JSON ('Unauthorized' is not a JSON value (numbers are written in digits, text in double quotes)); is the server Metrc's API?"),
        (#"{"Data": [1, "#, "GET /packages/v2/active, line 1: column 14: the answer is not JSON (the text ends where a value was expected); is the server Metrc's API?"),
        ("  \n ", "GET /packages/v2/active: the answer is empty; expected Metrc's records as JSON"),
        ("42", "GET /packages/v2/active, line 1: expected Metrc's records (a list, an object with Data, or one record), found a number"),
        ("null", "GET /packages/v2/active, line 1: expected Metrc's records (a list, an object with Data, or one record), found null"),
        (#"{"Message": "No data found for this license."}"#,
         "GET /packages/v2/active, line 1: Metrc answered with a message instead of records: \"No data found for this license.\""),
        (#"{"Total": 3, "CurrentPage": 1, "TotalPages": 1}"#,
         "GET /packages/v2/active, line 1: the answer has paging fields but no Data, the list of records"),
        (#"{"Data": {"Label": "x"}, "TotalPages": 1}"#, "GET /packages/v2/active, line 1: Data must be the list of records, found an object"),
        (#"{"Data": [], "CurrentPage": 1, "TotalPages": "3"}"#,
         "GET /packages/v2/active, line 1: TotalPages must be a whole number of 0 or more, found text \"3\""),
        (#"{"Data": [], "CurrentPage": 1, "TotalPages": 2.5}"#,
         "GET /packages/v2/active, line 1: TotalPages must be a whole number of 0 or more, found a number"),
        (#"{"Data": [], "CurrentPage": -1, "TotalPages": 2}"#,
         "GET /packages/v2/active, line 1: CurrentPage must be a whole number of 0 or more, found a number"),
        (#"{"Data": [], "CurrentPage": null, "TotalPages": 2}"#,
         "GET /packages/v2/active, line 1: CurrentPage must be a whole number of 0 or more, found null"),
        ("{\"Data\": [\n\"1A4FF01000000220000001\"\n], \"CurrentPage\": 1, \"TotalPages\": 1}",
         "GET /packages/v2/active, line 2: Data[0] must be a record (an object), found text \"1A4FF01000000220000001\""),
        ("[[]]", "GET /packages/v2/active, line 1: [0] must be a record (an object), found a list"),
    ])
    func garbageIsNamedWithTheEndpoint(text: String, message: String) {
        #expect(packageError(text)?.description == message)
    }

    @Test func bytesThatAreNotText() {
        let latin1: [UInt8] = Array(#"[{"Label": "caf"#.utf8) + [0xE9] + Array(#""}]"#.utf8)
        #expect(throws: MetrcPageError(endpoint: "GET /items/v2/active", line: 1, problem: .notText(column: 16))) {
            try CatalogReader.readItemPage(latin1, endpoint: "GET /items/v2/active")
        }
        // A gzip body that nobody inflated.
        #expect(throws: MetrcPageError(endpoint: "GET /items/v2/active", line: 1, problem: .notText(column: 2))) {
            try CatalogReader.readItemPage([0x1F, 0x8B, 0x08, 0x00], endpoint: "GET /items/v2/active")
        }
        let nul = #expect(throws: MetrcPageError.self) {
            try CatalogReader.readItemPage(Array("[\n{}\0]".utf8), endpoint: "GET /items/v2/active")
        }
        #expect(nul?.description == "GET /items/v2/active, line 2: the answer is not UTF-8 text; is the server Metrc's API?")
    }

    // MARK: Limits

    @Test func anAnswerOverTheSizeCapIsRefusedBeforeItIsRead() throws {
        let cap = ManifestLimits.maximumMetrcAnswerSize
        // One long text in a list: the cap, not the content, decides, and text is quick to read.
        var body = Array(#"[""#.utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: cap - 4) + Array(#""]"#.utf8)
        #expect(throws: MetrcPageError(endpoint: "GET /packages/v1/active", line: 1,
                                       problem: .recordNotAnObject(path: "[0]", found: "text \"\(String(repeating: "a", count: 60))…\""))) {
            try CatalogReader.readPackagePage(body, endpoint: "GET /packages/v1/active")
        }
        body.append(0x20)
        let error = #expect(throws: MetrcPageError.self) {
            try CatalogReader.readPackagePage(body, endpoint: "GET /packages/v1/active")
        }
        #expect(error?.problem == .tooLarge(size: cap + 1, limit: cap))
        #expect(error?.description == "GET /packages/v1/active: the answer is \(cap + 1) bytes, over the 67,108,864-byte limit for one answer of Metrc's API: ask for a shorter lastModified window")
    }

    @Test func anAnswerOverTheValueCapStopsAtTheCap() throws {
        let cap = ManifestLimits.maximumJSONValues
        // The list and its empty objects: each one value.
        func body(objects: Int) -> [UInt8] { Array(("[" + Array(repeating: "{}", count: objects).joined(separator: ",") + "]").utf8) }
        // At the cap every value is read, so the first record is the problem, not the cap.
        #expect(throws: MetrcPageError(endpoint: "GET /packages/v1/active", line: 1,
                                       problem: .badRecord(path: "[0]", reason: "a package has no Label (or Tag)"))) {
            try CatalogReader.readPackagePage(body(objects: cap - 1), endpoint: "GET /packages/v1/active")
        }
        let error = #expect(throws: MetrcPageError.self) {
            try CatalogReader.readPackagePage(body(objects: cap), endpoint: "GET /packages/v1/active")
        }
        #expect(error?.problem == .exceedsLimit(reason: "the JSON holds more than 2,000,000 values"))
        #expect(error?.description == "GET /packages/v1/active, line 1: the JSON holds more than 2,000,000 values: more than one answer of Metrc's API can hold; ask for a shorter lastModified window")
    }

    /// The caps' reasoning in ``ManifestLimits/maximumMetrcAnswerSize``, measured on the shapes
    /// above: a full v2 page is far under both caps, and the value cap and the size cap are reached
    /// at about the same number of package records.
    @Test func aFullPageIsFarUnderTheCapsAndTheCapsAgree() throws {
        func values(_ value: JSONValue) -> Int {
            switch value {
            case .array(let list): 1 + list.reduce(0) { $0 + values($1.value) }
            case .object(let members): 1 + members.reduce(0) { $0 + values($1.value) }
            default: 1
            }
        }
        let record = MetrcShapes.package(tag(101))
        let valuesInARecord = values(try JSONParser.parse(Array(record.utf8)).value)
        let page = MetrcShapes.envelope(Array(repeating: record, count: 20))
        let valuesInAPage = values(try JSONParser.parse(Array(page.utf8)).value)
        #expect(valuesInAPage < ManifestLimits.maximumJSONValues / 500)
        #expect(page.utf8.count < ManifestLimits.maximumMetrcAnswerSize / 500)

        let recordsBySize = ManifestLimits.maximumMetrcAnswerSize / (record.utf8.count + 1)
        let recordsByValues = ManifestLimits.maximumJSONValues / valuesInARecord
        let ratio = Double(recordsBySize) / Double(recordsByValues)
        #expect(ratio > 0.5 && ratio < 2,
                "a record is \(record.utf8.count) bytes and \(valuesInARecord) values: \(recordsBySize) fit the size cap, \(recordsByValues) the value cap")
    }
}
