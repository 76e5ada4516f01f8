/// A parsed JSON document as one flat list of entries in file order, pointing into the text
/// instead of copying it: what ``JSONParser`` builds, and what the manifest reader walks.
///
/// Why not the ``JSONValue`` tree: a manifest reader needs a few dozen properties of each package,
/// yet the tree made a `String` for every property name and text value, an array for every object
/// and list, and freed them all again; that was most of the time spent reading a manifest (docs/
/// benchmarks.md). Here a value is one 16-byte entry, a text is made into a `String` only when a
/// reader asks for it, and property names are compared as bytes.
///
/// Layout: a list or an object is followed by its contents, entries up to ``end(of:)``; an
/// object's members are each a name entry (a text) directly followed by the value.
struct JSONDocument {
    /// What an entry holds, one case per kind of ``JSONValue``.
    enum Kind: UInt8 {
        case null, bool, number, string, array, object

        /// A short name of the kind for error messages ("text", "a number", ...).
        var description: String {
            switch self {
            case .null: "null"
            case .bool: "true/false"
            case .number: "a number"
            case .string: "text"
            case .array: "a list"
            case .object: "an object"
            }
        }
    }

    struct Entry {
        var kind: Kind
        /// A text with escapes, whose decoded bytes are in ``JSONDocument/unescaped``, not the text.
        var isEscaped = false
        /// The 1-based line the value starts on.
        var line: UInt32
        /// A text: the offset of its first byte. A list or object: how many elements or members it
        /// has. A boolean: 1 for true. A number: the low half of its bits.
        var first: UInt32
        /// A text: the offset past its last byte. A list or object: the index of the entry after its
        /// contents. A number: the high half of its bits.
        var second: UInt32
    }

    /// The text parsed; offsets count from its start.
    let text: ArraySlice<UInt8>
    /// The entries; the document's value is the first.
    let entries: [Entry]
    /// The decoded bytes of texts written with escapes.
    let unescaped: [UInt8]

    init(text: ArraySlice<UInt8>, entries: [Entry], unescaped: [UInt8]) {
        self.text = text
        self.entries = entries
        self.unescaped = unescaped
    }

    func kind(_ index: Int) -> Kind { entries[index].kind }

    func line(_ index: Int) -> Int { Int(entries[index].line) }

    /// The elements of a list or the members of an object.
    func count(_ index: Int) -> Int { Int(entries[index].first) }

    func bool(_ index: Int) -> Bool { entries[index].first != 0 }

    func number(_ index: Int) -> Double {
        let entry = entries[index]
        return Double(bitPattern: UInt64(entry.second) << 32 | UInt64(entry.first))
    }

    /// The index of the entry after the value at `index` and its contents.
    func end(of index: Int) -> Int {
        let entry = entries[index]
        return entry.kind == .array || entry.kind == .object ? Int(entry.second) : index + 1
    }

    /// A text value or property name.
    func string(_ index: Int) -> String {
        withBytes(of: index) { String(decoding: $0, as: UTF8.self) }
    }

    /// The UTF-8 bytes of a text value or property name, escapes decoded.
    func withBytes<Result>(of index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        let entry = entries[index]
        let range = Int(entry.first)..<Int(entry.second)
        if entry.isEscaped {
            return unescaped.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[range])) }
        }
        return text.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// Calls `body` with each member of `object` in order: the entry of its name, and the name's
    /// bytes. The buffers are taken once for the whole object, not once for each name.
    func forEachMember(of object: Int, _ body: (_ name: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Void) {
        text.withUnsafeBufferPointer { text in
            unescaped.withUnsafeBufferPointer { unescaped in
                for name in members(of: object) {
                    let entry = entries[name]
                    let range = Int(entry.first)..<Int(entry.second)
                    body(name, UnsafeBufferPointer(rebasing: entry.isEscaped ? unescaped[range] : text[range]))
                }
            }
        }
    }

    /// The indices of a list's elements, in order.
    func elements(of list: Int) -> Contents { Contents(entries: entries, following: list + 1, remaining: count(list), stride: 1) }

    /// The indices of an object's property names, in order; each one's value is the next entry.
    func members(of object: Int) -> Contents { Contents(entries: entries, following: object + 1, remaining: count(object), stride: 2) }

    /// Walks the contents of a list or object by skipping over each value's own contents.
    struct Contents: Sequence, IteratorProtocol {
        let entries: [Entry]
        var following: Int
        var remaining: Int
        /// 1 for a list's elements, 2 for an object's members (a name, then its value).
        let stride: Int

        mutating func next() -> Int? {
            guard remaining > 0 else { return nil }
            remaining -= 1
            let current = following
            let value = current + stride - 1
            let entry = entries[value]
            following = entry.kind == .array || entry.kind == .object ? Int(entry.second) : value + 1
            return current
        }
    }

    /// The value at `index` as a ``JSONElement`` tree, for readers that want one.
    func element(_ index: Int) -> JSONElement {
        JSONElement(value(index), line: line(index))
    }

    private func value(_ index: Int) -> JSONValue {
        let entry = entries[index]
        let contentsEnd = Int(entry.second)
        switch entry.kind {
        case .null: return .null
        case .bool: return .bool(entry.first != 0)
        case .number: return .number(number(index))
        case .string: return .string(string(index))
        case .array:
            var elements: [JSONElement] = []
            elements.reserveCapacity(Int(entry.first))
            var element = index + 1
            while element < contentsEnd {
                elements.append(self.element(element))
                element = end(of: element)
            }
            return .array(elements)
        case .object:
            var members: [JSONMember] = []
            members.reserveCapacity(Int(entry.first))
            var name = index + 1
            while name < contentsEnd {
                members.append(JSONMember(key: string(name), value: value(name + 1), line: line(name + 1)))
                name = end(of: name + 1)
            }
            return .object(members)
        }
    }
}
