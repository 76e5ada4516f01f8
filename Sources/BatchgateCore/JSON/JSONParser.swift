/// A strict RFC 8259 JSON parser over UTF-8 bytes that records the line of every value.
///
/// It exists because the readers need line numbers and a hard nesting limit, and because it is
/// several times faster than Foundation's `JSONSerialization` on Linux (see `bench/`).
/// The input must already be valid UTF-8 (``TextInput`` checks that for the whole file).
public enum JSONParser {
    /// Deeper nesting than this is refused: a manifest needs five levels, and a hostile file must
    /// not be able to exhaust the stack.
    public static let defaultMaximumDepth = 64

    /// Parses one JSON document, which may be surrounded by white space only.
    ///
    /// `maximumValues` caps the values in the whole document (every object, list, text, number,
    /// true/false and null counts one) and `maximumMembers` the properties of one object; the
    /// parser stops at the first value past a cap with a ``JSONSyntaxError`` whose `exceedsLimit`
    /// is set, so a hostile file never grows a tree larger than the cap. Both are unlimited by
    /// default (catalog files are not manifests); manifests use ``ManifestLimits``.
    public static func parse(
        _ bytes: [UInt8], maximumDepth: Int = defaultMaximumDepth,
        maximumValues: Int = .max, maximumMembers: Int = .max
    ) throws(JSONSyntaxError) -> JSONElement {
        try parse(bytes[...], maximumDepth: maximumDepth, maximumValues: maximumValues, maximumMembers: maximumMembers)
    }

    /// Parses one JSON document held in a slice of bytes.
    public static func parse(
        _ bytes: ArraySlice<UInt8>, maximumDepth: Int = defaultMaximumDepth,
        maximumValues: Int = .max, maximumMembers: Int = .max
    ) throws(JSONSyntaxError) -> JSONElement {
        try document(bytes, maximumDepth: maximumDepth, maximumValues: maximumValues, maximumMembers: maximumMembers)
            .element(0)
    }

    /// Parses one JSON document into entries that point into `bytes` (see ``JSONDocument``), with
    /// the same checks and errors as ``parse(_:maximumDepth:maximumValues:maximumMembers:)``.
    static func document(
        _ bytes: ArraySlice<UInt8>, maximumDepth: Int = defaultMaximumDepth,
        maximumValues: Int = .max, maximumMembers: Int = .max
    ) throws(JSONSyntaxError) -> JSONDocument {
        // Entries keep offsets and lines in 32 bits; no caller reads anywhere near 4 GiB.
        guard bytes.count < Int(UInt32.max) else {
            throw JSONSyntaxError(reason: "the text is larger than 4 GiB", line: 1, column: 1, exceedsLimit: true)
        }
        let result: Result<JSONDocument, JSONSyntaxError> = bytes.withUnsafeBufferPointer { buffer in
            var cursor = Cursor(buffer: buffer, maximumDepth: maximumDepth, maximumValues: maximumValues,
                                maximumMembers: maximumMembers)
            do throws(JSONSyntaxError) {
                cursor.skipWhitespace()
                guard !cursor.atEnd else { throw cursor.error("the text is empty: no JSON value") }
                try cursor.parseValue(depth: 0)
                cursor.skipWhitespace()
                if !cursor.atEnd {
                    throw cursor.error("unexpected text after the end of the JSON value")
                }
                return .success(JSONDocument(text: bytes, entries: cursor.entries, unescaped: cursor.unescaped))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")
private let newline = UInt8(ascii: "\n")

/// The grammar, one value at a time, appending an entry for each value and property name.
private struct Cursor {
    let buffer: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    let maximumValues: Int
    let maximumMembers: Int
    var index = 0
    var line = 1
    var lineStart = 0
    /// Values begun so far, counted before each is built.
    var values = 0
    var entries: [JSONDocument.Entry] = []
    var unescaped: [UInt8] = []

    init(buffer: UnsafeBufferPointer<UInt8>, maximumDepth: Int, maximumValues: Int, maximumMembers: Int) {
        self.buffer = buffer
        self.maximumDepth = maximumDepth
        self.maximumValues = maximumValues
        self.maximumMembers = maximumMembers
        // A manifest writes about one value or name every 8 bytes; growing past that is rare.
        entries.reserveCapacity(min(buffer.count / 8 + 4, 1 << 20))
    }

    var atEnd: Bool { index >= buffer.count }

    func error(_ reason: String, at position: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(reason: reason, line: line, column: (position ?? index) - lineStart + 1)
    }

    // The loops over bytes below work on local copies of the cursor's fields: through `self`, the
    // compiler loads and stores them on every byte, which doubled the cost of parsing.

    mutating func skipWhitespace() {
        let buffer = buffer
        var position = index
        defer { index = position }
        while position < buffer.count {
            switch buffer[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                position += 1
            case newline:
                position += 1
                line += 1
                lineStart = position
                // The indentation that follows, eight spaces at a time.
                while position + 8 <= buffer.count,
                      UnsafeRawPointer(buffer.baseAddress! + position).loadUnaligned(as: UInt64.self) == everyByte(0x20) {
                    position += 8
                }
            default:
                return
            }
        }
    }

    mutating func append(_ kind: JSONDocument.Kind, line: Int, _ first: UInt32 = 0, _ second: UInt32 = 0) {
        entries.append(JSONDocument.Entry(kind: kind, line: UInt32(truncatingIfNeeded: line), first: first, second: second))
    }

    mutating func parseValue(depth: Int) throws(JSONSyntaxError) {
        let startLine = line
        guard index < buffer.count else { throw error("the text ends where a value was expected") }
        values += 1
        if values > maximumValues {
            var tooMany = error("the JSON holds more than \(ManifestLimits.grouped(maximumValues)) values")
            tooMany.exceedsLimit = true
            throw tooMany
        }
        switch buffer[index] {
        case UInt8(ascii: "{"):
            try parseObject(depth: depth + 1)
        case UInt8(ascii: "["):
            try parseArray(depth: depth + 1)
        case quote:
            try parseString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let bits = try parseNumber().bitPattern
            append(.number, line: startLine, UInt32(truncatingIfNeeded: bits), UInt32(truncatingIfNeeded: bits >> 32))
        default:
            try parseWord()
        }
    }

    /// `true`, `false` or `null`, compared as bytes; anything else is an error naming the word.
    mutating func parseWord() throws(JSONSyntaxError) {
        let start = index
        while index < buffer.count, isWordByte(buffer[index]) { index += 1 }
        let word = UnsafeBufferPointer(rebasing: buffer[start..<index])
        if Self.isWord(word, "true") { return append(.bool, line: line, 1) }
        if Self.isWord(word, "false") { return append(.bool, line: line, 0) }
        if Self.isWord(word, "null") { return append(.null, line: line) }
        if word.isEmpty {
            let found = describeByte(buffer[start])
            throw error("unexpected \(found) where a value was expected", at: start)
        }
        let text = String(decoding: word, as: UTF8.self)
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        throw error(
            "'\(shown)' is not a JSON value (numbers are written in digits, text in double quotes)",
            at: start)
    }

    /// Whether `word` is `expected`, compared byte by byte: `elementsEqual` against `"true".utf8`
    /// took about 165 instructions a word.
    static func isWord(_ word: UnsafeBufferPointer<UInt8>, _ expected: StaticString) -> Bool {
        guard word.count == expected.utf8CodeUnitCount else { return false }
        for index in word.indices where word[index] != expected.utf8Start[index] { return false }
        return true
    }

    func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "+"), UInt8(ascii: "-"):
            return true
        default:
            return byte >= 0x80
        }
    }

    func describeByte(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    mutating func enter(_ depth: Int) throws(JSONSyntaxError) {
        if depth > maximumDepth {
            throw error("the JSON is nested more than \(maximumDepth) levels deep")
        }
    }

    /// Sets the count and end of the list or object begun at `entry`, now that its contents are in.
    mutating func close(_ entry: Int, count: Int) {
        entries[entry].first = UInt32(truncatingIfNeeded: count)
        entries[entry].second = UInt32(truncatingIfNeeded: entries.count)
    }

    mutating func parseArray(depth: Int) throws(JSONSyntaxError) {
        try enter(depth)
        let entry = entries.count
        append(.array, line: line)
        index += 1  // [
        var count = 0
        skipWhitespace()
        if index < buffer.count, buffer[index] == UInt8(ascii: "]") {
            index += 1
            return close(entry, count: count)
        }
        while true {
            skipWhitespace()
            if index < buffer.count, buffer[index] == UInt8(ascii: "]") {
                throw error("a trailing comma before ']' is not allowed in JSON")
            }
            try parseValue(depth: depth)
            count += 1
            skipWhitespace()
            guard index < buffer.count else { throw error("the text ends inside a list: ']' is missing") }
            switch buffer[index] {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "]"):
                index += 1
                return close(entry, count: count)
            default:
                throw error("expected ',' or ']' in a list but found \(describeByte(buffer[index]))")
            }
        }
    }

    mutating func parseObject(depth: Int) throws(JSONSyntaxError) {
        try enter(depth)
        let entry = entries.count
        append(.object, line: line)
        index += 1  // {
        var count = 0
        skipWhitespace()
        if index < buffer.count, buffer[index] == UInt8(ascii: "}") {
            index += 1
            return close(entry, count: count)
        }
        while true {
            skipWhitespace()
            guard index < buffer.count else { throw error("the text ends inside an object: '}' is missing") }
            guard buffer[index] == quote else {
                if buffer[index] == UInt8(ascii: "}") {
                    throw error("a trailing comma before '}' is not allowed in JSON")
                }
                throw error("expected a property name in double quotes but found \(describeByte(buffer[index]))")
            }
            let keyAt = index
            let key = entries.count
            try parseString()
            skipWhitespace()
            guard index < buffer.count, buffer[index] == UInt8(ascii: ":") else {
                throw error("expected ':' after the property name \"\(string(key))\"")
            }
            index += 1
            skipWhitespace()
            if count == maximumMembers {
                var tooMany = error(
                    "an object holds more than \(ManifestLimits.grouped(maximumMembers)) properties", at: keyAt)
                tooMany.exceedsLimit = true
                throw tooMany
            }
            try parseValue(depth: depth)
            count += 1
            skipWhitespace()
            guard index < buffer.count else { throw error("the text ends inside an object: '}' is missing") }
            switch buffer[index] {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "}"):
                index += 1
                return close(entry, count: count)
            default:
                throw error("expected ',' or '}' after the value of \"\(string(key))\" but found \(describeByte(buffer[index]))")
            }
        }
    }

    /// The text of a string entry already parsed, for error messages.
    func string(_ entry: Int) -> String {
        let name = entries[entry]
        let range = Int(name.first)..<Int(name.second)
        if name.isEscaped { return String(decoding: unescaped[range], as: UTF8.self) }
        return String(decoding: UnsafeBufferPointer(rebasing: buffer[range]), as: UTF8.self)
    }

    /// Appends a string entry: the text's place in the buffer when it has no escapes (nearly every
    /// text), else its decoded bytes' place in `unescaped`.
    mutating func parseString() throws(JSONSyntaxError) {
        let openAt = index
        let startLine = line
        index += 1  // opening quote
        let start = index
        let buffer = buffer
        var position = index
        // Eight bytes at a time while none is a quote, a backslash or a control character: texts
        // are most of a manifest's bytes.
        while position + 8 <= buffer.count {
            let word = UnsafeRawPointer(buffer.baseAddress! + position).loadUnaligned(as: UInt64.self)
            if hasByte(word, equalTo: quote) || hasByte(word, equalTo: backslash) || hasByte(word, below: 0x20) { break }
            position += 8
        }
        // Fast path: no escapes.
        while position < buffer.count {
            let byte = buffer[position]
            if byte == quote {
                append(.string, line: startLine, UInt32(truncatingIfNeeded: start), UInt32(truncatingIfNeeded: position))
                index = position + 1
                return
            }
            if byte == backslash { break }
            if byte < 0x20 {
                index = position
                throw controlCharacterError(byte)
            }
            position += 1
        }
        index = position
        guard index < buffer.count else {
            throw error("the text ends inside a string that starts here", at: openAt)
        }
        let decodedStart = unescaped.count
        unescaped.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<index]))
        while index < buffer.count {
            let byte = buffer[index]
            switch byte {
            case quote:
                index += 1
                entries.append(JSONDocument.Entry(
                    kind: .string, isEscaped: true, line: UInt32(truncatingIfNeeded: startLine),
                    first: UInt32(truncatingIfNeeded: decodedStart), second: UInt32(truncatingIfNeeded: unescaped.count)))
                return
            case backslash:
                index += 1
                guard index < buffer.count else { break }
                try appendEscape()
            case 0..<0x20:
                throw controlCharacterError(byte)
            default:
                unescaped.append(byte)
                index += 1
            }
        }
        throw error("the text ends inside a string that starts here", at: openAt)
    }

    func controlCharacterError(_ byte: UInt8) -> JSONSyntaxError {
        if byte == newline {
            return error("a line break inside a string must be written as \\n (is a closing quote missing?)")
        }
        return error("control character 0x\(String(byte, radix: 16)) inside a string must be escaped")
    }

    mutating func appendEscape() throws(JSONSyntaxError) {
        let escape = buffer[index]
        index += 1
        switch escape {
        case quote: unescaped.append(quote)
        case backslash: unescaped.append(backslash)
        case UInt8(ascii: "/"): unescaped.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): unescaped.append(0x08)
        case UInt8(ascii: "f"): unescaped.append(0x0C)
        case UInt8(ascii: "n"): unescaped.append(0x0A)
        case UInt8(ascii: "r"): unescaped.append(0x0D)
        case UInt8(ascii: "t"): unescaped.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard index + 1 < buffer.count, buffer[index] == backslash, buffer[index + 1] == UInt8(ascii: "u")
                else { throw error("a \\u escape holds half of a surrogate pair without the other half") }
                index += 2
                let low = try readHex4()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("a \\u escape holds half of a surrogate pair without the other half")
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw error("a \\u escape holds half of a surrogate pair without the other half")
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
            unescaped.append(contentsOf: String(Character(unicode)).utf8)
        default:
            throw error("'\\\(Character(Unicode.Scalar(escape)))' is not a JSON escape", at: index - 2)
        }
    }

    mutating func readHex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= buffer.count else { throw error("a \\u escape needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = buffer[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("a \\u escape needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    mutating func parseNumber() throws(JSONSyntaxError) -> Double {
        let start = index
        if buffer[index] == UInt8(ascii: "-") { index += 1 }
        guard index < buffer.count, isDigit(buffer[index]) else {
            throw error("'-' must be followed by digits", at: start)
        }
        // The digits, point aside, as one integer while it stays exact (up to 15 digits).
        var digits = ExactDecimal()
        if buffer[index] == UInt8(ascii: "0") {
            index += 1
            if index < buffer.count, isDigit(buffer[index]) {
                throw error("numbers must not start with a leading zero", at: start)
            }
        } else {
            while index < buffer.count, isDigit(buffer[index]) {
                digits.append(buffer[index], inFraction: false)
                index += 1
            }
        }
        if index < buffer.count, buffer[index] == UInt8(ascii: ".") {
            index += 1
            guard index < buffer.count, isDigit(buffer[index]) else {
                throw error("a decimal point must be followed by digits")
            }
            while index < buffer.count, isDigit(buffer[index]) {
                digits.append(buffer[index], inFraction: true)
                index += 1
            }
        }
        var hasExponent = false
        if index < buffer.count, buffer[index] == UInt8(ascii: "e") || buffer[index] == UInt8(ascii: "E") {
            hasExponent = true
            index += 1
            if index < buffer.count, buffer[index] == UInt8(ascii: "+") || buffer[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < buffer.count, isDigit(buffer[index]) else {
                throw error("an exponent must have digits")
            }
            while index < buffer.count, isDigit(buffer[index]) { index += 1 }
        }
        if index < buffer.count, isWordByte(buffer[index]) {
            index = start
            try parseWord()  // reports the whole word, e.g. "12abc"
        }
        if !hasExponent, let magnitude = digits.exactValue {
            return buffer[start] == UInt8(ascii: "-") ? -magnitude : magnitude
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw error("the number \(text) is too large", at: start)
        }
        return value
    }

    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
