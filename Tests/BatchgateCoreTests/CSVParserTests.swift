import Testing
@testable import BatchgateCore

@Suite("CSV parser")
struct CSVParserTests {
    func records(_ text: String, _ delimiter: Character = ",") throws(CSVSyntaxError) -> [CSVRecord] {
        try CSVParser.parse(Array(text.utf8)[...], delimiter: delimiter.asciiValue!)
    }

    @Test func splitsPlainRecordsWithLineNumbers() throws {
        let rows = try records("a,b,c\n1,2,3\n")
        #expect(rows == [CSVRecord(cells: ["a", "b", "c"], line: 1), CSVRecord(cells: ["1", "2", "3"], line: 2)])
    }

    @Test func handlesQuotedDelimitersDoubledQuotesAndLineBreaks() throws {
        let rows = try records("name,note\r\n\"Blue, Dream\",\"a \"\"big\"\"\r\nbatch\"\r\nx,\"\"\r\n")
        #expect(rows.count == 3)
        #expect(rows[1].cells == ["Blue, Dream", "a \"big\"\r\nbatch"])
        #expect(rows[1].line == 2)
        #expect(rows[2].cells == ["x", ""])
        #expect(rows[2].line == 4, "the line break inside the quoted cell counts")
    }

    @Test func acceptsSpacesAroundQuotedCells() throws {
        let rows = try records("a, \"b, c\" ,d")
        #expect(rows[0].cells == ["a", "b, c", "d"])
    }

    @Test func keepsEmptyCellsAndLastLineWithoutNewline() throws {
        let rows = try records("a,,c\n,,\nlast")
        #expect(rows.map(\.cells) == [["a", "", "c"], ["", "", ""], ["last"]])
        #expect(rows[1].isBlank)
    }

    @Test func loneCarriageReturnEndsARecord() throws {
        let rows = try records("a,b\rc,d\r")
        #expect(rows.map(\.cells) == [["a", "b"], ["c", "d"]])
        #expect(rows.map(\.line) == [1, 2])
    }

    @Test func reportsAnUnterminatedQuoteAtTheLineItOpens() {
        #expect(throws: CSVSyntaxError(reason: "a quoted cell opened here is never closed (a '\"' is missing)", line: 2)) {
            try records("a,b\n1,\"open\n2,3\n")
        }
    }

    @Test func reportsAStrayQuote() throws {
        let error = #expect(throws: CSVSyntaxError.self) { try records("a,b\n1,ab\"c\n") }
        #expect(error?.line == 2)
        #expect(error?.reason.contains("inside an unquoted cell") == true)
        let after = #expect(throws: CSVSyntaxError.self) { try records("a,b\n\"x\"y,1\n") }
        #expect(after?.reason.contains("follows the closing quote") == true)
    }

    @Test(arguments: [
        ("Tag,Item,Quantity\n", ","),
        ("Tag;Item;Quantity\n", ";"),
        ("Tag\tItem\tQuantity\n", "\t"),
        ("\"Tag;x\",Item,Qty;Unit\n", ","),
        ("Tag\n", ","),
        ("Tag;\"a,b,c,d\";Unit\n", ";"),
    ])
    func detectsTheDelimiterFromTheHeader(header: String, expected: String) {
        #expect(CSVParser.detectDelimiter(Array(header.utf8)[...]) == Character(expected).asciiValue!)
    }
}
