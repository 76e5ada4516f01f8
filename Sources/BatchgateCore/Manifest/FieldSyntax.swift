/// The syntax of field values shared by the JSON and CSV readers. Each check returns the clean
/// value, or a problem phrased to follow the field's name ("must be …, found …").
enum FieldSyntax {
    /// A Metrc tag: 24 characters A-Z and 0-9, compared upper-cased.
    static func tag(_ raw: String) -> Result<String, FieldProblem> {
        if raw.utf8.withContiguousStorageIfAvailable({ $0.count == 24 && $0.allSatisfy(isTagByte) }) == true {
            return .success(raw)
        }
        let trimmed = raw.trimmingWhitespace()
        // Upper-case ASCII only: Unicode case mapping would turn "ﬀ" into "FF" and "ſ" into "S".
        let upper = String(decoding: trimmed.utf8.map { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") ? $0 & ~0x20 : $0 },
                           as: UTF8.self)
        if upper.isEmpty { return .failure(FieldProblem("is empty: a 24-character Metrc tag is required")) }
        let valid = upper.utf8.count == 24 && upper.utf8.allSatisfy(isTagByte)
        guard valid else {
            return .failure(FieldProblem(
                "must be a Metrc tag of 24 letters A-Z and digits, found \(quoted(trimmed)) (\(trimmed.count) characters)"))
        }
        return .success(upper)
    }

    private static func isTagByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    /// A calendar date `YYYY-MM-DD`, or in CSV also `MM/DD/YYYY`; returned as `YYYY-MM-DD`.
    static func date(_ raw: String, allowUSForm: Bool) -> Result<String, FieldProblem> {
        let text = raw.trimmingWhitespace()
        // The usual `YYYY-MM-DD` is checked on the bytes and returned as written: the general path
        // below would build the same text again, at 8,000 instructions a date.
        if text.utf8.withContiguousStorageIfAvailable(isValidISODate) == true { return .success(text) }
        let expected = allowUSForm ? "YYYY-MM-DD or MM/DD/YYYY" : "YYYY-MM-DD"
        let problem = FieldProblem("must be a date written \(expected), found \(quoted(text))")
        var year = 0, month = 0, day = 0
        let iso = numberRuns(text, separator: UInt8(ascii: "-"))
        let us = allowUSForm ? numberRuns(text, separator: UInt8(ascii: "/")) : nil
        if let iso, iso.count == 3, iso[0].digits == 4, iso[1].digits == 2, iso[2].digits == 2 {
            (year, month, day) = (iso[0].value, iso[1].value, iso[2].value)
        } else if let us, us.count == 3, (1...2).contains(us[0].digits), (1...2).contains(us[1].digits), us[2].digits == 4 {
            (year, month, day) = (us[2].value, us[0].value, us[1].value)
        } else {
            return .failure(problem)
        }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), year >= 1900 else {
            return .failure(FieldProblem("must be a real calendar date, found \(quoted(text))"))
        }
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return .success("\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))")
    }

    /// `YYYY-MM-DD`, a real calendar date from 1900 on.
    private static func isValidISODate(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return false }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return false }
        return (1...12).contains(month) && day >= 1 && day <= daysIn(month: month, year: year) && year >= 1900
    }

    /// A decimal number written with digits and an optional point (CSV cells).
    static func decimal(_ raw: String) -> Double? {
        var text = raw.trimmingWhitespace()
        return text.withUTF8(decimal(trimmed:))
    }

    /// ``decimal(_:)`` of UTF-8 bytes with no white space around them: a CSV cell's, without
    /// making a string of it.
    static func decimal(trimmed text: UnsafeBufferPointer<UInt8>) -> Double? {
        var sawDigit = false, sawPoint = false, negative = false
        var digits = ExactDecimal()
        for (offset, byte) in text.enumerated() {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sawDigit = true; digits.append(byte, inFraction: sawPoint)
            case UInt8(ascii: "."): if sawPoint { return nil }; sawPoint = true
            case UInt8(ascii: "-"), UInt8(ascii: "+"): if offset != 0 { return nil }; negative = byte == UInt8(ascii: "-")
            default: return nil
            }
        }
        guard sawDigit else { return nil }
        if let magnitude = digits.exactValue { return negative ? -magnitude : magnitude }
        guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else { return nil }
        return value
    }

    /// A quantity must be a finite number greater than zero.
    static func positiveQuantity(_ value: Double) -> FieldProblem? {
        value > 0 ? nil : FieldProblem("must be greater than 0, found \(formatNumber(value))")
    }

    /// An additive's kind word, any case.
    static func additiveKind(_ raw: String) -> Additive.Kind? {
        Additive.Kind(rawValue: raw.trimmingWhitespace().lowercased())
    }

    static func quoted(_ text: String) -> String {
        let shown = text.count > 60 ? String(text.prefix(60)) + "…" : text
        return "\"\(shown)\""
    }

    /// A number as a person writes it: `5`, not `5.0`.
    static func formatNumber(_ value: Double) -> String {
        guard value.isFinite else { return String(value) }
        return abs(value) < 1e15 && Double(Int64(value)) == value ? String(Int64(value)) : String(value)
    }

    /// The runs of digits between separators ("2025-03-10" gives 2025, 3, 10 with their widths),
    /// or nil if anything else appears or a run is empty or longer than 4 digits.
    private static func numberRuns(_ text: String, separator: UInt8) -> [(value: Int, digits: Int)]? {
        var runs: [(value: Int, digits: Int)] = [(0, 0)]
        for byte in text.utf8 {
            if byte == separator {
                runs.append((0, 0))
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") && runs[runs.count - 1].digits < 4 {
                runs[runs.count - 1].value = runs[runs.count - 1].value * 10 + Int(byte - UInt8(ascii: "0"))
                runs[runs.count - 1].digits += 1
            } else {
                return nil
            }
        }
        return runs.contains { $0.digits == 0 } ? nil : runs
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// The second half of a field error: what is wrong with the value.
struct FieldProblem: Error, Equatable {
    var text: String
    init(_ text: String) { self.text = text }
}

extension String {
    /// The string without leading and trailing white space (spaces, tabs, line breaks).
    func trimmingWhitespace() -> String {
        // Fast path: most values have no surrounding space, and checking bytes avoids grapheme work.
        let untouched = utf8.withContiguousStorageIfAvailable { buffer in
            guard let first = buffer.first, let last = buffer.last else { return false }
            return !isASCIISpace(first) && !isASCIISpace(last) && first < 0x80 && last < 0x80
        }
        if untouched == true { return self }
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        if first == startIndex && last == index(before: endIndex) { return self }
        return String(self[first...last])
    }

    /// `uppercased()`, but the string itself when it is ASCII without a lower-case letter (a tag as
    /// Metrc prints it), where `uppercased()` would build a copy.
    func uppercasedIfNeeded() -> String {
        let upper = utf8.withContiguousStorageIfAvailable { bytes in
            bytes.allSatisfy { $0 < 0x80 && !($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) }
        }
        return upper == true ? self : uppercased()
    }

    /// The key used to compare names case-insensitively, ignoring surrounding white space.
    var comparisonKey: String {
        let trimmed = trimmingWhitespace()
        return trimmed.utf8.contains { $0 >= 0x80 } ? trimmed.lowercased() : trimmed.asciiLowercased
    }

    /// The string with ASCII letters lower-cased and everything else as it is. Written straight
    /// into the new string: through an array of the bytes first, it was two allocations (none
    /// now for a name of up to 15 bytes, which a string holds inline).
    var asciiLowercased: String {
        withUTF8Bytes { bytes in
            guard bytes.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else { return self }
            return String(unsafeUninitializedCapacity: bytes.count) { room in
                for index in bytes.indices {
                    let byte = bytes[index]
                    room[index] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                }
                return bytes.count
            }
        }
    }

    /// True when two names are the same, trimmed and in any case (what `comparisonKey` compares),
    /// without building the keys in the common ASCII case.
    func isSameName(as other: String) -> Bool {
        // Most names are ASCII: compared in place, their bytes trimmed of ASCII white space (the
        // only white space ASCII has), without the two trimmed copies and their retains. The rules
        // compare categories and items a few times per package.
        let ascii: Bool? = withUTF8Bytes { a in
            other.withUTF8Bytes { b in
                let x = trimmedOfASCIISpace(a), y = trimmedOfASCIISpace(b)
                guard x.allSatisfy({ $0 < 0x80 }), y.allSatisfy({ $0 < 0x80 }) else { return nil }
                return equalIgnoringASCIICase(x, y)
            }
        }
        if let ascii { return ascii }
        let a = trimmingWhitespace(), b = other.trimmingWhitespace()
        if a.utf8.allSatisfy({ $0 < 0x80 }) && b.utf8.allSatisfy({ $0 < 0x80 }) { return a.equalsIgnoringASCIICase(b) }
        return a.lowercased() == b.lowercased()
    }

    /// True when both strings are equal ignoring ASCII case (and equal exactly beyond ASCII).
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        let fast = utf8.withContiguousStorageIfAvailable { a in
            other.utf8.withContiguousStorageIfAvailable { b in equalIgnoringASCIICase(a, b) }
        }
        if let result = fast ?? nil { return result }
        let a = Array(utf8), b = Array(other.utf8)
        return a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in equalIgnoringASCIICase(x, y) } }
    }
}

/// True when two byte runs are the same, compared eight bytes at a time (the generic
/// `elementsEqual` took about 300 instructions for two 24-byte tags).
func equalBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    guard let x = a.baseAddress, let y = b.baseAddress else { return true }
    var index = 0
    while index + 8 <= a.count {
        if UnsafeRawPointer(x + index).loadUnaligned(as: UInt64.self)
            != UnsafeRawPointer(y + index).loadUnaligned(as: UInt64.self) { return false }
        index += 8
    }
    while index < a.count {
        if x[index] != y[index] { return false }
        index += 1
    }
    return true
}

extension String {
    /// The last eight bytes of the UTF-8 as one number (fewer for a shorter string). For tags,
    /// which are ASCII (so equal exactly when their bytes are) and which a manifest mostly numbers
    /// in sequence, it is equal for equal tags and nearly always unequal for others: a quick first
    /// test before `==` where a tag is compared with many others.
    var lastEightBytes: UInt64 {
        withUTF8Bytes { bytes in
            var end: UInt64 = 0
            for byte in bytes.suffix(8) { end = end &<< 8 | UInt64(byte) }
            return end
        }
    }
}

/// True when two UTF-8 texts are equal ignoring ASCII case (and equal exactly beyond ASCII).
func equalIgnoringASCIICase(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    for index in 0..<a.count {
        let x = a[index], y = b[index]
        if x == y { continue }
        let folded = x | 0x20
        guard folded == y | 0x20, folded >= UInt8(ascii: "a"), folded <= UInt8(ascii: "z") else { return false }
    }
    return true
}

/// `bytes` without the ASCII white space at either end.
private func trimmedOfASCIISpace(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
    var start = 0, end = bytes.count
    while start < end, isASCIISpace(bytes[start]) { start += 1 }
    while end > start, isASCIISpace(bytes[end - 1]) { end -= 1 }
    return UnsafeBufferPointer(rebasing: bytes[start..<end])
}

/// The ASCII bytes that `Character.isWhitespace` holds white space: tab, line feed, vertical tab,
/// form feed, carriage return and space.
@inline(__always)
func isASCIISpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
}
