/// One answer of Metrc's API read into catalog entries: the records, and where the answer stands
/// in the paging so the caller knows whether to ask for the next page.
///
/// Metrc answers in three shapes, all read the same way: v2's paged envelope
/// `{"Data": […], "CurrentPage": 2, "TotalPages": 5, …}`, a bare list (v1, and v2 endpoints without
/// paging), and one object (`GET /packages/v2/{label}`). A bare list or one object is page 1 of 1.
public struct MetrcPage<Entry: Sendable & Equatable>: Sendable, Equatable {
    /// The page's records, in the order Metrc wrote them.
    public var records: [MetrcRecord<Entry>]
    /// The number of this page (Metrc counts from 1).
    public var page: Int
    /// How many pages the request has in all; may be 0 when nothing matched.
    public var totalPages: Int
    /// How many records the request has in all, as the answer counts them (`TotalRecords`, else
    /// `Total`); a bare list or one record counts its own. Nil when an envelope gives neither.
    /// A change of it between two pages of one request means records moved meanwhile.
    public var totalRecords: Int? = nil
    /// The records left out because they could not be read, each an error naming where it is and
    /// what is wrong; only when the page was read skipping bad records, else always empty.
    public var skipped: [MetrcPageError] = []

    /// True when no page follows this one.
    public var isLastPage: Bool { page >= totalPages }

    /// The entries without their `LastModified`.
    public var entries: [Entry] { records.map(\.entry) }
}

/// One record of a page: the catalog entry, and the record's `LastModified` as Metrc wrote it.
///
/// The time stays text because the core reads no clocks: the sync, which keeps the newest time
/// it has seen to start its next window there, is the one that parses it.
public struct MetrcRecord<Entry: Sendable & Equatable>: Sendable, Equatable {
    /// The item or package the record names.
    public var entry: Entry
    /// The record's `LastModified` exactly as written (trimmed), e.g. `2026-01-05T17:44:03+00:00`;
    /// nil when the record has none (as text).
    public var lastModified: String?

    /// A record of `entry` last modified at `lastModified` (as Metrc wrote it).
    public init(entry: Entry, lastModified: String?) {
        self.entry = entry
        self.lastModified = lastModified
    }
}

/// An answer of Metrc's API that cannot be read as a page of records: the endpoint the caller
/// named, the line of the answer where one helps, and what is wrong.
public struct MetrcPageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the answer.
    public enum Problem: Sendable, Equatable {
        /// The body is empty or only white space.
        case empty
        /// The body is larger than ``ManifestLimits/maximumMetrcAnswerSize``.
        case tooLarge(size: Int, limit: Int)
        /// The body is not UTF-8 text at this column of the error's line, or (no column) holds NUL bytes.
        case notText(column: Int?)
        /// The body is not well-formed JSON: the parser's reason, at this column of the error's line.
        case notJSON(reason: String, column: Int)
        /// The body passes one of the JSON caps of ``ManifestLimits`` (values, properties of one
        /// object, nesting): the parser's reason.
        case exceedsLimit(reason: String)
        /// The body's top level is neither a list nor an object (e.g. a number or null).
        case notRecords(found: String)
        /// An object with Metrc's `Message` in place of records, as its error answers have.
        case metrcMessage(String)
        /// An object with paging fields (`TotalPages`, …) but no `Data`.
        case noData
        /// `Data` is there but is not a list.
        case dataNotAList(found: String)
        /// A paging field needed to go on is missing: `TotalPages`, or both `CurrentPage` and `Page`.
        case missingPagingField(String)
        /// A paging field is not a whole number of 0 or more; `found` describes what it is.
        case pagingFieldNotANumber(field: String, found: String)
        /// A record is not an object; `path` is where it is (`Data[3]`, `[3]`).
        case recordNotAnObject(path: String, found: String)
        /// A record cannot be read as an item or package; `path` is where it is (`Data[3]`, `[3]`,
        /// or empty for an answer that is one record).
        case badRecord(path: String, reason: String)
    }

    /// The request as the caller named it, e.g. `GET /packages/v2/active page 3`.
    public var endpoint: String
    /// The 1-based line of the answer the problem is on, where there is one.
    public var line: Int?
    /// What is wrong, for a caller that acts on the kind (the message is ``description``).
    public var problem: Problem

    /// The endpoint, the line and the problem in one sentence, for the log and the status.
    public var description: String {
        let place = line.map { "\(endpoint), line \($0)" } ?? endpoint
        return "\(place): \(reason)"
    }

    /// The problem in plain words, with what a person can do about it.
    private var reason: String {
        switch problem {
        case .empty:
            return "the answer is empty; expected Metrc's records as JSON"
        case .tooLarge(let size, let limit):
            return "the answer is \(size) bytes, over the \(ManifestLimits.grouped(limit))-byte limit for one answer of Metrc's API: ask for a shorter lastModified window"
        case .notText(let column):
            return "\(column.map { "column \($0): " } ?? "")the answer is not UTF-8 text; is the server Metrc's API?"
        case .notJSON(let reason, let column):
            return "column \(column): the answer is not JSON (\(reason)); is the server Metrc's API?"
        case .exceedsLimit(let reason):
            return "\(reason): more than one answer of Metrc's API can hold; ask for a shorter lastModified window"
        case .notRecords(let found):
            return "expected Metrc's records (a list, an object with Data, or one record), found \(found)"
        case .metrcMessage(let message):
            return "Metrc answered with a message instead of records: \(FieldSyntax.quoted(message))"
        case .noData:
            return "the answer has paging fields but no Data, the list of records"
        case .dataNotAList(let found):
            return "Data must be the list of records, found \(found)"
        case .missingPagingField(let field):
            return "the answer has Data but no \(field), so whether more pages follow is unknown"
        case .pagingFieldNotANumber(let field, let found):
            return "\(field) must be a whole number of 0 or more, found \(found)"
        case .recordNotAnObject(let path, let found):
            return "\(path) must be a record (an object), found \(found)"
        case .badRecord(let path, let reason):
            return path.isEmpty ? reason : "\(path): \(reason)"
        }
    }
}

extension CatalogReader {
    /// A page of Metrc's items (`GET /items/v2/active`, `/items/v1/active`), each record read as
    /// ``readItems(_:fileName:)`` reads an items file.
    /// - Parameter endpoint: the request as it should appear in the error, e.g.
    ///   `GET /items/v2/active page 2` (never the keys).
    /// - Throws: ``MetrcPageError`` naming the endpoint, the line and what is wrong.
    /// - Parameter skippingBadRecords: leave out a record that is not an object or lacks what an
    ///   item needs, and list it in ``MetrcPage/skipped``, rather than refuse the page: a sync
    ///   must not lose a day of records for one of them. An answer whose envelope is wrong is
    ///   refused either way.
    public static func readItemPage(_ bytes: [UInt8], endpoint: String,
                                    skippingBadRecords: Bool = false) throws(MetrcPageError) -> MetrcPage<Catalog.Item> {
        try readPage(bytes, endpoint: endpoint, skippingBadRecords: skippingBadRecords, entry: item(from:))
    }

    /// A page of Metrc's packages (`/packages/v2/active`, `/inactive`, `/onhold`, one package by
    /// label, or v1's lists), each record read as ``readPackages(_:fileName:)`` reads a packages
    /// file: the item and category from the nested `Item`, else the flat `ProductName` and
    /// `ProductCategoryName`.
    /// - Parameter endpoint: the request as it should appear in the error, e.g.
    ///   `GET /packages/v2/1A4FF0100000022000000123` (never the keys).
    /// - Throws: ``MetrcPageError`` naming the endpoint, the line and what is wrong.
    /// - Parameter skippingBadRecords: as for ``readItemPage(_:endpoint:skippingBadRecords:)``.
    public static func readPackagePage(_ bytes: [UInt8], endpoint: String,
                                       skippingBadRecords: Bool = false) throws(MetrcPageError) -> MetrcPage<Catalog.Package> {
        try readPage(bytes, endpoint: endpoint, skippingBadRecords: skippingBadRecords, entry: package(from:))
    }

    /// The fields of v2's envelope besides `Data`: an object with any of them is an envelope, never
    /// one record, so an envelope that lost its `Data` is reported rather than read as a record.
    private static let pagingFields = ["Total", "TotalRecords", "PageSize", "RecordsOnPage", "Page", "CurrentPage", "TotalPages"]

    /// The one reader of an answer's shape (envelope, list or one object) and its paging, for
    /// items and packages alike; `entry` turns each record into a catalog entry.
    private static func readPage<Entry>(
        _ bytes: [UInt8], endpoint: String, skippingBadRecords: Bool, entry: (Row) throws(RecordProblem) -> Entry
    ) throws(MetrcPageError) -> MetrcPage<Entry> {
        func failure(_ problem: MetrcPageError.Problem, line: Int? = nil) -> MetrcPageError {
            MetrcPageError(endpoint: endpoint, line: line, problem: problem)
        }
        let root = try parseAnswer(bytes, endpoint: endpoint)

        // The records with the path each is reported by, and the paging.
        let elements: [(path: String, element: JSONElement)]
        var page = 1, totalPages = 1
        var totalRecords: Int?
        switch root.value {
        case .array(let list):
            elements = list.enumerated().map { ("[\($0.offset)]", $0.element) }
            totalRecords = list.count
        case .object(let members):
            let member = { (name: String) in members.last { $0.key.equalsIgnoringASCIICase(name) } }
            if let data = member("Data") {
                guard case .array(let list) = data.value else {
                    throw failure(.dataNotAList(found: describe(data.value)), line: data.line)
                }
                elements = list.enumerated().map { ("Data[\($0.offset)]", $0.element) }
                func number(_ field: JSONMember) throws(MetrcPageError) -> Int {
                    guard case .number(let value) = field.value, let whole = Int(exactly: value), whole >= 0 else {
                        throw failure(.pagingFieldNotANumber(field: field.key, found: describe(field.value)), line: field.line)
                    }
                    return whole
                }
                guard let total = member("TotalPages") else { throw failure(.missingPagingField("TotalPages"), line: root.line) }
                totalPages = try number(total)
                // The envelope carries both Page and CurrentPage and the spec does not say how they
                // differ: CurrentPage, the plainer name, is read, and Page where it is missing.
                guard let current = member("CurrentPage") ?? member("Page") else {
                    throw failure(.missingPagingField("CurrentPage"), line: root.line)
                }
                page = try number(current)
                // Both are in Metrc's envelope with the same value; TotalRecords says what it is.
                if let records = member("TotalRecords") ?? member("Total") { totalRecords = try number(records) }
            } else if members.contains(where: { member in pagingFields.contains { member.key.equalsIgnoringASCIICase($0) } }) {
                throw failure(.noData, line: root.line)
            } else if let message = member("Message"), case .string(let text) = message.value,
                      member("Label") == nil, member("Name") == nil {
                throw failure(.metrcMessage(text), line: message.line)
            } else {
                elements = [("", root)]
                totalRecords = 1
            }
        default:
            throw failure(.notRecords(found: describe(root.value)), line: root.line)
        }

        var records: [MetrcRecord<Entry>] = []
        var skipped: [MetrcPageError] = []
        records.reserveCapacity(elements.count)
        for (path, element) in elements {
            let problem: MetrcPageError
            if let row = row(from: element) {
                do {
                    records.append(MetrcRecord(entry: try entry(row), lastModified: row.value(["LastModified"])))
                    continue
                } catch {
                    problem = failure(.badRecord(path: path, reason: error.reason), line: element.line)
                }
            } else {
                problem = failure(.recordNotAnObject(path: path, found: describe(element.value)), line: element.line)
            }
            // One object alone (a package asked for by label) has nothing left to read once it is skipped.
            guard skippingBadRecords, !path.isEmpty else { throw problem }
            skipped.append(problem)
        }
        return MetrcPage(records: records, page: page, totalPages: totalPages, totalRecords: totalRecords, skipped: skipped)
    }

    /// The answer's JSON, within the caps of ``ManifestLimits`` that apply to Metrc's answers.
    private static func parseAnswer(_ bytes: [UInt8], endpoint: String) throws(MetrcPageError) -> JSONElement {
        let text: ArraySlice<UInt8>
        do {
            text = try TextInput.validate(bytes, maximumSize: ManifestLimits.maximumMetrcAnswerSize)
        } catch {
            let problem: MetrcPageError.Problem
            switch error {
            case .empty: problem = .empty
            case .tooLarge(let size, let limit): problem = .tooLarge(size: size, limit: limit)
            case .invalidUTF8(_, let column): problem = .notText(column: column)
            case .binary: problem = .notText(column: nil)
            }
            throw MetrcPageError(endpoint: endpoint, line: error.line, problem: problem)
        }
        do {
            return try JSONParser.parse(text, maximumValues: ManifestLimits.maximumJSONValues,
                                        maximumMembers: ManifestLimits.maximumJSONMembers)
        } catch {
            let problem: MetrcPageError.Problem = error.exceedsLimit
                ? .exceedsLimit(reason: error.reason) : .notJSON(reason: error.reason, column: error.column)
            throw MetrcPageError(endpoint: endpoint, line: error.line, problem: problem)
        }
    }

    /// A value's kind for a message, with the text itself when it is text (`text "3"`), since a
    /// number sent as text is the likely mistake.
    private static func describe(_ value: JSONValue) -> String {
        if case .string(let text) = value { return "text \(FieldSyntax.quoted(text))" }
        return value.kindDescription
    }
}
