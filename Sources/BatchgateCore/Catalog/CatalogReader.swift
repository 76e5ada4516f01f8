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
    /// `Category`, `ItemCategory`), both required. Other fields (`ProductCategoryType`,
    /// `QuantityType`, ...) are not read, so their type (text or a number) never matters.
    static func item(from row: Row) throws(RecordProblem) -> Catalog.Item {
        guard let name = row.value(["Name", "Item", "ItemName"]) else {
            throw RecordProblem(reason: "an item has no Name")
        }
        guard let category = row.value(["ProductCategoryName", "Category", "ItemCategory"]) else {
            throw RecordProblem(reason: "item \(FieldSyntax.quoted(name)) has no ProductCategoryName (or Category)")
        }
        return Catalog.Item(name: name, category: category)
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
        return Catalog.Package(tag: tag, item: item, category: category)
    }

    // MARK: Rows from either format

    /// One record of a catalog file or of an API page, with names normalised like CSV headers.
    struct Row {
        var line: Int?
        var values: [String: String]
        /// The fields of a nested `Item` object (Metrc's packages answer).
        var itemValues: [String: String] = [:]

        func value(_ names: [String]) -> String? { Self.lookup(values, names) }
        func itemValue(_ names: [String]) -> String? { Self.lookup(itemValues, names) }

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

    /// The record an object holds: its text fields (trimmed) and those of a nested `Item` object;
    /// numbers, true/false, null and other nesting are left out, so a field that Metrc writes
    /// as a number in one answer and as text in another never makes a record unreadable.
    static func row(from element: JSONElement) -> Row? {
        guard case .object(let members) = element.value else { return nil }
        var row = Row(line: element.line, values: [:])
        for member in members {
            let key = CSVColumn.normalize(member.key)
            switch member.value {
            case .string(let text): row.values[key] = text.trimmingWhitespace()
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
            rows.append(Row(line: record.line, values: values))
        }
        return rows
    }
}
