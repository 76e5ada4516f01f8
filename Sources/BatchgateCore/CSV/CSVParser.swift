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
        var records: [CSVRecord] = []
        var cells: [String] = []
        var cell: [UInt8] = []
        var line = 1
        var recordLine = 1
        var index = text.startIndex
        let end = text.endIndex
        let quote = UInt8(ascii: "\"")
        var keptCells = 0

        func limit(_ reason: String, line: Int) -> CSVSyntaxError {
            CSVSyntaxError(reason: reason, line: line, exceedsLimit: true)
        }
        // With skipBlankRecords, the empty cells that begin a record are counted, not stored, until
        // a cell with text comes: a record of empty cells is then dropped without a list or a
        // string made for it. 16 MB of empty lines took 1.9 s as records checked one by one, 0.14 s
        // this way; 16 MB of ",,,,,,\n" 1.3 s, 0.09 s.
        var emptyCells = 0
        func finishCell() throws(CSVSyntaxError) {
            if cells.count + emptyCells == maximumCellsPerRecord {
                throw limit("the row holds more than \(ManifestLimits.grouped(maximumCellsPerRecord)) cells", line: recordLine)
            }
            if skipBlankRecords && cells.isEmpty && cell.isEmpty {
                emptyCells += 1
                return
            }
            if emptyCells > 0 {
                cells.append(contentsOf: repeatElement("", count: emptyCells))
                emptyCells = 0
            }
            cells.append(String(decoding: cell, as: UTF8.self))
            cell.removeAll(keepingCapacity: true)
        }
        func finishRecord() throws(CSVSyntaxError) {
            try finishCell()
            if cells.isEmpty {  // every cell was empty: a blank record, never stored
                emptyCells = 0
                return
            }
            let record = CSVRecord(cells: cells, line: recordLine)
            // Not removeAll(keepingCapacity:): each kept record would then copy the widest row's capacity.
            cells = []
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

        while index < end {
            let byte = text[index]
            if byte == quote && cell.allSatisfy({ $0 == 0x20 }) {
                // A quoted cell (spaces before the quote are dropped): runs to the matching quote,
                // which must end the cell, but for spaces.
                cell.removeAll(keepingCapacity: true)
                let openLine = line
                index += 1
                var closed = false
                while index < end {
                    let inner = text[index]
                    if inner == quote {
                        if index + 1 < end && text[index + 1] == quote {
                            cell.append(quote)
                            index += 2
                            continue
                        }
                        index += 1
                        closed = true
                        break
                    }
                    if inner == 0x0A || (inner == 0x0D && !(index + 1 < end && text[index + 1] == 0x0A)) {
                        line += 1
                    }
                    cell.append(inner)
                    index += 1
                }
                guard closed else {
                    throw CSVSyntaxError(reason: "a quoted cell opened here is never closed (a '\"' is missing)", line: openLine)
                }
                while index < end && text[index] == 0x20 { index += 1 }
                if index < end {
                    let next = text[index]
                    if next != delimiter && next != 0x0A && next != 0x0D {
                        throw CSVSyntaxError(
                            reason: "text follows the closing quote of a quoted cell; quote the whole cell and double any quote inside it",
                            line: line)
                    }
                }
                continue
            }
            switch byte {
            case delimiter:
                try finishCell()
                index += 1
            case 0x0A, 0x0D:
                try finishRecord()
                if byte == 0x0D && index + 1 < end && text[index + 1] == 0x0A { index += 1 }
                index += 1
                line += 1
                recordLine = line
            case quote:
                throw CSVSyntaxError(
                    reason: "a '\"' inside an unquoted cell; quote the whole cell and double the quote (\"\"\"\")",
                    line: line)
            default:
                cell.append(byte)
                index += 1
            }
        }
        if !cell.isEmpty || !cells.isEmpty { try finishRecord() }
        return records
    }
}
