import Testing
@testable import BatchgateCore

/// The fast paths of issue 19 against what they replaced: numbers read without strtod, texts and
/// input scanned eight or sixteen bytes at a time, reports escaped piece by piece. Each must give
/// the very bytes the plain way gives, so each is compared with it on the inputs where a shortcut
/// could differ (a differential fuzz of the old and new binaries found no difference; these keep
/// the cases it leaned on).
@Suite("Speed-up regressions")
struct SpeedRegressionTests {
    /// Numbers where gathering the digits into an integer could round differently from strtod: the
    /// 15-digit edge, fractions, zeros, signs and exponents.
    static let numberTexts = [
        "0", "-0", "-0.0", "0.0", "0.5", "-0.5", "0.1", "0.2", "0.3", "0.30000000000000004", "1.10", "408.72",
        "123456789012345", "1234567890123456", "12345678901234567890", "999999999999999", "9999999999999999",
        "0.123456789012345", "0.1234567890123456", "123456789.123456", "12345678.1234567", "0.000000000000001",
        "0.0000000000000001", "9007199254740993", "4503599627370497.5", "99999.995", "1e3", "1E+2", "1.5e-7", "1e308",
        "4.9e-324", "2.2250738585072014e-308", "0e0", "1.7976931348623157e308",
    ]

    @Test(arguments: numberTexts)
    func jsonNumbersReadAsStrtodReadsThem(text: String) throws {
        guard case .number(let value) = try JSONParser.parse(Array(text.utf8)[...]).value else {
            Issue.record("\(text) is not read as a number")
            return
        }
        #expect(value.bitPattern == Double(text)!.bitPattern, "\(text)")
    }

    @Test(arguments: numberTexts.filter { !$0.contains("e") && !$0.contains("E") } + ["+5", ".5", "5.", "007.50", " 300 "])
    func csvDecimalsReadAsStrtodReadsThem(text: String) throws {
        let value = try #require(FieldSyntax.decimal(text))
        #expect(value.bitPattern == Double(text.trimmingWhitespace())!.bitPattern, "\(text)")
    }

    /// A byte the eight-at-a-time string scan must stop at, at every offset from the opening quote.
    @Test(arguments: 0..<20)
    func jsonStringScanStopsAtEveryOffset(offset: Int) throws {
        let plain = String(repeating: "x", count: offset)
        #expect(try JSONParser.parse(Array("\"\(plain)\\n\"".utf8)[...]).value == .string(plain + "\n"))
        #expect(try JSONParser.parse(Array("\"\(plain)\\u00e9\\\"é\"".utf8)[...]).value == .string(plain + "é\"é"))
        #expect(try JSONParser.parse(Array("\"\(plain)\" ".utf8)[...]).value == .string(plain))
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array("\"\(plain)\u{1}\"".utf8)[...]) }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array("\"\(plain)".utf8)[...]) }
    }

    /// A NUL or a non-ASCII byte the eight-at-a-time input check must see, at every offset.
    @Test(arguments: 0..<20)
    func textInputSeesEveryOffset(offset: Int) throws {
        let plain = Array(String(repeating: "a", count: offset).utf8)
        #expect(throws: TextInput.Problem.binary(line: 1)) { try TextInput.validate(plain + [0] + Array("bcdefghij".utf8)) }
        #expect(throws: TextInput.Problem.invalidUTF8(line: 1, column: offset + 1)) {
            try TextInput.validate(plain + [0xFF] + Array("bcdefghij".utf8))
        }
        #expect(Array(try TextInput.validate(plain + Array("é\nbcdefghij".utf8))) == plain + Array("é\nbcdefghij".utf8))
    }

    /// The writer copies the plain run of a text whole, sixteen bytes tested at a time: a byte to
    /// escape at any offset is still escaped.
    @Test(arguments: 0..<40)
    func jsonWriterEscapesAtEveryOffset(offset: Int) {
        let plain = String(repeating: "x", count: offset)
        for (byte, escaped) in [("\"", "\\\""), ("\\", "\\\\"), ("\n", "\\n"), ("\u{7}", "\\u0007"), ("\u{7F}", "\\u007f")] {
            var writer = JSONWriter()
            writer.beginObject()
            writer.key(plain + byte)
            writer.string(byte + plain)
            writer.endObject()
            #expect(writer.text == "{\"\(plain)\(escaped)\":\"\(escaped)\(plain)\"}")
        }
    }

    /// A label goes in before its value as it is, a one-character label too (stored as a character,
    /// not a pointer), and the value after it is escaped.
    @Test func jsonWriterWritesALabelBeforeTheValue() {
        var writer = JSONWriter()
        writer.beginArray()
        writer.string("say \"hi\"\n", after: "-")
        writer.string("ok", after: "Fix: ")
        writer.string("", after: "")
        writer.endArray()
        #expect(writer.text == #"["-say \"hi\"\n","Fix: ok",""]"#)
    }

    /// A package request and a verdict share their fields' box between copies: changing a copy,
    /// an array inside it too, must leave the original as it was, and equality still compares the
    /// fields.
    @Test func sharedFieldsAreCopiedOnWrite() {
        var request = PackageRequest(position: SourcePosition(line: 3, packageIndex: 0))
        request.tag = "1A4FF0300000022000001091"
        request.ingredients.append(Ingredient(position: SourcePosition(line: 4, packageIndex: 0, ingredientIndex: 0)))
        let original = request
        var copy = request
        #expect(copy == original)
        copy.tag = "1A4FF0300000022000001092"
        copy.ingredients[0].package = "1A4FF0100000022000000211"
        copy.ingredients.append(Ingredient(position: SourcePosition(line: 5, packageIndex: 0, ingredientIndex: 1)))
        #expect(original.tag == "1A4FF0300000022000001091")
        #expect(original.ingredients.count == 1 && original.ingredients[0].package == nil)
        #expect(copy.ingredients.count == 2 && copy != original)
        var same = PackageRequest(position: SourcePosition(line: 3, packageIndex: 0))
        same.tag = "1A4FF0300000022000001091"
        same.ingredients = original.ingredients
        #expect(same == original)

        let report = ManifestChecker().check(fileName: "m.json", bytes: Array(#"[{"Tag":"1A4FF0300000022000001091","Item":"Kief","ItemCategory":"Kief","Quantity":1,"UnitOfMeasure":"Grams","ActualDate":"2025-03-24","ProcessingStep":"Rolling","Ingredients":[{"Package":"1A4FF0100000022000000211","Quantity":1,"UnitOfMeasure":"Grams","ItemCategory":"Buds"}]}]"#.utf8))
        let verdict = report.packages[0]
        var changed = verdict
        changed.findings.removeAll()
        changed.notes.append("changed")
        #expect(report.packages[0].findings.count == verdict.findings.count && !verdict.findings.isEmpty)
        #expect(verdict.notes.isEmpty && changed != verdict)
    }

    /// Names compared in place, trimmed of ASCII white space and in any ASCII case, agree with the
    /// comparison keys; beyond ASCII (a no-break space, an accent, the Kelvin sign) they still do.
    @Test(arguments: [
        ("Buds", "buds"), (" Buds\t", "BUDS"), ("Buds", "Bud"), ("", "  "), ("Kief", "Kief "), ("Vape\r\n", "vape"),
        ("Buds\u{A0}", "buds"), ("Café", "CAFÉ"), ("Café", "cafe\u{301}"), ("\u{212A}ief", "kief"), ("Pre-Roll", "pre roll"),
        ("\u{1C}Buds", "buds"), ("Buds\u{1F}", "BUDS\u{1F}"), ("\u{0}Kief", "\u{0}kief"), ("Kief\u{7F}", "kief"), ("@", "`"),
    ])
    func namesCompareAsTheirKeys(a: String, b: String) {
        #expect(a.isSameName(as: b) == (a.comparisonKey == b.comparisonKey), "\(a.debugDescription) vs \(b.debugDescription)")
        #expect(b.isSameName(as: a) == a.isSameName(as: b))
    }

    /// A request whose quantity is not a number equals no copy of itself, as before the box (the
    /// readers refuse such a number; the library's callers may not).
    @Test func equalityComparesFieldsEvenOfOneBox() {
        var request = PackageRequest(position: SourcePosition(line: 1, packageIndex: 0))
        request.quantity = .nan
        let copy = request
        #expect(copy != request)
        #expect(String(describing: request).contains("quantity: Optional(nan)"), "\(request)")
    }

    /// Past the sixteen ingredient paths made in advance, evidence still names its ingredient; and
    /// a form change by more than one ingredient names the first and counts the others.
    @Test func ingredientsPastTheFirstSixteenAreNamedAndCounted() {
        func tag(_ number: Int) -> String { "1A4FF010000002200000" + String(number + 1000) }
        let categories = Array(repeating: "Concentrate", count: 16) + ["Buds", "Shake"]
        let ingredients = categories.enumerated().map { index, category in
            #"{"Package":"\#(tag(index))","Quantity":1,"UnitOfMeasure":"Grams","ItemCategory":"\#(category)"}"#
        }
        let json = #"[{"Tag":"1A4FF0300000022000001091","Item":"House Concentrate","ItemCategory":"Concentrate","Quantity":1,"UnitOfMeasure":"Grams","ActualDate":"2025-03-24","Ingredients":["# + ingredients.joined(separator: ",") + "]}]"
        let findings = ManifestChecker().check(fileName: "m.json", bytes: Array(json.utf8)).packages[0].findings
        #expect(findings.first { $0.rule == .categoryChange }?.evidence.field == "Ingredients[16].ItemCategory")
        #expect(findings.first { $0.rule == .multipleCategories }?.evidence.field == "Ingredients[16].ItemCategory")
        #expect(findings.first { $0.rule == .formChange }?.message
                    == "Ingredient \(tag(16)) (and 1 more) is plant material (Buds) and the new package is a concentrate (Concentrate), so the product changes form.")
    }

    /// Piece by piece, the text report escapes a control character (C0, DEL, C1) wherever it stands,
    /// as the old report escaped each whole line (its lines here, from the binary before issue 19).
    @Test func textReportEscapesControlsInEveryPiece() {
        let json = #"[{"Tag":"1A4FF0300000022000001091","Item":"Buds\u0007 \u0085 Bell","ItemCategory":"Bu\u001bds","Quantity":1,"UnitOfMeasure":"Grams","ActualDate":"2025-03-24","ProcessingStep":"Cure\tand\rsplit","Ingredients":[{"Package":"1A4FF0100000022000000211","Quantity":1,"UnitOfMeasure":"Grams","ItemCategory":"Ki\u009bef"}]}]"#
        let text = ManifestChecker().check(fileName: "t.json", bytes: Array(json.utf8)).text
        #expect(text.contains("\n  1A4FF0300000022000001091  Buds\\x07 \\x85 Bell (Bu\\x1Bds)\n"))
        #expect(text.contains(
            "\n    error [form-change]: Package 1A4FF0300000022000001091 (Bu\\x1Bds) is made from Ki\\x9Bef (1A4FF0100000022000000211) by Cure\\tand\\rsplit, a processing step that changes the product's form.\n"))
    }
}

/// The sentence writer lists as the rules always have (`shortList`): the sentences of every
/// finding depend on it, and the golden outputs hold few lists longer than three.
@Suite struct SentenceWriterTests {
    private func listed(_ items: [String], joiner: StaticString? = nil) -> String {
        String(writing: { sentence in
            sentence.append("[")
            sentence.appendShortList(items.count, joiner: joiner) { index, sentence in sentence.append(items[index]) }
            sentence.append("]")
        })
    }

    @Test func listsLikeTheRules() {
        #expect(listed([]) == "[]")
        #expect(listed(["a"]) == "[a]")
        #expect(listed(["a", "b"]) == "[a and b]")
        #expect(listed(["a", "b", "c"]) == "[a, b and c]")
        #expect(listed(["a", "b", "c", "d"]) == "[a, b, c and 1 more]")
        #expect(listed(["a", "b", "c", "d", "e", "f"]) == "[a, b, c and 3 more]")
        #expect(listed(["a", "b"], joiner: ", ") == "[a, b]")
        #expect(listed(["a", "b", "c"], joiner: ", ") == "[a, b, c]")
        #expect(listed(["a", "b", "c", "d", "e"], joiner: ", ") == "[a, b, c and 2 more]")
    }

    @Test func writesNothingAsAnEmptyStringAndKeepsUnicode() {
        #expect(String(writing: { _ in }) == "")
        #expect(String(writing: { $0.append("Ingrédient "); $0.append(12); $0.append(" 🌿") }) == "Ingrédient 12 🌿")
    }

    /// A sentence is written into room on the stack (1,024 bytes); one longer than that room (long
    /// names) is written again into a string of its length: whole either way, at the edge too, and
    /// with a two-byte character across the edge.
    @Test(arguments: [17, 1023, 1024, 1025, 5000])
    func aSentenceLongerThanItsRoomIsWrittenWhole(length: Int) {
        // `Item "` and `" says so.` are 16 bytes; the name fills the rest.
        for lead in ["", "x"] {
            let nameBytes = length - 16 - lead.utf8.count
            let name = lead + String(repeating: "é", count: nameBytes / 2) + String(repeating: "x", count: nameBytes % 2)
            let sentence = String(writing: { $0.append("Item \""); $0.append(name); $0.append("\" says so.") })
            #expect(sentence == "Item \"" + name + "\" says so.")
            #expect(sentence.utf8.count == length)
        }
    }

    /// `member` writes what `key` and `string` (or `bool`, `int`) write, commas and escapes included.
    @Test func jsonWriterMembersAreKeysWithTheirValues() {
        var members = JSONWriter()
        members.beginObject()
        members.member("a", "x\"y")
        members.member("bb", nil as String?)
        members.member("c", true)
        members.member("d", 12)
        members.member("e", nil as Int?)
        members.member("f", "plain")
        members.endObject()

        var pieces = JSONWriter()
        pieces.beginObject()
        pieces.key("a"); pieces.string("x\"y")
        pieces.key("bb"); pieces.string(nil)
        pieces.key("c"); pieces.bool(true)
        pieces.key("d"); pieces.int(12)
        pieces.key("e"); pieces.int(nil)
        pieces.key("f"); pieces.string("plain")
        pieces.endObject()

        #expect(members.text == #"{"a":"x\"y","bb":null,"c":true,"d":12,"e":null,"f":"plain"}"#)
        #expect(members.text == pieces.text)
    }

    /// A scan for bytes to escape tests eight bytes at a time below sixteen, the last eight
    /// overlapping: at every length and every offset it stops where a byte-by-byte scan does, at
    /// each stop byte, and passes bytes beyond ASCII (the text report stops at 0xC2, the start of
    /// C1 controls).
    @Test(arguments: 0...40)
    func stopBytesFindTheFirstStopAtEveryOffset(length: Int) {
        let scans = [StopBytes(below: 0x20, a: UInt8(ascii: "\""), b: UInt8(ascii: "\\"), c: 0x7F),
                     StopBytes(below: 0x20, a: 0x7F, b: 0xC2, c: 0x7F)]
        // Plain bytes that sit next to stops in a word: letters, high bytes, 0x20 itself.
        let plain: [UInt8] = [0x78, 0xC3, 0xA9, 0x20, 0x80, 0xFF, 0x21, 0x7E, 0x5B, 0x23]
        for scan in scans {
            for stop: UInt8 in [0x00, 0x09, 0x0A, 0x1F, scan.a, scan.b, scan.c] {
                for offset in 0...length {
                    var bytes = (0..<length).map { plain[$0 % plain.count] }
                    if offset < length { bytes[offset] = stop }
                    let naive = bytes.firstIndex { $0 < scan.below || $0 == scan.a || $0 == scan.b || $0 == scan.c } ?? length
                    let found = bytes.withUnsafeBufferPointer { scan.plainPrefixLength(of: $0) }
                    #expect(found == naive, "length \(length), byte \(stop) at \(offset)")
                }
            }
        }
    }

    /// CSV cells are kept as places in the text and trimmed as bytes while their edges are ASCII;
    /// the result is what `trimmingWhitespace()` makes of the cell's string, Unicode white space
    /// and a space followed by a combining mark (one character, which is white space) included.
    @Test(arguments: [
        "", " ", "\t", "a", " a ", "\u{A0}a\u{A0}", "\u{2003}Tag\u{3000}", " \u{301}a", "a \u{301}", "\u{A0}", "é", " é ",
        "\"  q \"", "\" a \"\"b\"\" \"", "\"\u{A0}\"", "x\u{301} ", "\u{85}a\u{85}", "\u{B}\u{C}a\u{1C}", "\"line\nbreak \"",
    ])
    func csvCellsTrimAsTheirStringsDo(cell: String) throws {
        let text = Array("a,\(cell),b\n".utf8)[...]
        let table = try CSVParser.table(text, delimiter: UInt8(ascii: ","))
        let middle = table.cell(table.records[0], 1)
        #expect(table.string(table.trimmed(middle)) == table.string(middle).trimmingWhitespace())
        #expect(try CSVParser.parse(text, delimiter: UInt8(ascii: ","))[0].cells[1] == table.string(middle))
    }

    /// A record of white space alone is dropped as a blank one, its cells read as bytes (ASCII) or
    /// as characters (beyond it), as ``CSVRecord/isBlank`` reads them.
    @Test func csvBlankRecordsAreWhiteSpaceByCharacter() throws {
        let text = Array("h1,h2\n \t,\u{A0}\n\u{2003},\u{301}\n \u{301},\n\"\",\" \"\nx,\u{A0}\n".utf8)[...]
        let kept = try CSVParser.parse(text, delimiter: UInt8(ascii: ","), skipBlankRecords: true)
        let all = try CSVParser.parse(text, delimiter: UInt8(ascii: ","))
        #expect(kept == all.filter { !$0.isBlank })
        #expect(kept.map(\.line) == [1, 3, 6], "a lone combining mark is not white space; a space before one is")
    }

    /// Rows of one package compare as bytes first and as strings after: the same item written
    /// composed and decomposed agrees, as strings do, and a tag in lower case is the same package.
    @Test func csvRowsAgreeAsTheirStringsDo() {
        let reading = readCSV("""
            Tag,Item,Item Category,Quantity,UoM,Source Tag,Source Quantity,Source UoM
            \(tag(1)),Caf\u{E9},Concentrate,5,Grams,\(tag(101)),1,Grams
            \(tag(1).lowercased()),Cafe\u{301},Concentrate,5.00,Grams,\(tag(102)),1,Grams
             \(tag(1))\u{A0},Caf\u{E9} ,Concentrate, 5,grams,\(tag(103)),1,Grams
            """)
        #expect(reading.issues == [])
        #expect(reading.manifest.packages.count == 1)
        #expect(reading.manifest.packages.first?.ingredients.count == 3)
        #expect(reading.manifest.packages.first?.item == "Caf\u{E9}")
    }

    /// `true`, `false` and `null` are compared byte by byte: anything near them is refused by name.
    @Test(arguments: ["tru", "truee", "True", "fals", "falsey", "False", "nul", "nulll", "NULL", "t", "f", "n"])
    func jsonWordsAreExact(word: String) {
        let reading = readJSON("[{\"Tag\": \(word)}]")
        #expect(reading.issues.first?.message.contains("'\(word)' is not a JSON value") == true, "\(reading.issues)")
    }

    /// Property names are hashed from their length and their first and last eight bytes: names
    /// alike there but not in the middle stay apart, one the reader takes and one it does not; a
    /// name repeated in another case is still reported, taken or not, in a small object and past
    /// the 32 members where the names go into a dictionary.
    @Test(arguments: [0, 40])
    func propertyNamesAlikeAtTheirEdgesStayApart(padding: Int) {
        let extra = (0..<padding).map { "\"P\($0)\": 1" }
        let members = extra + [
            "\"ProductionXatchNumber\": \"not it\"", "\"ProductionBatchNumber\": \"PB-7\"",
            "\"ExtraBatchXumberValue\": 1", "\"ExtraBatchNumberValue\": 2", "\"EXTRABATCHNUMBERVALUE\": 3",
            "\"PRODUCTIONBATCHNUMBER\": \"PB-8\"",
        ]
        let reading = readJSON(packageJSON(extra: members.joined(separator: ", ")))
        #expect(reading.manifest.packages.first?.productionBatchNumber == "PB-7")
        let repeated = reading.issues.map(\.message).filter { $0.contains("twice") }
        #expect(repeated.count == 2, "\(repeated)")
        #expect(repeated.contains { $0.contains("\"EXTRABATCHNUMBERVALUE\" twice") })
        #expect(repeated.contains { $0.contains("\"PRODUCTIONBATCHNUMBER\" twice") })
        #expect(reading.issues.first { $0.message.contains("PRODUCTIONBATCHNUMBER") }?.field == "ProductionBatchNumber")
    }

    /// A property name written with escapes is the name it spells.
    @Test func escapedPropertyNamesAreTaken() {
        let reading = readJSON(#"[{"T\u0061g": "\#(tag(1))", "Item": "Resin", "ItemCategory": "Concentrate", "Quantity": 1, "UnitOfMeasure": "Grams", "Ingredients": [{"P\u0061ckage": "\#(tag(2))", "Quantity": 1, "UnitOfMeasure": "Grams"}]}]"#)
        #expect(reading.issues == [])
        #expect(reading.manifest.packages.first?.tag == tag(1))
        #expect(reading.manifest.packages.first?.ingredients.first?.package == tag(2))
    }

    /// The readers take text `TextInput` checked; a caller that passes bytes that are not UTF-8
    /// still gets each cell from inside its own bytes (a repaired string is longer than its bytes,
    /// and its offsets once reached into the next cell, or past the text).
    @Test func csvCellsThatAreNotUTF8StayInsideTheirBytes() throws {
        let text: ArraySlice<UInt8> = [0x61, 0x2C, 0xFF, 0x61, 0x2C, 0x53, 0x0A, 0x62, 0x2C, 0xFF, 0xFF, 0xFF, 0x78][...]
        let table = try CSVParser.table(text, delimiter: UInt8(ascii: ","))
        #expect(table.string(table.trimmed(table.cell(table.records[0], 1))) == "\u{FFFD}a")
        #expect(table.string(table.trimmed(table.cell(table.records[1], 1))) == "\u{FFFD}\u{FFFD}\u{FFFD}x")
    }

    /// Each property is read under its Metrc name in any case: the names come from the cases of the
    /// reader's field lists, so renaming a case would change what is read.
    @Test func everyPropertyIsReadByItsMetrcName() {
        let package = """
            {"tag": "\(tag(1))", "usesameitem": false, "item": "Resin", "itemcategory": "Concentrate", "quantity": 5,
             "unitofmeasure": "Grams", "isproductionbatch": true, "productionbatchnumber": "PB-1", "actualdate": "2025-03-10",
             "location": "Vault", "note": "Line 2", "processingstep": "Extraction",
             "additives": [{"name": "limonene", "kind": "terpene"}],
             "ingredients": [{"package": "\(tag(2))", "quantity": 1, "unitofmeasure": "Grams", "item": "Buds", "itemcategory": "Buds"}]}
            """
        let reading = readJSON("{\"licensenumber\": \"L-1\", \"facility\": \"North\", \"source\": \"scanner\", \"packages\": [\(package)]}")
        #expect(reading.issues == [])
        let manifest = reading.manifest
        #expect([manifest.licenseNumber, manifest.facility, manifest.source] == ["L-1", "North", "scanner"])
        let read = manifest.packages[0]
        #expect(read.tag == tag(1) && read.useSameItem == false && read.item == "Resin" && read.itemCategory == "Concentrate")
        #expect(read.quantity == 5 && read.unitOfMeasure == "Grams" && read.isProductionBatch == true)
        #expect(read.productionBatchNumber == "PB-1" && read.actualDate == "2025-03-10" && read.location == "Vault")
        #expect(read.note == "Line 2" && read.processingStep == "Extraction")
        #expect(read.additives == [Additive(name: "limonene", kind: .terpene)])
        let ingredient = read.ingredients[0]
        #expect(ingredient.package == tag(2) && ingredient.quantity == 1 && ingredient.unitOfMeasure == "Grams")
        #expect(ingredient.item == "Buds" && ingredient.itemCategory == "Buds")
    }

    // MARK: The report writer and the rules, second pass

    /// The inline copy (two overlapping loads and stores up to 32 bytes) gives the bytes `memcpy`
    /// gives, at every length around its cases, from every offset of a source.
    @Test func bytesAreCopiedWholeAtEveryLength() {
        let source = (0..<96).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for count in 0...70 {
            for offset in 0..<8 {
                var target = [UInt8](repeating: 0xEE, count: count + 16)
                source.withUnsafeBufferPointer { from in
                    target.withUnsafeMutableBufferPointer { to in
                        copyBytes(from: from.baseAddress! + offset, to: to.baseAddress! + 8, count: count)
                    }
                }
                #expect(Array(target[8..<(8 + count)]) == Array(source[offset..<(offset + count)]), "count \(count), offset \(offset)")
                // Nothing written around the run.
                #expect(target[..<8].allSatisfy { $0 == 0xEE } && target[(8 + count)...].allSatisfy { $0 == 0xEE }, "count \(count)")
            }
        }
    }

    /// The writer's own buffer grows past its first 4 KiB, and across many growths, keeping every
    /// byte written: a report of a large manifest runs to megabytes.
    @Test func theWriterKeepsEveryByteAcrossGrowth() {
        var json = JSONWriter()
        var expected = "["
        json.beginArray()
        for index in 0..<3_000 {
            let value = String(repeating: "v\(index % 10)", count: index % 50) + "\"q\""
            json.string(value)
            expected += (index == 0 ? "" : ",") + "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        json.endArray()
        expected += "]"
        #expect(json.text == expected)
        json.removeAll()
        json.string("again")
        #expect(json.text == "\"again\"")
    }

    /// Names and labels given in the code, including one of a single character (which a
    /// `StaticString` keeps as the character rather than a pointer), and the plain path for the
    /// names of cases, write what the escaping path writes.
    @Test func membersWriteTheirNamesLabelsAndPlainValues() {
        var json = JSONWriter()
        json.beginObject()
        json.member("x", "y")
        json.member("severity", plain: "error")
        json.member("rule", "form-change")
        json.key("rules")
        json.beginArray()
        json.string(plain: "additive")
        json.string("tick \"it\"", after: "Fix: ")
        json.string("é", after: "W")
        json.endArray()
        json.member("none", nil as String?)
        json.endObject()
        #expect(json.text == #"{"x":"y","severity":"error","rule":"form-change","rules":["additive","Fix: tick \"it\"","Wé"],"none":null}"#)
    }

    /// ASCII letters lower-cased straight into the new string, short (held inline) or long, with
    /// everything beyond ASCII as it was.
    @Test(arguments: ["", "abc", "ABC", "Blue Dream LIVE Resin 1G", "ÉCLAIR Résine", "ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNOP",
                      "ﬀ Straße İstanbul", "MIXED case 123 - / ."])
    func namesAreLowerCasedInASCIIOnly(name: String) {
        let expected = String(decoding: name.utf8.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, as: UTF8.self)
        #expect(name.asciiLowercased == expected)
        #expect(Array(name.asciiLowercased.utf8) == Array(expected.utf8))
    }

    /// A tag's last eight bytes: the same for the same tag, different for tags that differ there,
    /// and the same for tags that differ only before them (which `==` then tells apart).
    @Test func tagsAreToldApartByTheirLastEightBytesFirst() {
        #expect(tag(1).lastEightBytes == tag(1).lastEightBytes)
        #expect(tag(1).lastEightBytes != tag(2).lastEightBytes)
        let early = "1A4FF0300000022316314964", late = "1A4FF0400000022316314964"
        #expect(early.lastEightBytes == late.lastEightBytes && early != late)
        #expect("".lastEightBytes == 0 && "AB".lastEightBytes == 0x4142)
    }

    /// Two packages whose tags share their last eight bytes but not the rest are not one tag; the
    /// same tag twice is, also when other tags with its ending come between.
    @Test func tagsAlikeAtTheirEndAreNotTakenForOneTag() {
        let early = "1A4FF0300000022316314964", late = "1A4FF0400000022316314964"
        let distinct = RequestCheckTests.report([RequestCheckTests.Request(tag: early), RequestCheckTests.Request(tag: late)])
        #expect(!distinct.errors.contains { $0.message.contains("is also the tag of") }, "\(distinct.errors)")
        let twice = RequestCheckTests.report([RequestCheckTests.Request(tag: early), RequestCheckTests.Request(tag: late),
                                              RequestCheckTests.Request(tag: early)])
        #expect(twice.errors.contains { $0.message.contains("\(early) is also the tag of package 0") }, "\(twice.errors)")
        #expect(!twice.errors.contains { $0.message.contains("is also the tag of package 1") })
    }

    /// A category's form is that of the first word list it matches, whatever the order of the
    /// words in the name, and the scan may stop at the first list's word.
    @Test func aCategoryTakesTheFormOfTheFirstListItMatches() {
        #expect(ProductForm.of(category: "Infused Pre-Roll") == .preRoll)
        #expect(ProductForm.of(category: "infused preroll") == .preRoll)
        #expect(ProductForm.of(category: "Pre roll (infused)") == .preRoll)
        #expect(ProductForm.of(category: "Vape Cartridge") == .concentrate)
        #expect(ProductForm.of(category: "Infused Oil") == .infused)
        #expect(ProductForm.of(category: "SHAKE") == .plantMaterial)
        #expect(ProductForm.of(category: "Clone") == nil)
        #expect(ProductForm.of(category: "") == nil)
        #expect(ProductForm.of(category: "x") == nil)
        #expect(ProductForm.of(category: "Résine wax") == .concentrate)
    }

    /// A group keeps its first three members inline and the rest in a list, in order.
    @Test func aNameGroupKeepsItsMembersInOrder() {
        for count in 1...7 {
            var group = RulesEngine.NameGroup(name: "Buds", first: 10)
            for member in 1..<count { group.members.append(10 + member) }
            #expect(Array(group.members) == Array(10..<(10 + count)), "\(count)")
            #expect(group.members.count == count)
        }
    }

    /// Batch numbers interleaved in a file: each package is compared with the others of its own
    /// number only, named in file order.
    @Test func interleavedBatchNumbersAreComparedWithinTheirOwnNumber() throws {
        typealias Request = RequestCheckTests.Request
        let report = RequestCheckTests.report([
            Request(tag: tag(1), item: "Gelato Buds", batchNumber: "PB-1"),
            Request(tag: tag(2), item: "Gelato Buds", batchNumber: "PB-2"),
            Request(tag: tag(3), item: "Blue Dream Buds", batchNumber: "pb-1"),
            Request(tag: tag(4), item: "Gelato Buds", batchNumber: "PB-2"),
            Request(tag: tag(5), item: "OG Kush Buds", batchNumber: " PB-1 "),
            Request(tag: tag(6), item: "Gelato Buds", batchNumber: "PB-3"),
        ])
        let first = try #require(RequestCheckTests.findings(.batchNumberReused, report, tag(1)).first)
        #expect(first.message.contains("is also on package \(tag(3)) of item \"Blue Dream Buds\" (this manifest, line 3) and package \(tag(5)) of item \"OG Kush Buds\" (this manifest, line 5);"), "\(first.message)")
        #expect(RequestCheckTests.findings(.batchNumberReused, report, tag(2)).isEmpty)
        #expect(RequestCheckTests.findings(.batchNumberReused, report, tag(4)).isEmpty)
        #expect(RequestCheckTests.findings(.batchNumberReused, report, tag(6)).isEmpty)
        let last = try #require(RequestCheckTests.findings(.batchNumberReused, report, tag(5)).first)
        #expect(last.message.contains("is also on package \(tag(1)) of item \"Gelato Buds\" (this manifest, line 1) and package \(tag(3))"), "\(last.message)")
    }

    /// The writer's buffer makes its memory on its first append, even of nothing: a text report
    /// of a file named "" starts with an empty piece.
    @Test func aFirstAppendOfNothingMakesTheBuffersMemory() {
        var buffer = ByteBuffer()
        buffer.append(UnsafeBufferPointer<UInt8>(start: nil, count: 0))
        buffer.append("")
        #expect(buffer.count == 0)
        buffer.withUnsafeBytes { #expect($0.isEmpty) }
        let report = ManifestReport.unreadable(file: "", reason: "cannot be read")
        #expect(report.text.contains("cannot be read"))
        #expect(String(decoding: report.jsonLine(), as: UTF8.self).hasPrefix(#"{"file":"","decision":"rejected""#))
    }

    /// After the skips of bare catalog records are folded into entries of their own, a skip for a
    /// tag already listed finds its entry, and a new tag joins the right one once.
    @Test func skipsAfterTheFoldFindTheirOwnEntries() {
        let settings = CheckSettings()
        var outcome = PreflightChecker.Outcome()
        for number in 1...3 { outcome.skip(.sourceInactive, reason: "not said", tag: tag(number), settings: settings) }
        outcome.foldSkipsOfBareRecords(in: Catalog(packages: [Catalog.Package(tag: tag(1), item: "Buds A", category: "Buds")]))
        outcome.skip(.sourceInactive, reason: "not said", tag: tag(2), settings: settings)
        outcome.skip(.sourceInactive, reason: "not said", tag: tag(4), settings: settings)
        outcome.skip(.sourceInactive, reason: "not said", tag: tag(4), settings: settings)
        let said = outcome.skipped.filter { $0.reason == "not said" }
        #expect(said.count == 1)
        #expect(said.first?.tags == [tag(2), tag(3), tag(4)])
        #expect(outcome.skipped.filter { $0.tags.contains(tag(1)) }.count == 1)
    }
}
