/// A catalog file that cannot be used, with the file, line and what to fix.
public struct CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var reason: String

    public init(file: String, line: Int?, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String {
        line.map { "\(file), line \($0): \(reason)" } ?? "\(file): \(reason)"
    }
}

/// Reads the items and packages files, in Metrc's API JSON or in CSV (chosen by the first byte),
/// and the answers of Metrc's API itself (``readItemPage(_:endpoint:skippingBadRecords:)``), each
/// record through the same mapping.
public enum CatalogReader {
    /// Items: Metrc's `GET /items/v1/active` array (`Name`, `ProductCategoryName`), or a CSV with
    /// `Name`/`Item` and `Category`/`ProductCategoryName` columns.
    public static func readItems(_ bytes: [UInt8], fileName: String) throws(CatalogError) -> [Catalog.Item] {
        let text = try validText(bytes, fileName: fileName)
        var items: [Catalog.Item] = []
        var seen: [String: (category: String, line: Int?)] = [:]
        for row in try rows(text, fileName: fileName, kind: "items") {
            let item: Catalog.Item
            do {
                item = try self.item(from: row)
            } catch {
                throw CatalogError(file: fileName, line: row.line, reason: error.reason)
            }
            if let earlier = seen[item.name.comparisonKey] {
                if earlier.category.comparisonKey != item.category.comparisonKey {
                    throw CatalogError(
                        file: fileName, line: row.line,
                        reason: "item \(FieldSyntax.quoted(item.name)) is listed as \(item.category) here and as \(earlier.category)\(earlier.line.map { " on line \($0)" } ?? ""); keep one")
                }
                continue
            }
            seen[item.name.comparisonKey] = (item.category, row.line)
            items.append(item)
        }
        return items
    }

    /// Packages: Metrc's `GET /packages/v1/active` array (`Label`, nested `Item` with `Name` and
    /// `ProductCategoryName`), or a CSV with `Tag`/`Label`, `Item` and `Category` columns.
    public static func readPackages(_ bytes: [UInt8], fileName: String) throws(CatalogError) -> [Catalog.Package] {
        let text = try validText(bytes, fileName: fileName)
        var packages: [Catalog.Package] = []
        for row in try rows(text, fileName: fileName, kind: "packages") {
            do {
                packages.append(try package(from: row))
            } catch {
                throw CatalogError(file: fileName, line: row.line, reason: error.reason)
            }
        }
        return packages
    }

    // MARK: One mapping from a record to a catalog entry, for files and API pages alike

    /// Why one record cannot become a catalog entry; the caller adds the file or endpoint and line.
    struct RecordProblem: Error {
        var reason: String
    }

    /// The item a record names: `Name` (or `Item`, `ItemName`) and `ProductCategoryName` (or
    /// `Category`, `ItemCategory`), both required; `QuantityType` and `UnitOfMeasureName` where given.
    /// Other fields (`ProductCategoryType`, ...) are not read, so their type never matters.
    static func item(from row: Row) throws(RecordProblem) -> Catalog.Item {
        guard let name = row.value(["Name", "Item", "ItemName"]) else {
            throw RecordProblem(reason: "an item has no Name")
        }
        guard let category = row.value(["ProductCategoryName", "Category", "ItemCategory"]) else {
            throw RecordProblem(reason: "item \(FieldSyntax.quoted(name)) has no ProductCategoryName (or Category)")
        }
        return Catalog.Item(name: name, category: category,
                            quantityType: try row.quantityType(Field.quantityType, of: "item \(FieldSyntax.quoted(name))"),
                            unitOfMeasure: row.value(Field.unitOfMeasure))
    }

    /// The package a record names: its `Label` (or `Tag`), and its item and category from the
    /// nested `Item` object that Metrc's packages endpoints write, else from the flat fields that
    /// transfer records and older exports still use (`ProductName`, `ProductCategoryName`) or a
    /// CSV's columns. One of the item and the category is required.
    static func package(from row: Row) throws(RecordProblem) -> Catalog.Package {
        guard let rawTag = row.value(["Label", "Tag", "PackageTag", "PackageLabel"]) else {
            throw RecordProblem(reason: "a package has no Label (or Tag)")
        }
        let tag: String
        switch FieldSyntax.tag(rawTag) {
        case .success(let value): tag = value
        case .failure(let problem): throw RecordProblem(reason: "Label \(problem.text)")
        }
        let item = row.itemValue(["Name"])
            ?? row.value(["ItemName", "Item", "ProductName"])
        let category = row.itemValue(["ProductCategoryName", "CategoryName"])
            ?? row.value(["ItemProductCategoryName", "ProductCategoryName", "Category", "ItemCategory"])
        if item == nil && category == nil {
            throw RecordProblem(reason: "package \(tag) gives neither its item nor its category")
        }
        let owner = "package \(tag)"
        // A quantity type Metrc writes in the nested Item as a number is an enum index whose order it
        // does not document: only the name is read.
        var itemQuantityType = row.itemValue(Field.quantityType).flatMap(QuantityType.init(loosely:))
        if itemQuantityType == nil { itemQuantityType = try row.quantityType(Field.itemQuantityType, of: owner) }
        return Catalog.Package(
            tag: tag, item: item, category: category,
            quantity: try row.number(Field.quantity, of: owner),
            unitOfMeasure: row.value(Field.unitOfMeasure),
            packagedDate: try row.date(Field.packagedDate, of: owner),
            isOnHold: try row.flag(Field.isOnHold, of: owner),
            isFinished: try row.flag(Field.isFinished, of: owner),
            finishedDate: try row.date(Field.finishedDate, of: owner),
            archivedDate: try row.date(Field.archivedDate, of: owner),
            labTestingState: row.value(Field.labTestingState),
            productionBatchNumber: row.value(Field.productionBatchNumber),
            itemQuantityType: itemQuantityType,
            lastModified: row.value(Field.lastModified))
    }

    /// The names each catalog field is read by: Metrc's JSON name first, then the CSV headers people
    /// and Metrc's own grid exports write (matched like CSV headers: any case, spaces and
    /// punctuation ignored, so `Unit of Measure` is `UnitOfMeasure`).
    enum Field {
        static let quantityType = ["QuantityType", "Quantity Type"]
        static let itemQuantityType = ["ItemQuantityType", "Item Quantity Type"]
        static let unitOfMeasure = ["UnitOfMeasureName", "UnitOfMeasure", "Unit of Measure", "UoM", "Unit"]
        static let quantity = ["Quantity", "Qty"]
        static let packagedDate = ["PackagedDate", "Packaged Date"]
        static let isOnHold = ["IsOnHold", "On Hold", "OnHold"]
        static let isFinished = ["IsFinished", "Finished"]
        static let finishedDate = ["FinishedDate", "Finished Date"]
        static let archivedDate = ["ArchivedDate", "Archived Date"]
        static let labTestingState = ["LabTestingState", "Lab Testing State", "Lab Testing", "LabTestingStateName"]
        /// `P.B. No.` is the column of Metrc's own packages grid export.
        static let productionBatchNumber = ["ProductionBatchNumber", "Production Batch Number", "P.B. No.", "PB No"]
        static let lastModified = ["LastModified", "Last Modified"]
    }

    // MARK: Rows from either format

    /// One record of a catalog file or of an API page, with names normalised like CSV headers.
    struct Row {
        var line: Int?
        var values: [String: String]
        /// The fields of a nested `Item` object (Metrc's packages answer).
        var itemValues: [String: String] = [:]
        /// A JSON record's numbers and true/false values; a CSV row has only text.
        var numbers: [String: Double] = [:]
        var flags: [String: Bool] = [:]
        /// Whether the record is a CSV row, written by a person or a spreadsheet: a value there that
        /// cannot be read is an error to fix. In JSON, written by Metrc, a field of an unexpected type
        /// is left unknown instead, so the record still gives its item and category.
        var isCSV = false

        func value(_ names: [String]) -> String? { Self.lookup(values, names) }
        func itemValue(_ names: [String]) -> String? { Self.lookup(itemValues, names) }

        /// A number: JSON's own, or text written as the manifests write quantities.
        func number(_ names: [String], of owner: String) throws(RecordProblem) -> Double? {
            for name in names {
                if let number = numbers[CSVColumn.normalize(name)], number.isFinite { return number }
            }
            guard let text = value(names) else { return nil }
            if let number = FieldSyntax.decimal(text) { return number }
            return try unreadable(names[0], of: owner, "must be a number, found \(FieldSyntax.quoted(text))")
        }

        /// A yes or no: JSON's true/false, or text as CSV manifests write it. A blank cell is
        /// unknown, not no: a state nobody wrote down is not checked.
        func flag(_ names: [String], of owner: String) throws(RecordProblem) -> Bool? {
            for name in names {
                if let flag = flags[CSVColumn.normalize(name)] { return flag }
            }
            guard let text = value(names) else { return nil }
            if let flag = CSVBoolean.parse(text) { return flag }
            return try unreadable(names[0], of: owner, CSVBoolean.problem(text))
        }

        /// A date as `YYYY-MM-DD`: Metrc writes `2014-11-29` and also `2018-03-06T00:00:00Z`; a CSV
        /// may write `11/29/2014`.
        func date(_ names: [String], of owner: String) throws(RecordProblem) -> String? {
            guard let text = value(names) else { return nil }
            let day = text.utf8.count > 10 && text.utf8.dropFirst(10).first == UInt8(ascii: "T")
                ? String(text.prefix(10)) : text
            switch FieldSyntax.date(day, allowUSForm: isCSV) {
            case .success(let date): return date
            case .failure(let problem): return try unreadable(names[0], of: owner, problem.text)
            }
        }

        /// `WeightBased`, `CountBased` or `VolumeBased` (any case, spaces ignored).
        func quantityType(_ names: [String], of owner: String) throws(RecordProblem) -> QuantityType? {
            guard let text = value(names) else { return nil }
            if let type = QuantityType(loosely: text) { return type }
            return try unreadable(names[0], of: owner, "must be WeightBased, CountBased or VolumeBased, found \(FieldSyntax.quoted(text))")
        }

        private func unreadable<T>(_ field: String, of owner: String, _ problem: String) throws(RecordProblem) -> T? {
            guard isCSV else { return nil }
            throw RecordProblem(reason: "\(owner): \(field) \(problem)")
        }

        private static func lookup(_ values: [String: String], _ names: [String]) -> String? {
            for name in names {
                if let value = values[CSVColumn.normalize(name)], !value.isEmpty { return value }
            }
            return nil
        }
    }

    private static func validText(_ bytes: [UInt8], fileName: String) throws(CatalogError) -> ArraySlice<UInt8> {
        do {
            return try TextInput.validate(bytes, maximumSize: 256 * 1024 * 1024)
        } catch {
            throw CatalogError(file: fileName, line: error.line, reason: error.description)
        }
    }

    private static func rows(_ text: ArraySlice<UInt8>, fileName: String, kind: String) throws(CatalogError) -> [Row] {
        switch ManifestFormat.sniff(text) {
        case .json: try jsonRows(text, fileName: fileName, kind: kind)
        case .csv: try csvRows(text, fileName: fileName)
        }
    }

    private static func jsonRows(_ text: ArraySlice<UInt8>, fileName: String, kind: String) throws(CatalogError) -> [Row] {
        let root: JSONElement
        do {
            root = try JSONParser.parse(text)
        } catch {
            throw CatalogError(file: fileName, line: error.line, reason: "not valid JSON: \(error.reason)")
        }
        var elements: [JSONElement]
        switch root.value {
        case .array(let list):
            elements = list
        case .object(let members):
            // Metrc's v2 answers wrap the records: {"Data": [...], "Total": ...}.
            guard let data = members.first(where: { $0.key.lowercased() == "data" }),
                  case .array(let list) = data.value else {
                throw CatalogError(file: fileName, line: root.line,
                                   reason: "expected the list of \(kind) that Metrc's API returns (or an object with Data)")
            }
            elements = list
        default:
            throw CatalogError(file: fileName, line: root.line, reason: "expected a list of \(kind), found \(root.value.kindDescription)")
        }
        var rows: [Row] = []
        for (index, element) in elements.enumerated() {
            guard let row = row(from: element) else {
                throw CatalogError(file: fileName, line: element.line,
                                   reason: "entry \(index) must be an object, found \(element.value.kindDescription)")
            }
            rows.append(row)
        }
        return rows
    }

    /// The record an object holds: its text fields (trimmed), numbers and true/false values, and
    /// the text fields of a nested `Item` object; null and other nesting are left out, and a field
    /// read as a type it does not have is left unknown, so a field that Metrc writes as a number in
    /// one answer and as text in another never makes a record unreadable.
    static func row(from element: JSONElement) -> Row? {
        guard case .object(let members) = element.value else { return nil }
        var row = Row(line: element.line, values: [:])
        for member in members {
            let key = CSVColumn.normalize(member.key)
            switch member.value {
            case .string(let text): row.values[key] = text.trimmingWhitespace()
            case .bool(let flag): row.flags[key] = flag
            case .number(let number): row.numbers[key] = number
            case .object(let itemMembers) where key == "item":
                for field in itemMembers {
                    if case .string(let text) = field.value { row.itemValues[CSVColumn.normalize(field.key)] = text.trimmingWhitespace() }
                }
            default: break
            }
        }
        return row
    }

    private static func csvRows(_ text: ArraySlice<UInt8>, fileName: String) throws(CatalogError) -> [Row] {
        let records: [CSVRecord]
        do {
            records = try CSVParser.parse(text, delimiter: CSVParser.detectDelimiter(text))
        } catch {
            throw CatalogError(file: fileName, line: error.line, reason: error.reason)
        }
        let nonBlank = records.filter { !$0.isBlank }
        guard let header = nonBlank.first else { return [] }
        let names = header.cells.map(CSVColumn.normalize)
        var rows: [Row] = []
        for record in nonBlank.dropFirst() {
            guard record.cells.count == names.count else {
                throw CatalogError(file: fileName, line: record.line,
                                   reason: "the row has \(record.cells.count) cells but the header has \(names.count)")
            }
            var values: [String: String] = [:]
            for (name, cell) in zip(names, record.cells) where !name.isEmpty { values[name] = cell.trimmingWhitespace() }
            rows.append(Row(line: record.line, values: values, isCSV: true))
        }
        return rows
    }
}
