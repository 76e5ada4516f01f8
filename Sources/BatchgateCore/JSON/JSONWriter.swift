/// Builds compact JSON text by appending, without an intermediate tree: fast enough to write a
/// report per manifest at thousands of manifests a second.
public struct JSONWriter: Sendable {
    private var buffer = ByteBuffer()
    /// Whether the next value or key follows another in its container and so needs a comma first.
    /// One flag is enough: an opened container, a key and a new line clear it; any value, closed
    /// containers included, sets it.
    private var needsComma = false

    public init() {}

    /// The UTF-8 text written so far.
    public var bytes: [UInt8] { buffer.bytes }

    /// The text written so far as a string.
    public var text: String { buffer.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    /// Calls `body` with the UTF-8 text written so far, without copying it.
    public func withUnsafeBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try buffer.withUnsafeBytes(body)
    }

    /// Forgets what was written, keeping the memory for the next document.
    public mutating func removeAll() {
        buffer.removeAll()
        needsComma = false
    }

    /// Opens an object; write `key(_:)` and a value for each member, then `endObject()`.
    public mutating func beginObject() { separate(); buffer.append(UInt8(ascii: "{")); needsComma = false }
    /// Closes the innermost object.
    public mutating func endObject() { buffer.append(UInt8(ascii: "}")); needsComma = true }
    /// Opens an array; write its values, then `endArray()`.
    public mutating func beginArray() { separate(); buffer.append(UInt8(ascii: "[")); needsComma = false }
    /// Closes the innermost array.
    public mutating func endArray() { buffer.append(UInt8(ascii: "]")); needsComma = true }

    /// Writes a property name given in the code; the next value written is its value. Such names
    /// are plain ASCII, so they go in as they are, with their comma, quotes and colon in one copy:
    /// a report writes a dozen of them per package, and scanning each for bytes to escape was a
    /// third of writing it.
    public mutating func key(_ name: StaticString) {
        let comma = needsComma
        name.withUTF8Buffer { utf8 in
            assert(Self.escaped.plainPrefixLength(of: utf8) == utf8.count, "a key in the code needs no escape")
            buffer.append(atMost: utf8.count + 4) { out in
                if comma { out.put(UInt8(ascii: ",")) }
                out.put(UInt8(ascii: "\""))
                out.put(utf8)
                out.put(UInt8(ascii: "\""))
                out.put(UInt8(ascii: ":"))
            }
        }
        needsComma = false
    }

    /// Writes a property name read from data, escaped as a value is; the next value written is its
    /// value. Disfavoured, so that a name written in the code takes the literal one above.
    @_disfavoredOverload
    public mutating func key(_ name: String) {
        appendQuoted(name, then: UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes text, escaped, or `null`.
    public mutating func string(_ value: String?) {
        guard let value else { separate(); buffer.append("null"); return }
        appendQuoted(value, then: nil)
    }

    /// Writes a member whose name is given in the code and whose value is text, escaped, or
    /// `null`: ``key(_:)`` and ``string(_:)`` in one step, with one check of room for the name and
    /// the value's plain run. A report writes a few dozen such members per package.
    public mutating func member(_ name: StaticString, _ value: String?) {
        guard let value else { key(name); string(nil); return }
        appendQuoted(value, name: name, then: nil)
    }

    /// Writes `label` and `value` as one string, escaped; the label is plain text given in the code
    /// ("Fix: "), written as it is.
    public mutating func string(_ value: String, after label: StaticString) {
        appendQuoted(value, after: label, then: nil)
    }

    /// Writes a member whose name is given in the code and whose value is `true` or `false`.
    public mutating func member(_ name: StaticString, _ value: Bool) {
        key(name)
        bool(value)
    }

    /// Writes a member whose name is given in the code and whose value is a whole number or `null`.
    public mutating func member(_ name: StaticString, _ value: Int?) {
        key(name)
        int(value)
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) {
        separate()
        buffer.append(value ? "true" : "false")
    }

    /// Writes a whole number or `null`.
    public mutating func int(_ value: Int?) {
        separate()
        guard let value else { buffer.append("null"); return }
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        appendDigits(of: value.magnitude)
    }

    /// Writes a finite number; integral values are written without a fraction.
    public mutating func number(_ value: Double?) {
        separate()
        guard let value, value.isFinite else { buffer.append("null"); return }
        buffer.append(FieldSyntax.formatNumber(value))
    }

    /// Writes an array of text values.
    public mutating func strings(_ values: [String]) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    private mutating func separate() {
        if needsComma { buffer.append(UInt8(ascii: ",")) }
        needsComma = true
    }

    /// Decimal digits without `String(value)`, which allocates: reports write a line number per
    /// package, finding and error.
    private mutating func appendDigits(of value: UInt) {
        if value >= 10 { appendDigits(of: value / 10) }
        buffer.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    /// The bytes a JSON string cannot hold as they are: control characters, `"`, `\` and DEL.
    private static let escaped = StopBytes(below: 0x20, a: UInt8(ascii: "\""), b: UInt8(ascii: "\\"), c: 0x7F)

    /// Writes the comma if one is due, the member `name` if given (`"name":`), `value` quoted and
    /// escaped, then `suffix` (a key's colon).
    private mutating func appendQuoted(_ value: String, after label: StaticString = "", name: StaticString? = nil,
                                       then suffix: UInt8?) {
        let comma = needsComma
        needsComma = true
        value.withUTF8Bytes { utf8 in
            // Nearly every value has nothing to escape: the quoted value is then copied in one step.
            let plain = Self.escaped.plainPrefixLength(of: utf8)
            let plainRun = UnsafeBufferPointer(rebasing: utf8[..<plain])
            let whole = plain == utf8.count
            // Through `withUTF8Buffer`: a one-character label is stored as a character, not a pointer.
            label.withUTF8Buffer { labelBytes in
                assert(Self.escaped.plainPrefixLength(of: labelBytes) == labelBytes.count, "a label in the code needs no escape")
                (name ?? "").withUTF8Buffer { nameBytes in
                    assert(Self.escaped.plainPrefixLength(of: nameBytes) == nameBytes.count, "a name in the code needs no escape")
                    // Besides the bytes given: a comma, the name's quotes and colon, the value's
                    // quotes and the suffix, 7 at most.
                    buffer.append(atMost: plain + labelBytes.count + nameBytes.count + 7) { out in
                        if comma { out.put(UInt8(ascii: ",")) }
                        if name != nil {
                            out.put(UInt8(ascii: "\""))
                            out.put(nameBytes)
                            out.put(UInt8(ascii: "\""))
                            out.put(UInt8(ascii: ":"))
                        }
                        out.put(UInt8(ascii: "\""))
                        out.put(labelBytes)
                        out.put(plainRun)
                        guard whole else { return }
                        out.put(UInt8(ascii: "\""))
                        if let suffix { out.put(suffix) }
                    }
                }
            }
            guard !whole else { return }
            // The rest, in room made once for the worst case (six bytes for one): each byte to
            // escape, then the plain run after it copied whole. The rules quote names in their
            // sentences, so most messages have a quote to escape early on; taken byte by byte from
            // there, they were a quarter of writing a report.
            buffer.append(atMost: 6 * (utf8.count - plain) + 2) { out in
                var index = plain
                while index < utf8.count {
                    Self.putEscaped(utf8[index], into: &out)
                    index += 1
                    let run = Self.escaped.plainPrefixLength(of: UnsafeBufferPointer(rebasing: utf8[index...]))
                    out.put(UnsafeBufferPointer(rebasing: utf8[index..<(index + run)]))
                    index += run
                }
                out.put(UInt8(ascii: "\""))
                if let suffix { out.put(suffix) }
            }
        }
    }

    /// The escape of a byte the scan stops at: a control character, a quote, a backslash or DEL.
    private static func putEscaped(_ byte: UInt8, into out: inout ByteBuffer.Cursor) {
        out.put(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""): out.put(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): out.put(UInt8(ascii: "\\"))
        case 0x0A: out.put(UInt8(ascii: "n"))
        case 0x0D: out.put(UInt8(ascii: "r"))
        case 0x09: out.put(UInt8(ascii: "t"))
        default:
            let hex: StaticString = "0123456789abcdef"
            out.put(UInt8(ascii: "u"))
            out.put(UInt8(ascii: "0"))
            out.put(UInt8(ascii: "0"))
            out.put(hex.utf8Start[Int(byte >> 4)])
            out.put(hex.utf8Start[Int(byte & 0xF)])
        }
    }
}
