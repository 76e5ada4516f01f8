/// Reads a CSV manifest: one header row, then one row per ingredient; rows sharing a `Tag` make
/// one package and must agree on its package-level cells.
public enum CSVManifestReader {
    /// Reads UTF-8 text already checked by ``TextInput`` (byte-order mark removed); every problem becomes an issue.
    public static func read(_ text: ArraySlice<UInt8>) -> ManifestReading {
        let delimiter = CSVParser.detectDelimiter(text)
        let table: CSVTable
        do {
            // One row per ingredient, so the rows below the header are capped as ingredients are.
            table = try CSVParser.table(
                text, delimiter: delimiter, skipBlankRecords: true, maximumRows: ManifestLimits.maximumIngredients,
                maximumCellsPerRecord: ManifestLimits.maximumCSVCellsPerRow, maximumCells: ManifestLimits.maximumCSVCells)
        } catch where error.exceedsLimit {
            return .unreadable(.csv, ManifestIssue(
                message: "\(error.reason) (at line \(error.line)); batchgate reads no more in one manifest, far more than \(ManifestLimits.grouped(ManifestLimits.maximumPackages)) packages need: split it into smaller manifests",
                line: error.line))
        } catch {
            return .unreadable(.csv, ManifestIssue(message: "not valid CSV: \(error)", line: error.line))
        }
        // Blank records were dropped while parsing: the first record is the header.
        guard !table.records.isEmpty else {
            return .unreadable(.csv, ManifestIssue(message: "the CSV has no header row"))
        }
        let rows = table.records.dropFirst()
        var layout: HeaderLayout
        do {
            layout = try HeaderLayout(header: table.record(0), rows: rows, in: table)
        } catch {
            return .unreadable(.csv, error)
        }
        var assembler = PackageAssembler(layout: layout, table: table)
        for record in rows {
            assembler.add(record)
            if assembler.issues.count > ManifestLimits.maximumIssues {
                return ManifestLimits.tooManyIssues(.csv, assembler.issues)
            }
        }
        // Counted before any package is built.
        if assembler.groups.count > ManifestLimits.maximumPackages {
            return .unreadable(.csv, ManifestLimits.tooManyPackages(assembler.groups.count))
        }
        let (packages, issues) = assembler.finish()
        if issues.count > ManifestLimits.maximumIssues {
            return ManifestLimits.tooManyIssues(.csv, issues)
        }
        return ManifestReading(manifest: Manifest(format: .csv, packages: packages), issues: issues)
    }
}

/// Which cell holds which column, after checking the header.
private struct HeaderLayout {
    /// The cell index of each column, by the column's raw value.
    var indexOf = [Int?](repeating: nil, count: CSVColumn.allCases.count)
    let width: Int
    /// Columns with an empty header, allowed only while all their cells are empty.
    var unnamed: [Int] = []

    init(header: CSVRecord, rows: ArraySlice<CSVTable.Record>, in table: CSVTable) throws(ManifestIssue) {
        width = header.cells.count
        var problems: [String] = []
        for (index, name) in header.cells.enumerated() {
            let trimmed = name.trimmingWhitespace()
            if trimmed.isEmpty {
                unnamed.append(index)
                continue
            }
            guard let column = CSVColumn.named(trimmed) else { continue }  // other columns are ignored
            if let earlier = indexOf[column.rawValue] {
                problems.append(
                    "columns \(earlier + 1) (\"\(header.cells[earlier].trimmingWhitespace())\") and \(index + 1) (\"\(trimmed)\") both mean \(column.name); keep one")
            } else {
                indexOf[column.rawValue] = index
            }
        }
        let missing = CSVColumn.required.filter { indexOf[$0.rawValue] == nil }
        if !missing.isEmpty {
            problems.append("the header has no " + missing.map(\.describedWithAliases).joined(separator: "; no ") + " column")
        }
        // The first line with a value in each unnamed column, in one pass over the cells. Searching
        // the rows once per unnamed column was quadratic: a 60 KB header of commas over as many blank
        // lines took 1 s (up to 15 s in the fuzz target), a 16 MiB file about 19 hours.
        if !unnamed.isEmpty {
            var firstValueLine = [Int?](repeating: nil, count: width)
            var isUnnamed = [Bool](repeating: false, count: width)
            for index in unnamed { isUnnamed[index] = true }
            for row in rows {
                for index in 0..<min(row.count, width)
                where isUnnamed[index] && firstValueLine[index] == nil && !table.trimmed(table.cell(row, index)).isEmpty {
                    firstValueLine[index] = row.line
                }
            }
            for index in unnamed {
                if let line = firstValueLine[index] {
                    problems.append("column \(index + 1) has no header name but line \(line) has a value in it")
                }
            }
        }
        if !problems.isEmpty {
            throw ManifestIssue(message: "line \(header.line) (header): " + problems.joined(separator: "; "),
                                line: header.line, field: missing.first?.name)
        }
    }

    /// The cell of `column` without surrounding white space; nil when the column is missing or
    /// the cell holds nothing else.
    func cell(_ column: CSVColumn, in record: CSVTable.Record, of table: CSVTable) -> CSVTable.Cell? {
        guard let index = indexOf[column.rawValue] else { return nil }
        let value = table.trimmed(table.cell(record, index))
        return value.isEmpty ? nil : value
    }

    func text(_ column: CSVColumn, in record: CSVTable.Record, of table: CSVTable) -> String? {
        // Not `.map(table.string)`: that closure would copy the table, four retains and releases.
        guard let cell = cell(column, in: record, of: table) else { return nil }
        return table.string(cell)
    }
}

/// Groups rows into packages, checking that a package's rows agree.
private struct PackageAssembler {
    let layout: HeaderLayout
    let table: CSVTable
    /// Packages in order of first appearance, and where each tag's package is.
    var groups: [Group] = []
    var indexOfTag: [String: Int]
    /// The package of the row before: a package's rows usually follow each other, and comparing
    /// the tag with it is cheaper than hashing the tag.
    var lastGroup: (key: String, index: Int)?
    var issues: [ManifestIssue] = []

    struct Group {
        var key: String
        var index: Int
        var firstLine: Int
        /// The first non-blank value of each package-level column, by the column's raw value (an
        /// empty cell for a blank boolean, which means false).
        var cells = [(value: CSVTable.Cell, line: Int)?](repeating: nil, count: CSVColumn.allCases.count)
        var rows: [CSVTable.Record] = []
    }

    init(layout: HeaderLayout, table: CSVTable) {
        self.layout = layout
        self.table = table
        // At most one package per row; growing it one package at a time rehashed every tag.
        indexOfTag = Dictionary(minimumCapacity: min(table.records.count, 1_024))
    }

    mutating func add(_ record: CSVTable.Record) {
        if record.count != layout.width {
            // The row cannot be trusted, but its tag (if readable) says which package it spoils.
            let tagIndex = layout.indexOf[CSVColumn.tag.rawValue]!
            let key = tagIndex < record.count ? table.string(table.cell(record, tagIndex)).trimmingWhitespace().uppercased() : ""
            let relation = record.count > layout.width ? "more" : "fewer"
            let place = key.isEmpty ? "line \(record.line)" : "line \(record.line) (package \(key))"
            issues.append(ManifestIssue(
                message: "\(place): the row has \(record.count) cells, \(relation) than the header's \(layout.width) (is a delimiter or quote missing or extra?)",
                line: record.line, packageIndex: key.isEmpty ? nil : group(for: key, line: record.line)))
            return
        }
        guard let rawTag = layout.cell(.tag, in: record, of: table) else {
            issues.append(ManifestIssue(message: "line \(record.line), Tag: is empty: every row names the new package's tag",
                                        line: record.line, field: "Tag"))
            return
        }
        let index = group(for: rawTag, line: record.line)
        for column in CSVColumn.packageLevel {
            // Blank means false in a boolean column, so it takes part in the comparison there.
            let isBoolean = column == .isProductionBatch || column == .useSameItem
            guard let value = layout.cell(column, in: record, of: table)
                    ?? (isBoolean && layout.indexOf[column.rawValue] != nil ? .empty : nil)
            else { continue }
            if let earlier = groups[index].cells[column.rawValue] {
                // The same bytes agree; other bytes may still say the same thing (1 and 1.0, Yes and y).
                if table.sameBytes(earlier.value, value) { continue }
                let (earlierText, text) = (table.string(earlier.value), table.string(value))
                if !agree(earlierText, text, column) {
                    issues.append(ManifestIssue(
                        message: "line \(record.line) (package \(groups[index].key)), \(column.name): \(FieldSyntax.quoted(text)) conflicts with \(FieldSyntax.quoted(earlierText)) on line \(earlier.line); rows of one package must agree",
                        line: record.line, field: column.name, packageIndex: index))
                }
            } else {
                groups[index].cells[column.rawValue] = (value, record.line)
            }
        }
        groups[index].rows.append(record)
    }

    /// The index of the package whose tag is in `tag` (any case), created at `line` if it is new.
    mutating func group(for tag: CSVTable.Cell, line: Int) -> Int {
        // A tag as Metrc prints it (ASCII, upper case) is its own key: compared with the last row's
        // as bytes, it needs no string.
        if let lastGroup, table.withBytes(of: tag, { Self.isKey($0, lastGroup.key) }) { return lastGroup.index }
        return group(for: table.string(tag).uppercasedIfNeeded(), line: line)
    }

    /// Whether `bytes` are ASCII without a lower-case letter and the same as `key`'s.
    static func isKey(_ bytes: UnsafeBufferPointer<UInt8>, _ key: String) -> Bool {
        guard key.utf8.count == bytes.count else { return false }
        for byte in bytes where byte >= 0x80 || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) {
            return false
        }
        return key.utf8.withContiguousStorageIfAvailable { equalBytes($0, bytes) } ?? key.utf8.elementsEqual(bytes)
    }

    /// The index of the package with this tag, created at `line` if it is new.
    mutating func group(for key: String, line: Int) -> Int {
        if let lastGroup, lastGroup.key == key { return lastGroup.index }
        let index: Int
        if let existing = indexOfTag[key] {
            index = existing
        } else {
            index = groups.count
            indexOfTag[key] = index
            groups.append(Group(key: key, index: index, firstLine: line))
        }
        lastGroup = (key, index)
        return index
    }

    /// Whether two cells of one package-level column say the same thing.
    func agree(_ a: String, _ b: String, _ column: CSVColumn) -> Bool {
        if a == b { return true }
        switch column {
        case .quantity:
            if let x = FieldSyntax.decimal(a), let y = FieldSyntax.decimal(b) { return x == y }
        case .isProductionBatch, .useSameItem:
            if let x = CSVBoolean.parse(a), let y = CSVBoolean.parse(b) { return x == y }
        case .actualDate:
            if case .success(let x) = FieldSyntax.date(a, allowUSForm: true),
               case .success(let y) = FieldSyntax.date(b, allowUSForm: true) { return x == y }
        case .item, .itemCategory, .unitOfMeasure, .processingStep:
            return a.lowercased() == b.lowercased()
        default:
            break
        }
        return a == b
    }

    mutating func finish() -> ([PackageRequest], [ManifestIssue]) {
        var packages: [PackageRequest] = []
        packages.reserveCapacity(groups.count)
        for group in groups {
            // A package seen only in broken rows has nothing more to check: its row error says why.
            packages.append(group.rows.isEmpty
                ? PackageRequest(position: SourcePosition(line: group.firstLine, packageIndex: group.index))
                : build(group, key: group.key))
            // The caller gives up past the cap: building the rest would only make more issues.
            if issues.count > ManifestLimits.maximumIssues { break }
        }
        return (packages, issues)
    }

    mutating func build(_ group: Group, key: String) -> PackageRequest {
        let position = SourcePosition(line: group.firstLine, packageIndex: group.index)
        var package = PackageRequest(position: position)
        package.tagLine = group.firstLine
        var found: [ManifestIssue] = []
        defer { issues += found }
        func value(_ column: CSVColumn) -> (value: String, line: Int)? {
            group.cells[column.rawValue].flatMap { $0.value.isEmpty ? nil : (table.string($0.value), $0.line) }
        }
        func fail(_ column: CSVColumn, _ problem: String, line: Int?, ingredient: Int? = nil) {
            let at = SourcePosition(line: line, packageIndex: group.index, ingredientIndex: ingredient)
            found.append(.field(column.name, problem, at: at, format: .csv, tag: key))
        }

        switch FieldSyntax.tag(key) {
        case .success(let tag): package.tag = tag
        case .failure(let problem): fail(.tag, problem.text, line: group.firstLine)
        }
        if let cell = value(.useSameItem) {
            if let flag = CSVBoolean.parse(cell.value) {
                package.useSameItem = flag
            } else {
                fail(.useSameItem, CSVBoolean.problem(cell.value), line: cell.line)
            }
        }
        package.item = value(.item)?.value
        if package.item == nil && !package.useSameItem {
            fail(.item, "is empty: name the new package's item (or set Use Same Item)", line: group.firstLine)
        }
        package.itemCategory = value(.itemCategory)?.value
        if let cell = group.cells[CSVColumn.quantity.rawValue], !cell.value.isEmpty {
            switch Self.quantity(cell.value, in: table) {
            case .success(let number): package.quantity = number
            case .failure(let problem): fail(.quantity, problem.text, line: cell.line)
            }
        } else {
            fail(.quantity, "is empty: a number greater than 0 is required", line: group.firstLine)
        }
        package.unitOfMeasure = value(.unitOfMeasure)?.value
        if package.unitOfMeasure == nil {
            fail(.unitOfMeasure, "is empty: name the unit (Grams, Ounces, Each, ...)", line: group.firstLine)
        }
        package.productionBatchNumber = value(.productionBatchNumber)?.value
        if layout.indexOf[CSVColumn.isProductionBatch.rawValue] != nil {
            // With the column present an empty cell means false (docs/rules.md, "Marked"), whatever the number.
            package.isProductionBatch = false
            if let cell = value(.isProductionBatch) {
                if let flag = CSVBoolean.parse(cell.value) {
                    package.isProductionBatch = flag
                } else {
                    fail(.isProductionBatch, CSVBoolean.problem(cell.value), line: cell.line)
                }
            }
        }
        // Without an indicator column (the Track & Trace Tools template) the indicator stays
        // unknown, and the rules read a batch number as marking the package.
        if let cell = value(.actualDate) {
            switch FieldSyntax.date(cell.value, allowUSForm: true) {
            case .success(let date): package.actualDate = date
            case .failure(let problem): fail(.actualDate, problem.text, line: cell.line)
            }
        }
        package.location = value(.location)?.value
        package.note = value(.note)?.value
        package.processingStep = value(.processingStep)?.value
        if let cell = value(.additives) {
            package.additives = Self.additives(cell.value, line: cell.line, fail: fail)
        } else if layout.indexOf[CSVColumn.additives.rawValue] != nil {
            // An Additives column left empty says nothing was added, as `"Additives": []` does.
            package.additives = []
        }

        package.ingredients.reserveCapacity(group.rows.count)
        for (offset, row) in group.rows.enumerated() {
            package.ingredients.append(
                Self.ingredient(row, layout: layout, table: table, packageIndex: group.index, offset: offset, fail: fail))
        }
        return package
    }

    /// A quantity cell (trimmed): digits with an optional point, greater than 0.
    static func quantity(_ cell: CSVTable.Cell, in table: CSVTable) -> Result<Double, FieldProblem> {
        guard let number = table.withBytes(of: cell, FieldSyntax.decimal(trimmed:)) else {
            return .failure(FieldProblem(
                "must be a number greater than 0 written with digits, found \(FieldSyntax.quoted(table.string(cell)))"))
        }
        if let problem = FieldSyntax.positiveQuantity(number) { return .failure(problem) }
        return .success(number)
    }

    static func additives(_ cell: String, line: Int, fail: (CSVColumn, String, Int?, Int?) -> Void) -> [Additive] {
        var result: [Additive] = []
        for entry in cell.split(whereSeparator: { $0 == ";" || $0 == "|" }) {
            let text = String(entry).trimmingWhitespace()
            if text.isEmpty { continue }
            if let colon = text.firstIndex(of: ":") {
                let word = String(text[..<colon])
                let name = String(text[text.index(after: colon)...]).trimmingWhitespace()
                guard let kind = FieldSyntax.additiveKind(word) else {
                    let allowed = Additive.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                    fail(.additives, "\(FieldSyntax.quoted(text)) starts with \(FieldSyntax.quoted(word)); write \"kind: name\" with a kind of \(allowed), or just the name", line, nil)
                    continue
                }
                if name.isEmpty {
                    fail(.additives, "\(FieldSyntax.quoted(text)) names no additive after the kind", line, nil)
                    continue
                }
                result.append(Additive(name: name, kind: kind))
            } else {
                result.append(Additive(name: text))
            }
        }
        return result
    }

    static func ingredient(
        _ row: CSVTable.Record, layout: HeaderLayout, table: CSVTable, packageIndex: Int, offset: Int,
        fail: (CSVColumn, String, Int?, Int?) -> Void
    ) -> Ingredient {
        let at = SourcePosition(line: row.line, packageIndex: packageIndex, ingredientIndex: offset)
        var ingredient = Ingredient(position: at)
        if let raw = layout.text(.ingredientPackage, in: row, of: table) {
            switch FieldSyntax.tag(raw) {
            case .success(let tag): ingredient.package = tag
            case .failure(let problem): fail(.ingredientPackage, problem.text, row.line, offset)
            }
        } else {
            fail(.ingredientPackage, "is empty: name the source package's tag", row.line, offset)
        }
        if let raw = layout.cell(.ingredientQuantity, in: row, of: table) {
            switch quantity(raw, in: table) {
            case .success(let number): ingredient.quantity = number
            case .failure(let problem): fail(.ingredientQuantity, problem.text, row.line, offset)
            }
        } else {
            fail(.ingredientQuantity, "is empty: how much of the source package is used?", row.line, offset)
        }
        ingredient.unitOfMeasure = layout.text(.ingredientUnitOfMeasure, in: row, of: table)
        if ingredient.unitOfMeasure == nil {
            fail(.ingredientUnitOfMeasure, "is empty: name the unit of the quantity used", row.line, offset)
        }
        ingredient.item = layout.text(.ingredientItem, in: row, of: table)
        ingredient.itemCategory = layout.text(.ingredientItemCategory, in: row, of: table)
        return ingredient
    }
}

/// CSV booleans: true/false, yes/no, y/n, 1/0, x or empty, in any case.
enum CSVBoolean {
    static func parse(_ text: String) -> Bool? {
        switch text.trimmingWhitespace().lowercased() {
        case "true", "yes", "y", "1", "x": true
        case "false", "no", "n", "0", "": false
        default: nil
        }
    }

    static func problem(_ text: String) -> String {
        "must be yes or no (true/false, y/n, 1/0, x or empty), found \(FieldSyntax.quoted(text))"
    }
}
