/// The first step for every file: size cap, byte-order mark, and UTF-8 validity, each refused
/// with a message that says where the problem is.
public enum TextInput {
    /// The default largest manifest accepted: 16 MiB.
    public static let defaultMaximumSize = 16 * 1024 * 1024

    /// The problems that make bytes unusable as text.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case tooLarge(size: Int, limit: Int)
        case invalidUTF8(line: Int, column: Int)
        case binary(line: Int)

        public var description: String {
            switch self {
            case .empty:
                "the file is empty (no text, or only white space)"
            case .tooLarge(let size, let limit):
                "the file is \(size) bytes, over the \(limit)-byte limit for a manifest"
            case .invalidUTF8(let line, let column):
                "line \(line), column \(column): the bytes are not valid UTF-8 text (is this a binary file, or saved in another encoding?)"
            case .binary(let line):
                "line \(line): the file holds NUL bytes, so it is binary, not a text manifest"
            }
        }

        /// The line the problem is on, where there is one.
        public var line: Int? {
            switch self {
            case .invalidUTF8(let line, _), .binary(let line): line
            case .empty, .tooLarge: nil
            }
        }
    }

    /// Returns the text bytes without a UTF-8 byte-order mark, after checking the size and that
    /// every byte sequence is valid UTF-8 with no NUL.
    public static func validate(_ bytes: [UInt8], maximumSize: Int = defaultMaximumSize) throws(Problem) -> ArraySlice<UInt8> {
        if bytes.count > maximumSize { throw .tooLarge(size: bytes.count, limit: maximumSize) }
        let body = withoutByteOrderMark(bytes[...])
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) { throw .empty }
        // One pass that only checks; the line and column are counted only for a file that fails.
        let problem: Problem? = body.withUnsafeBufferPointer { buffer in
            var index = 0
            while index < buffer.count {
                // Eight bytes at a time while they are ASCII without NUL, as nearly all of a manifest
                // is: a byte-by-byte loop was 2% of checking a manifest.
                if index + 8 <= buffer.count {
                    let word = UnsafeRawPointer(buffer.baseAddress! + index).loadUnaligned(as: UInt64.self)
                    let zeroBytes = (word &- 0x0101_0101_0101_0101) & ~word
                    if (word | zeroBytes) & 0x8080_8080_8080_8080 == 0 {
                        index += 8
                        continue
                    }
                }
                let byte = buffer[index]
                if byte < 0x80 {
                    if byte == 0 { return .binary(line: lineAndColumn(buffer, index).line) }
                    index += 1
                    continue
                }
                let length = sequenceLength(body, at: body.startIndex + index)
                if length == 0 {
                    let (line, column) = lineAndColumn(buffer, index)
                    return .invalidUTF8(line: line, column: column)
                }
                index += length
            }
            return nil
        }
        if let problem { throw problem }
        return body
    }

    /// The 1-based line and byte column of `index`.
    private static func lineAndColumn(_ buffer: UnsafeBufferPointer<UInt8>, _ index: Int) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        for position in 0..<index where buffer[position] == 0x0A {
            line += 1
            lineStart = position + 1
        }
        return (line, index - lineStart + 1)
    }

    /// The bytes without a leading UTF-8 byte-order mark.
    public static func withoutByteOrderMark(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes.dropFirst(3) : bytes
    }

    /// The length of a valid UTF-8 sequence starting at `index`, or 0 if it is invalid
    /// (overlong forms, surrogates and values past U+10FFFF are invalid).
    private static func sequenceLength(_ bytes: ArraySlice<UInt8>, at index: Int) -> Int {
        let lead = bytes[index]
        func continuation(_ offset: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
            index + offset < bytes.endIndex && range.contains(bytes[index + offset])
        }
        switch lead {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : 0
        case 0xE0:
            return continuation(1, 0xA0...0xBF) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(1) && continuation(2) ? 3 : 0
        case 0xED:
            return continuation(1, 0x80...0x9F) && continuation(2) ? 3 : 0
        case 0xF0:
            return continuation(1, 0x90...0xBF) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4:
            return continuation(1, 0x80...0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default:
            return 0
        }
    }
}
