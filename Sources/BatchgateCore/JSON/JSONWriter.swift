/// Builds compact JSON text by appending, without an intermediate tree: fast enough to write a
/// report per manifest at thousands of manifests a second. It cannot be copied, as its buffer
/// cannot (``ByteBuffer``): pass it `inout`, and take its bytes at the end.
public struct JSONWriter: ~Copyable, Sendable {
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
        Self.withBytes(of: name) { utf8 in
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
        appendQuoted(name, name: Self.none, label: Self.none, colon: true)
        needsComma = false
    }

    /// Writes text, escaped, or `null`.
    public mutating func string(_ value: String?) {
        guard let value else { separate(); buffer.append("null"); return }
        appendQuoted(value, name: Self.none, label: Self.none, colon: false)
    }

    /// Writes a member whose name is given in the code and whose value is text, escaped, or
    /// `null`: ``key(_:)`` and ``string(_:)`` in one step, with one check of room for the name and
    /// the value's plain run. A report writes a few dozen such members per package.
    public mutating func member(_ name: StaticString, _ value: String?) {
        guard let value else { key(name); string(nil); return }
        Self.withBytes(of: name) { appendQuoted(value, name: $0, label: Self.none, colon: false) }
    }

    /// Writes `label` and `value` as one string, escaped; the label is plain text given in the code
    /// ("Fix: "), written as it is.
    public mutating func string(_ value: String, after label: StaticString) {
        Self.withBytes(of: label) { appendQuoted(value, name: Self.none, label: $0, colon: false) }
    }

    /// Writes a member whose value is the name of a case, plain ASCII that needs no escape
    /// (`"severity":"error"`), without looking for bytes to escape: a report writes a handful per
    /// package (a rule, a status, a severity, an origin).
    mutating func member(_ name: StaticString, plain value: String) {
        Self.withBytes(of: name) { appendPlain(value, name: $0) }
    }

    /// Writes a string that is the name of a case, as ``member(_:plain:)`` writes its value.
    mutating func string(plain value: String) {
        appendPlain(value, name: Self.none)
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
        // Typed: the bare conditional made `String`s of the literals, each released after.
        buffer.append(value ? "true" as StaticString : "false")
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

    /// Calls `body` with the bytes of text given in the code. A string literal has them in the
    /// binary, passed on where they stand; only a literal of one Unicode scalar is kept as the
    /// scalar, and goes through `withUTF8Buffer`, a closure call more per member written.
    @inline(__always)
    private static func withBytes<R>(of text: StaticString, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        guard text.hasPointerRepresentation else { return text.withUTF8Buffer(body) }
        return body(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// No bytes: no member name, or no label.
    private static var none: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: nil, count: 0) }

    /// Writes the comma if one is due, `name` as a member name (`"name":`) unless it is empty,
    /// then `value` quoted and escaped with `label` before it, then a colon if `colon` (a key read
    /// from data). Every quoted value goes through here. The text given in the code (names,
    /// labels) comes as bytes, so that nothing here asks how a `StaticString` is stored: that,
    /// and optional arguments, were half of this function's instructions.
    private mutating func appendQuoted(_ value: String, name: UnsafeBufferPointer<UInt8>,
                                       label: UnsafeBufferPointer<UInt8>, colon: Bool) {
        assert(Self.escaped.plainPrefixLength(of: name) == name.count, "a name in the code needs no escape")
        assert(Self.escaped.plainPrefixLength(of: label) == label.count, "a label in the code needs no escape")
        let comma = needsComma
        needsComma = true
        value.withUTF8Bytes { utf8 in
            // Nearly every value has nothing to escape: the quoted value is then copied in one step.
            let plain = Self.escaped.plainPrefixLength(of: utf8)
            let whole = plain == utf8.count
            // Besides the bytes given: a comma, the name's quotes and colon, the value's quotes and
            // a colon, 7 at most.
            buffer.append(atMost: plain &+ name.count &+ label.count &+ 7) { out in
                Self.putHead(comma: comma, name: name, into: &out)
                if !label.isEmpty { out.put(label) }
                out.put(UnsafeBufferPointer(rebasing: utf8[..<plain]))
                guard whole else { return }
                out.put(UInt8(ascii: "\""))
                if colon { out.put(UInt8(ascii: ":")) }
            }
            if !whole { appendEscaped(utf8, from: plain, colon: colon) }
        }
    }

    /// ``appendQuoted(_:name:label:colon:)`` for a value known to need no escape.
    private mutating func appendPlain(_ value: String, name: UnsafeBufferPointer<UInt8>) {
        let comma = needsComma
        needsComma = true
        value.withUTF8Bytes { utf8 in
            assert(Self.escaped.plainPrefixLength(of: utf8) == utf8.count, "a plain value needs no escape")
            buffer.append(atMost: utf8.count &+ name.count &+ 6) { out in
                Self.putHead(comma: comma, name: name, into: &out)
                out.put(utf8)
                out.put(UInt8(ascii: "\""))
            }
        }
    }

    /// The comma if due, `"name":` unless `name` is empty, and the value's opening quote.
    @inline(__always)
    private static func putHead(comma: Bool, name: UnsafeBufferPointer<UInt8>, into out: inout ByteBuffer.Cursor) {
        if comma { out.put(UInt8(ascii: ",")) }
        if !name.isEmpty {
            out.put(UInt8(ascii: "\""))
            out.put(name)
            out.put(UInt8(ascii: "\""))
            out.put(UInt8(ascii: ":"))
        }
        out.put(UInt8(ascii: "\""))
    }

    /// The rest of a value from its first byte to escape, in room made once for the worst case
    /// (six bytes for one): each byte to escape, then the plain run after it copied whole; then
    /// the closing quote, and a colon if `colon`. The rules quote names in their sentences, so
    /// most messages have a quote to escape early on; taken byte by byte from there, they were a
    /// quarter of writing a report.
    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, from start: Int, colon: Bool) {
        buffer.append(atMost: 6 * (utf8.count - start) + 2) { out in
            var index = start
            while index < utf8.count {
                Self.putEscaped(utf8[index], into: &out)
                index += 1
                let run = Self.escaped.plainPrefixLength(of: UnsafeBufferPointer(rebasing: utf8[index...]))
                out.put(UnsafeBufferPointer(rebasing: utf8[index..<(index + run)]))
                index += run
            }
            out.put(UInt8(ascii: "\""))
            if colon { out.put(UInt8(ascii: ":")) }
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
