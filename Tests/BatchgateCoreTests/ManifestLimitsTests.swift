import Testing
@testable import BatchgateCore

/// Each cap of ``ManifestLimits``: a file at the cap is read, one just past it is refused with one
/// error that names the place and the cap, and nothing past the cap is built.
@Suite("Manifest limits")
struct ManifestLimitsTests {
    let g = ManifestLimits.grouped
    let ingredient = #"{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams"}"#
    let csvHeader = "Tag,Item,Quantity,UnitOfMeasure,Source Package,Source Quantity,Source UoM\n"
    let csvRow = "1A4FF0300000022000000001,Buds,1,Grams,1A4FF0100000022000000001,1,Grams\n"

    func splitIt(_ reason: String) -> String {
        "\(reason); batchgate reads no more in one manifest, far more than \(g(ManifestLimits.maximumPackages)) packages need: split it into smaller manifests"
    }

    @Test func groupsDigits() {
        #expect(ManifestLimits.grouped(2_000_000) == "2,000,000")
        #expect(ManifestLimits.grouped(999) == "999")
        #expect(ManifestLimits.grouped(1_000) == "1,000")
        #expect(ManifestLimits.grouped(0) == "0")
    }

    // MARK: JSON

    /// `[0,0,…]` of 16 MB once took 4.1 GB and 20 s: the parser now stops at the first value past the cap.
    @Test func jsonValues() {
        let cap = ManifestLimits.maximumJSONValues
        // The object, the two lists and the zeros: three values besides the zeros.
        let prefix = #"{"Packages": [], "x": ["#
        func text(zeros: Int) -> String { prefix + Array(repeating: "0", count: zeros).joined(separator: ",") + "]}" }

        let atCap = check(text(zeros: cap - 3))
        #expect(atCap.errors.map(\.message) == ["the manifest holds no package"], "read through to the end")

        let over = check(text(zeros: cap - 2))
        let column = prefix.utf8.count + 2 * (cap - 3) + 1  // the last zero
        #expect(over.errors.map(\.message) == [splitIt("the JSON holds more than \(g(cap)) values (at line 1, column \(column))")])
        #expect(over.errors.first?.line == 1)
    }

    @Test func jsonValuesInTheParserItself() throws {
        #expect(try JSONParser.parse(Array("[1,[2]]".utf8), maximumValues: 4).value
            == .array([JSONElement(.number(1), line: 1), JSONElement(.array([JSONElement(.number(2), line: 1)]), line: 1)]))
        let error = #expect(throws: JSONSyntaxError.self) {
            try JSONParser.parse(Array("[1,\n [2]]".utf8), maximumValues: 3)
        }
        #expect(error == JSONSyntaxError(reason: "the JSON holds more than 3 values", line: 2, column: 3, exceedsLimit: true))
        // Unlimited by default: catalog files and the daemon's own files are not manifests.
        let many = "[" + Array(repeating: "0", count: 100_000).joined(separator: ",") + "]"
        #expect(throws: Never.self) { try JSONParser.parse(Array(many.utf8)) }
    }

    @Test func jsonMembersOfOneObject() {
        let cap = ManifestLimits.maximumJSONMembers
        func text(members: Int) -> String {
            "{\"Packages\": [],\n" + (1..<members).map { "\"k\($0)\": 0" }.joined(separator: ", ") + "}"
        }
        #expect(check(text(members: cap)).errors.map(\.message) == ["the manifest holds no package"])
        let over = check(text(members: cap + 1))
        let column = (1..<cap).map { "\"k\($0)\": 0" }.joined(separator: ", ").utf8.count + 3  // the key past the cap
        #expect(over.errors.map(\.message)
            == [splitIt("an object holds more than \(g(cap)) properties (at line 2, column \(column))")])
        #expect(over.errors.first?.line == 2)
    }

    /// The package count is known from the list before any package is built (8,000,000 packages
    /// built to be counted took gigabytes).
    @Test func jsonPackagesAreCountedBeforeTheyAreBuilt() {
        let cap = ManifestLimits.maximumPackages
        let atCap = readJSON("[" + Array(repeating: "{}", count: cap).joined(separator: ",") + "]")
        #expect(atCap.manifest.packages.count == cap)
        let over = readJSON("[" + Array(repeating: "{}", count: cap + 1).joined(separator: ",") + "]")
        #expect(over.manifest.packages.isEmpty)
        #expect(over.issues.map(\.message)
            == ["the file holds \(cap + 1) packages; batchgate checks at most \(cap) in one file: split it into smaller manifests"])
    }

    @Test func jsonIngredientsOfTheWholeFile() throws {
        let cap = ManifestLimits.maximumIngredients
        func package(_ number: Int, ingredients: Int) -> String {
            #"{"Tag": "\#(tag(number))", "Item": "Buds", "Quantity": 1, "UnitOfMeasure": "Grams", "Ingredients": ["#
                + Array(repeating: ingredient, count: ingredients).joined(separator: ",") + "]}"
        }
        let atCap = readJSON("[" + package(1_001, ingredients: cap / 2) + ",\n" + package(1_002, ingredients: cap - cap / 2) + "]")
        #expect(atCap.issues == [])
        #expect(atCap.manifest.packages.map(\.ingredients.count) == [cap / 2, cap - cap / 2])

        let over = readJSON("[" + package(1_001, ingredients: cap / 2) + ",\n" + package(1_002, ingredients: cap - cap / 2 + 1) + "]")
        #expect(over.manifest.packages.isEmpty)
        let issue = try #require(over.issues.first)
        #expect(over.issues.count == 1)
        #expect(issue.message == "Packages[1].Ingredients (line 2) brings the file to \(g(cap + 1)) ingredients; batchgate reads at most \(g(cap)) in one manifest (10 a package at the \(g(ManifestLimits.maximumPackages))-package limit): split it into smaller manifests")
        #expect(issue.line == 2 && issue.field == "Ingredients")
    }

    /// An additive object without a name is exactly one issue, so n of them are n issues.
    @Test func jsonIssues() throws {
        let cap = ManifestLimits.maximumIssues
        func text(issues: Int) -> String {
            "[" + packageJSON(category: "Buds", extra: "\"Additives\": [\n" + Array(repeating: "{}", count: issues).joined(separator: ",") + "]") + "]"
        }
        let atCap = readJSON(text(issues: cap))
        #expect(atCap.issues.count == cap)
        #expect(atCap.manifest.packages.count == 1)

        let over = readJSON(text(issues: cap + 1))
        #expect(over.manifest.packages.isEmpty)
        #expect(over.issues.count == ManifestChecker.maximumListedErrors, "the first ones and the stop, nothing dropped by the report")
        #expect(over.issues.first?.message == "Packages[0].Additives (line 2): entry 0 needs a Name")
        let stop = try #require(over.issues.last)
        #expect(stop.message == "the file has more than \(g(cap)) problems (at line 2); batchgate stopped reading there: fix the first ones listed and check the file again")
        let report = ManifestChecker().evaluate(over, file: "m.json")
        #expect(report.decision == .rejected && report.errors.last == stop, "the report lists the stop, not '… and N more'")
    }

    // MARK: CSV

    /// Blank rows are dropped while parsing (16 MB of them took 1.3 GB as 16 million records) and
    /// do not count toward the row cap; the error's line counts them.
    @Test func csvRowsBelowTheHeader() {
        let cap = ManifestLimits.maximumIngredients
        let blank = String(repeating: "\n", count: 1_000) + String(repeating: ",,,\r\n", count: 1_000)
        let atCap = readCSV(blank + csvHeader + blank + String(repeating: csvRow, count: cap) + blank)
        #expect(atCap.issues == [])
        #expect(atCap.manifest.packages.first?.ingredients.count == cap)

        let over = readCSV(blank + csvHeader + blank + String(repeating: csvRow, count: cap + 1))
        let line = 2_000 + 1 + 2_000 + cap + 1  // the row past the cap
        #expect(over.issues.map(\.message) == [splitIt("the CSV holds more than \(g(cap)) rows below its header (blank rows aside) (at line \(line))")])
        #expect(over.issues.first?.line == line)
    }

    @Test func csvParserDropsBlankRecordsOnlyWhenAsked() throws {
        let text = Array("a,b\n\n , \n1,2\n".utf8)[...]
        #expect(try CSVParser.parse(text, delimiter: UInt8(ascii: ",")).count == 4)
        #expect(try CSVParser.parse(text, delimiter: UInt8(ascii: ","), skipBlankRecords: true)
            == [CSVRecord(cells: ["a", "b"], line: 1), CSVRecord(cells: ["1", "2"], line: 4)])
    }

    @Test func csvCellsOfOneRow() {
        let cap = ManifestLimits.maximumCSVCellsPerRow
        let named = String(csvHeader.dropLast())  // 7 cells
        func header(cells: Int) -> String { named + (8...cells).map { ",x\($0)" }.joined() + "\n" }
        let atCap = readCSV(header(cells: cap) + String(csvRow.dropLast()) + String(repeating: ",", count: cap - 7) + "\n")
        #expect(atCap.issues == [])
        #expect(readCSV(header(cells: cap + 1)).issues.map(\.message)
            == [splitIt("the row holds more than \(g(cap)) cells (at line 1)")])
        // A blank row is capped too: it is built cell by cell before it is known to be blank.
        let blankRow = readCSV(csvHeader + "\n" + String(repeating: ",", count: cap) + "\n" + csvRow)
        #expect(blankRow.issues.map(\.message) == [splitIt("the row holds more than \(g(cap)) cells (at line 3)")])
    }

    @Test func csvCellsOfTheWholeFile() throws {
        let cap = ManifestLimits.maximumCSVCells
        let width = 100
        let rows = cap / width - 1  // with the header, width * (rows + 1) <= cap cells
        try #require(rows < ManifestLimits.maximumIngredients && width <= ManifestLimits.maximumCSVCellsPerRow)
        let header = String(csvHeader.dropLast()) + (8...width).map { ",x\($0)" }.joined() + "\n"
        let row = String(csvRow.dropLast()) + String(repeating: ",", count: width - 7) + "\n"
        let atCap = readCSV(header + String(repeating: row, count: rows))
        #expect(atCap.issues == [])
        #expect(atCap.manifest.packages.first?.ingredients.count == rows)
        let over = readCSV(header + String(repeating: row, count: rows + 1))
        #expect(over.issues.map(\.message) == [splitIt("the CSV holds more than \(g(cap)) cells (blank rows aside) (at line \(rows + 2))")])
    }

    @Test func csvPackagesAreCountedBeforeTheyAreBuilt() {
        let cap = ManifestLimits.maximumPackages
        func text(packages: Int) -> String {
            csvHeader + (1...packages).map { "\(tag($0)),Buds,1,Grams,1A4FF0100000022000000001,1,Grams\n" }.joined()
        }
        #expect(readCSV(text(packages: cap)).manifest.packages.count == cap)
        let over = readCSV(text(packages: cap + 1))
        #expect(over.manifest.packages.isEmpty)
        #expect(over.issues.map(\.message)
            == ["the file holds \(cap + 1) packages; batchgate checks at most \(cap) in one file: split it into smaller manifests"])
    }

    /// Rows of one package that disagree with its first row: two conflicts a row (Item and Quantity).
    @Test func csvIssues() throws {
        let cap = ManifestLimits.maximumIssues
        let first = csvRow
        let conflicting = "1A4FF0300000022000000001,Trim,2,Grams,1A4FF0100000022000000001,1,Grams\n"
        let oneMore = "1A4FF0300000022000000001,Trim,1,Grams,1A4FF0100000022000000001,1,Grams\n"  // Item only
        let atCap = readCSV(csvHeader + first + String(repeating: conflicting, count: cap / 2) + String(repeating: oneMore, count: cap % 2))
        #expect(atCap.issues.count == cap)
        #expect(atCap.manifest.packages.count == 1)

        let over = readCSV(csvHeader + first + String(repeating: conflicting, count: cap / 2) + String(repeating: oneMore, count: cap % 2 + 1))
        #expect(over.manifest.packages.isEmpty)
        #expect(over.issues.count == ManifestChecker.maximumListedErrors)
        let line = 2 + cap / 2 + cap % 2 + 1
        #expect(over.issues.last?.message == "the file has more than \(g(cap)) problems (at line \(line)); batchgate stopped reading there: fix the first ones listed and check the file again")
    }
}
