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
        var counts: [UInt8: Int] = [:]
        var inQuotes = false
        let start = text.firstIndex { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) } ?? text.endIndex
        let lineStart = text[..<start].lastIndex { $0 == 0x0A || $0 == 0x0D }.map { $0 + 1 } ?? text.startIndex
        for byte in text[lineStart...] {
            if byte == UInt8(ascii: "\"") { inQuotes.toggle(); continue }
            if !inQuotes && (byte == 0x0A || byte == 0x0D) { break }
            if !inQuotes && delimiters.contains(byte) { counts[byte, default: 0] += 1 }
        }
        var best = UInt8(ascii: ",")
        for delimiter in delimiters where counts[delimiter, default: 0] > counts[best, default: 0] {
            best = delimiter
        }
        return best
    }

    /// Splits text (already without a byte-order mark) into records.
    public static func parse(_ text: ArraySlice<UInt8>, delimiter: UInt8) throws(CSVSyntaxError) -> [CSVRecord] {
        var records: [CSVRecord] = []
        var cells: [String] = []
        var cell: [UInt8] = []
        var line = 1
        var recordLine = 1
        var index = text.startIndex
        let end = text.endIndex
        let quote = UInt8(ascii: "\"")

        func finishCell() {
            cells.append(String(decoding: cell, as: UTF8.self))
            cell.removeAll(keepingCapacity: true)
        }
        func finishRecord() {
            finishCell()
            records.append(CSVRecord(cells: cells, line: recordLine))
            cells = []
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
                finishCell()
                index += 1
            case 0x0A, 0x0D:
                finishRecord()
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
        if !cell.isEmpty || !cells.isEmpty { finishRecord() }
        return records
    }
}
