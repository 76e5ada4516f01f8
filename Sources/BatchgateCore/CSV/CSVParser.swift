/// One CSV record: its cells, and the 1-based line it starts on.
public struct CSVRecord: Sendable, Equatable {
    public var cells: [String]
    public var line: Int

    public init(cells: [String], line: Int) {
        self.cells = cells
        self.line = line
    }

    /// True when every cell is empty or white space.
    public var isBlank: Bool { cells.allSatisfy { $0.allSatisfy(\.isWhitespace) } }
}

/// CSV text that breaks RFC 4180, with the line to look at.
public struct CSVSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var line: Int
    /// True when the text may be well-formed but passes one of the parser's caps (rows, cells):
    /// too large to read, rather than broken.
    public var exceedsLimit = false

    public var description: String { "line \(line): \(reason)" }
}

/// A small RFC 4180 reader: quoted cells may hold the delimiter, doubled quotes and line breaks;
/// LF, CRLF and lone CR end records. Unlike the CSV packages tried (see swift-notes), it reports an
/// unterminated quote and a stray quote with their line numbers instead of guessing.
public enum CSVParser {
    /// The delimiters a header may use.
    public static let delimiters: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\t")]

    /// The delimiter the header (the first line that is not blank) uses most outside quotes: `,`,
    /// `;` or tab (`,` on a tie).
    public static func detectDelimiter(_ text: ArraySlice<UInt8>) -> UInt8 {
        // Counts in a fixed array, not a dictionary: a 16 MB header of commas took 0.5 s hashing.
        var counts = [Int](repeating: 0, count: 256)
        var inQuotes = false
        let start = text.firstIndex { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) } ?? text.endIndex
        let lineStart = text[..<start].lastIndex { $0 == 0x0A || $0 == 0x0D }.map { $0 + 1 } ?? text.startIndex
        for byte in text[lineStart...] {
            if byte == UInt8(ascii: "\"") { inQuotes.toggle(); continue }
            if !inQuotes && (byte == 0x0A || byte == 0x0D) { break }
            if !inQuotes && delimiters.contains(byte) { counts[Int(byte)] += 1 }
        }
        var best = UInt8(ascii: ",")
        for delimiter in delimiters where counts[Int(delimiter)] > counts[Int(best)] {
            best = delimiter
        }
        return best
    }

    /// Splits text (already without a byte-order mark) into records.
    ///
    /// The caps stop the parser at the first cell or row past them with a ``CSVSyntaxError`` whose
    /// `exceedsLimit` is set, so a hostile file never grows more records than the caps allow:
    /// `maximumCellsPerRecord` counts the cells of any one record, blank or not; `maximumRows` the
    /// records kept after the first (the header); `maximumCells` the cells of the records kept.
    /// With `skipBlankRecords`, a record whose cells are all empty or white space (``CSVRecord/isBlank``)
    /// is dropped as soon as it ends, so 16 MB of blank lines cost no memory (they took 1.3 GB as
    /// 16 million records). All caps are unlimited by default (catalog files are not manifests).
    public static func parse(
        _ text: ArraySlice<UInt8>, delimiter: UInt8, skipBlankRecords: Bool = false,
        maximumRows: Int = .max, maximumCellsPerRecord: Int = .max, maximumCells: Int = .max
    ) throws(CSVSyntaxError) -> [CSVRecord] {
        let result: Result<[CSVRecord], CSVSyntaxError> = text.withUnsafeBufferPointer { buffer in
            var reader = RecordReader(buffer: buffer, delimiter: delimiter, skipBlankRecords: skipBlankRecords,
                                      maximumRows: maximumRows, maximumCellsPerRecord: maximumCellsPerRecord,
                                      maximumCells: maximumCells)
            do throws(CSVSyntaxError) {
                return .success(try reader.readAll())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

private let quote = UInt8(ascii: "\"")
private let space = UInt8(ascii: " ")

/// The parser's pass over the bytes. A cell is found as a range of the bytes and made into a
/// `String` once, when it ends; only a quoted cell with doubled quotes is copied first. (Copying
/// every cell byte by byte into a buffer was most of the time spent reading a CSV manifest.)
private struct RecordReader {
    let buffer: UnsafeBufferPointer<UInt8>
    let delimiter: UInt8
    let skipBlankRecords: Bool
    let maximumRows: Int
    let maximumCellsPerRecord: Int
    let maximumCells: Int

    var records: [CSVRecord] = []
    var cells: [String] = []
    var line = 1
    var recordLine = 1
    var keptCells = 0
    /// With skipBlankRecords, the empty cells that begin a record are counted, not stored, until
    /// a cell with text comes: a record of empty cells is then dropped without a list or a
    /// string made for it. 16 MB of empty lines took 1.9 s as records checked one by one, 0.14 s
    /// this way; 16 MB of ",,,,,,\n" 1.3 s, 0.09 s.
    var emptyCells = 0

    /// The current cell: unquoted, the bytes from `cellStart` to the cursor; quoted, the content
    /// at `quoted` in the bytes, or in `decoded` when it had doubled quotes (each then written once).
    var cellStart = 0
    var quoted: Range<Int>?
    var quotedHasDoubledQuotes = false
    var decoded: [UInt8] = []

    init(buffer: UnsafeBufferPointer<UInt8>, delimiter: UInt8, skipBlankRecords: Bool,
         maximumRows: Int, maximumCellsPerRecord: Int, maximumCells: Int) {
        self.buffer = buffer
        self.delimiter = delimiter
        self.skipBlankRecords = skipBlankRecords
        self.maximumRows = maximumRows
        self.maximumCellsPerRecord = maximumCellsPerRecord
        self.maximumCells = maximumCells
    }

    func limit(_ reason: String, line: Int) -> CSVSyntaxError {
        CSVSyntaxError(reason: reason, line: line, exceedsLimit: true)
    }

    /// The bytes of the current cell, which ends at `end`.
    func withCell<Result>(endingAt end: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if quotedHasDoubledQuotes { return decoded.withUnsafeBufferPointer(body) }
        return body(UnsafeBufferPointer(rebasing: buffer[quoted ?? cellStart..<end]))
    }

    mutating func finishCell(endingAt end: Int) throws(CSVSyntaxError) {
        defer {
            quoted = nil
            quotedHasDoubledQuotes = false
        }
        if cells.count + emptyCells == maximumCellsPerRecord {
            throw limit("the row holds more than \(ManifestLimits.grouped(maximumCellsPerRecord)) cells", line: recordLine)
        }
        if skipBlankRecords && cells.isEmpty && withCell(endingAt: end, \.isEmpty) {
            emptyCells += 1
            return
        }
        if emptyCells > 0 {
            cells.append(contentsOf: repeatElement("", count: emptyCells))
            emptyCells = 0
        }
        cells.append(withCell(endingAt: end) { String(decoding: $0, as: UTF8.self) })
    }

    mutating func finishRecord(endingAt end: Int) throws(CSVSyntaxError) {
        try finishCell(endingAt: end)
        if cells.isEmpty {  // every cell was empty: a blank record, never stored
            emptyCells = 0
            return
        }
        let record = CSVRecord(cells: cells, line: recordLine)
        // A new list sized for the next record, as wide as this one: not removeAll(keepingCapacity:),
        // as each kept record would then copy the widest row's capacity.
        cells = []
        cells.reserveCapacity(record.cells.count)
        if skipBlankRecords && record.isBlank { return }
        if records.count > maximumRows {
            throw limit("the CSV holds more than \(ManifestLimits.grouped(maximumRows)) rows below its header (blank rows aside)", line: recordLine)
        }
        keptCells += record.cells.count
        if keptCells > maximumCells {
            throw limit("the CSV holds more than \(ManifestLimits.grouped(maximumCells)) cells (blank rows aside)", line: recordLine)
        }
        records.append(record)
    }

    mutating func readAll() throws(CSVSyntaxError) -> [CSVRecord] {
        // Local copies: read through `self` they would be loaded again on every byte.
        let buffer = buffer, delimiter = delimiter
        var index = 0
        let end = buffer.count
        while index < end {
            let byte = buffer[index]
            switch byte {
            case delimiter:
                try finishCell(endingAt: index)
                index += 1
                cellStart = index
            case 0x0A, 0x0D:
                try finishRecord(endingAt: index)
                if byte == 0x0D && index + 1 < end && buffer[index + 1] == 0x0A { index += 1 }
                index += 1
                line += 1
                recordLine = line
                cellStart = index
            case quote:
                // A quoted cell (spaces before the quote are dropped): anything else before it is
                // a quote inside an unquoted cell.
                guard quoted == nil, buffer[cellStart..<index].allSatisfy({ $0 == space }) else {
                    throw CSVSyntaxError(
                        reason: "a '\"' inside an unquoted cell; quote the whole cell and double the quote (\"\"\"\")",
                        line: line)
                }
                index = try readQuotedCell(openingAt: index)
                cellStart = index
            default:
                index += 1
            }
        }
        if !withCell(endingAt: end, \.isEmpty) || !cells.isEmpty { try finishRecord(endingAt: end) }
        return records
    }

    /// Reads the quoted cell whose opening quote is at `open`, up to its matching quote, which must
    /// end the cell but for spaces; returns the index after those spaces.
    mutating func readQuotedCell(openingAt open: Int) throws(CSVSyntaxError) -> Int {
        let end = buffer.count
        let openLine = line
        var index = open + 1
        var contentStart = index
        decoded.removeAll(keepingCapacity: true)
        while index < end {
            let inner = buffer[index]
            if inner == quote {
                if index + 1 < end && buffer[index + 1] == quote {
                    // A doubled quote: the content so far and one quote go to `decoded`.
                    quotedHasDoubledQuotes = true
                    decoded.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[contentStart...index]))
                    index += 2
                    contentStart = index
                    continue
                }
                if quotedHasDoubledQuotes {
                    decoded.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[contentStart..<index]))
                }
                quoted = contentStart..<index
                index += 1
                while index < end && buffer[index] == space { index += 1 }
                if index < end {
                    let next = buffer[index]
                    if next != delimiter && next != 0x0A && next != 0x0D {
                        throw CSVSyntaxError(
                            reason: "text follows the closing quote of a quoted cell; quote the whole cell and double any quote inside it",
                            line: line)
                    }
                }
                return index
            }
            if inner == 0x0A || (inner == 0x0D && !(index + 1 < end && buffer[index + 1] == 0x0A)) {
                line += 1
            }
            index += 1
        }
        throw CSVSyntaxError(reason: "a quoted cell opened here is never closed (a '\"' is missing)", line: openLine)
    }
}
