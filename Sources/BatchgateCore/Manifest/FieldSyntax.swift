/// The syntax of field values shared by the JSON and CSV readers. Each check returns the clean
/// value, or a problem phrased to follow the field's name ("must be …, found …").
enum FieldSyntax {
    /// A Metrc tag: 24 characters A-Z and 0-9, compared upper-cased.
    static func tag(_ raw: String) -> Result<String, FieldProblem> {
        let trimmed = raw.trimmingSpaces()
        let upper = trimmed.uppercased()
        if upper.isEmpty { return .failure(FieldProblem("is empty: a 24-character Metrc tag is required")) }
        let valid = upper.utf8.count == 24 && upper.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
        }
        guard valid else {
            return .failure(FieldProblem(
                "must be a Metrc tag of 24 letters A-Z and digits, found \(quoted(trimmed)) (\(trimmed.count) characters)"))
        }
        return .success(upper)
    }

    /// A calendar date `YYYY-MM-DD`, or in CSV also `MM/DD/YYYY`; returned as `YYYY-MM-DD`.
    static func date(_ raw: String, allowUSForm: Bool) -> Result<String, FieldProblem> {
        let text = raw.trimmingSpaces()
        let expected = allowUSForm ? "YYYY-MM-DD or MM/DD/YYYY" : "YYYY-MM-DD"
        let problem = FieldProblem("must be a date written \(expected), found \(quoted(text))")
        var year = 0, month = 0, day = 0
        let dashParts = text.split(separator: "-", omittingEmptySubsequences: false)
        let slashParts = text.split(separator: "/", omittingEmptySubsequences: false)
        if dashParts.count == 3, dashParts[0].count == 4, dashParts[1].count == 2, dashParts[2].count == 2,
           let y = digits(dashParts[0]), let m = digits(dashParts[1]), let d = digits(dashParts[2]) {
            (year, month, day) = (y, m, d)
        } else if allowUSForm, slashParts.count == 3, (1...2).contains(slashParts[0].count),
                  (1...2).contains(slashParts[1].count), slashParts[2].count == 4,
                  let m = digits(slashParts[0]), let d = digits(slashParts[1]), let y = digits(slashParts[2]) {
            (year, month, day) = (y, m, d)
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

    /// A decimal number written with digits and an optional point (CSV cells).
    static func decimal(_ raw: String) -> Double? {
        let text = raw.trimmingSpaces()
        var sawDigit = false, sawPoint = false
        for (offset, byte) in text.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sawDigit = true
            case UInt8(ascii: "."): if sawPoint { return nil }; sawPoint = true
            case UInt8(ascii: "-"), UInt8(ascii: "+"): if offset != 0 { return nil }
            default: return nil
            }
        }
        guard sawDigit, let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// A quantity must be a finite number greater than zero.
    static func positiveQuantity(_ value: Double) -> FieldProblem? {
        value > 0 ? nil : FieldProblem("must be greater than 0, found \(formatNumber(value))")
    }

    /// An additive's kind word, any case.
    static func additiveKind(_ raw: String) -> Additive.Kind? {
        Additive.Kind(rawValue: raw.trimmingSpaces().lowercased())
    }

    static func quoted(_ text: String) -> String {
        let shown = text.count > 60 ? String(text.prefix(60)) + "…" : text
        return "\"\(shown)\""
    }

    static func formatNumber(_ value: Double) -> String {
        abs(value) < 1e15 && Double(Int64(value)) == value ? String(Int64(value)) : String(value)
    }

    private static func digits(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(text)
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
    func trimmingSpaces() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        if first == startIndex && last == index(before: endIndex) { return self }
        return String(self[first...last])
    }

    /// The key used to compare names case-insensitively, ignoring surrounding white space.
    var comparisonKey: String { trimmingSpaces().lowercased() }
}
