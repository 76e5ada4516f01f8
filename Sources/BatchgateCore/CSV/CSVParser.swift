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
        let table = try table(text, delimiter: delimiter, skipBlankRecords: skipBlankRecords, maximumRows: maximumRows,
                              maximumCellsPerRecord: maximumCellsPerRecord, maximumCells: maximumCells)
        return table.records.indices.map(table.record)
    }

    /// The records as places in `text` (see ``CSVTable``), with the same checks, caps and errors as
    /// ``parse(_:delimiter:skipBlankRecords:maximumRows:maximumCellsPerRecord:maximumCells:)``.
    static func table(
        _ text: ArraySlice<UInt8>, delimiter: UInt8, skipBlankRecords: Bool = false,
        maximumRows: Int = .max, maximumCellsPerRecord: Int = .max, maximumCells: Int = .max
    ) throws(CSVSyntaxError) -> CSVTable {
        // Cells keep offsets in 32 bits; no caller reads anywhere near 4 GiB.
        guard text.count < Int(UInt32.max) else {
            throw CSVSyntaxError(reason: "the text is larger than 4 GiB", line: 1, exceedsLimit: true)
        }
        let result: Result<CSVTable, CSVSyntaxError> = text.withUnsafeBufferPointer { buffer in
            var reader = RecordReader(buffer: buffer, delimiter: delimiter, skipBlankRecords: skipBlankRecords,
                                      maximumRows: maximumRows, maximumCellsPerRecord: maximumCellsPerRecord,
                                      maximumCells: maximumCells)
            do throws(CSVSyntaxError) {
                try reader.readAll()
                return .success(CSVTable(text: text, cells: reader.cells, decoded: reader.decoded, records: reader.records))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// The records of a CSV text as places in its bytes: a cell becomes a `String` only when a reader
/// keeps it. A manifest's rows repeat their package's cells on every ingredient row, and making a
/// string of each, to trim it and compare it with the first row's, was most of reading a CSV
/// manifest.
struct CSVTable {
    /// A cell's bytes: `start..<end` in the text, or in ``decoded`` for a quoted cell that had
    /// doubled quotes (written there once, undoubled).
    struct Cell: Equatable {
        var start: UInt32
        var end: UInt32
        var isDecoded: Bool

        static let empty = Cell(start: 0, end: 0, isDecoded: false)
        var isEmpty: Bool { start == end }
    }

    /// One record: its cells are `cells[firstCell..<firstCell + count]`.
    struct Record {
        var firstCell: Int
        var count: Int
        var line: Int
    }

    let text: ArraySlice<UInt8>
    let cells: [Cell]
    let decoded: [UInt8]
    let records: [Record]

    /// The bytes of `cell`.
    @inline(__always)
    func withBytes<Result>(of cell: Cell, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        let range = Int(cell.start)..<Int(cell.end)
        if cell.isDecoded { return decoded.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[range])) } }
        return text.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    func string(_ cell: Cell) -> String {
        withBytes(of: cell) { String(decoding: $0, as: UTF8.self) }
    }

    /// The cell of `record` at `column`.
    func cell(_ record: Record, _ column: Int) -> Cell { cells[record.firstCell + column] }

    /// Whether two cells hold the same bytes.
    func sameBytes(_ a: Cell, _ b: Cell) -> Bool {
        if a.end - a.start != b.end - b.start { return false }
        return withBytes(of: a) { x in withBytes(of: b) { y in equalBytes(x, y) } }
    }

    /// The record with its cells as strings.
    func record(_ index: Int) -> CSVRecord {
        let record = records[index]
        return CSVRecord(cells: cells[record.firstCell..<record.firstCell + record.count].map { string($0) },
                         line: record.line)
    }

    /// `cell` without the white space around it, as `String.trimmingWhitespace()` would leave it
    /// (``Cell/isEmpty`` when nothing else is in it).
    func trimmed(_ cell: Cell) -> Cell {
        let (from, to) = withBytes(of: cell) { bytes -> (Int, Int) in
            var from = 0, to = bytes.count
            while from < to, isASCIISpace(bytes[from]) { from += 1 }
            while to > from, isASCIISpace(bytes[to - 1]) { to -= 1 }
            // Where an edge is not ASCII, white space is Unicode's, and a space before it may begin
            // a character with combining marks: the string function decides. (With both edges
            // ASCII, no character crosses them, and ASCII white space is what it trims.)
            if from < to && (bytes[from] >= 0x80 || bytes[to - 1] >= 0x80) {
                let text = String(decoding: bytes, as: UTF8.self)
                // Offsets in the string are offsets in the bytes only when nothing was repaired:
                // the readers take text `TextInput` checked, and a caller that did not gets the
                // cell trimmed of ASCII white space alone, inside its bytes.
                guard text.utf8.count == bytes.count else { return (from, to) }
                let kept = text.trimmingWhitespace()
                if kept.isEmpty { return (0, 0) }
                // What it keeps is one run of whole characters, found again in the bytes.
                let start = text.utf8.count - text.drop(while: \.isWhitespace).utf8.count
                return (start, start + kept.utf8.count)
            }
            return (from, to)
        }
        if from == to { return .empty }
        return Cell(start: cell.start + UInt32(from), end: cell.start + UInt32(to), isDecoded: cell.isDecoded)
    }
}

private let quote = UInt8(ascii: "\"")
private let space = UInt8(ascii: " ")

/// The parser's pass over the bytes. A cell is kept as its place in the bytes; only a quoted cell
/// with doubled quotes is copied, undoubled, into `decoded`. (Copying every cell byte by byte into
/// a buffer was most of the time spent reading a CSV manifest; then making a string of each.)
private struct RecordReader {
    let buffer: UnsafeBufferPointer<UInt8>
    let delimiter: UInt8
    let skipBlankRecords: Bool
    let maximumRows: Int
    let maximumCellsPerRecord: Int
    let maximumCells: Int

    var records: [CSVTable.Record] = []
    /// The cells of every record kept, then those of the record being read, from `recordStart`.
    var cells: [CSVTable.Cell] = []
    var recordStart = 0
    var line = 1
    var recordLine = 1
    var keptCells = 0
    /// With skipBlankRecords, the empty cells that begin a record are counted, not stored, until
    /// a cell with text comes: a record of empty cells is then dropped without storing anything
    /// for it. 16 MB of empty lines took 1.9 s as records checked one by one, 0.14 s this way;
    /// 16 MB of ",,,,,,\n" 1.3 s, 0.09 s.
    var emptyCells = 0

    /// The current cell: unquoted, the bytes from `cellStart` to the cursor; quoted, the content
    /// at `quoted` in the bytes, or from `decodedStart` in `decoded` when it had doubled quotes
    /// (each then written once).
    var cellStart = 0
    var quoted: Range<Int>?
    var quotedHasDoubledQuotes = false
    var decoded: [UInt8] = []
    var decodedStart = 0

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

    /// The current cell, which ends at `end`.
    func currentCell(endingAt end: Int) -> CSVTable.Cell {
        if quotedHasDoubledQuotes {
            return CSVTable.Cell(start: UInt32(truncatingIfNeeded: decodedStart),
                                 end: UInt32(truncatingIfNeeded: decoded.count), isDecoded: true)
        }
        let range = quoted ?? cellStart..<end
        return CSVTable.Cell(start: UInt32(truncatingIfNeeded: range.lowerBound),
                             end: UInt32(truncatingIfNeeded: range.upperBound), isDecoded: false)
    }

    mutating func finishCell(endingAt end: Int) throws(CSVSyntaxError) {
        defer {
            quoted = nil
            quotedHasDoubledQuotes = false
        }
        let count = cells.count - recordStart
        if count + emptyCells == maximumCellsPerRecord {
            throw limit("the row holds more than \(ManifestLimits.grouped(maximumCellsPerRecord)) cells", line: recordLine)
        }
        let cell = currentCell(endingAt: end)
        if skipBlankRecords && count == 0 && cell.isEmpty {
            emptyCells += 1
            return
        }
        if emptyCells > 0 {
            cells.append(contentsOf: repeatElement(.empty, count: emptyCells))
            emptyCells = 0
        }
        cells.append(cell)
    }

    mutating func finishRecord(endingAt end: Int) throws(CSVSyntaxError) {
        try finishCell(endingAt: end)
        let count = cells.count - recordStart
        if count == 0 {  // every cell was empty: a blank record, never stored
            emptyCells = 0
            return
        }
        if skipBlankRecords && cells[recordStart...].allSatisfy(isBlank) {
            cells.removeSubrange(recordStart...)
            return
        }
        if records.count > maximumRows {
            throw limit("the CSV holds more than \(ManifestLimits.grouped(maximumRows)) rows below its header (blank rows aside)", line: recordLine)
        }
        keptCells += count
        if keptCells > maximumCells {
            throw limit("the CSV holds more than \(ManifestLimits.grouped(maximumCells)) cells (blank rows aside)", line: recordLine)
        }
        records.append(CSVTable.Record(firstCell: recordStart, count: count, line: recordLine))
        recordStart = cells.count
    }

    /// Whether `cell` is all white space, as ``CSVRecord/isBlank`` asks of each cell.
    func isBlank(_ cell: CSVTable.Cell) -> Bool {
        let range = Int(cell.start)..<Int(cell.end)
        if cell.isDecoded { return decoded.withUnsafeBufferPointer { Self.isBlank(UnsafeBufferPointer(rebasing: $0[range])) } }
        return Self.isBlank(UnsafeBufferPointer(rebasing: buffer[range]))
    }

    static func isBlank(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if bytes.allSatisfy(isASCIISpace) { return true }
        // A non-ASCII byte may be Unicode white space; anything else ASCII is not.
        guard bytes.contains(where: { $0 >= 0x80 }) else { return false }
        return String(decoding: bytes, as: UTF8.self).allSatisfy(\.isWhitespace)
    }

    mutating func readAll() throws(CSVSyntaxError) {
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
        if !currentCell(endingAt: end).isEmpty || cells.count > recordStart { try finishRecord(endingAt: end) }
    }

    /// Reads the quoted cell whose opening quote is at `open`, up to its matching quote, which must
    /// end the cell but for spaces; returns the index after those spaces.
    mutating func readQuotedCell(openingAt open: Int) throws(CSVSyntaxError) -> Int {
        let end = buffer.count
        let openLine = line
        var index = open + 1
        var contentStart = index
        decodedStart = decoded.count
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
