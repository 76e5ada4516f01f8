extension String {
    /// `parts` one after the other, in a string allocated once at its full length.
    init(concatenating parts: String...) {
        self.init(concatenating: parts)
    }

    /// `parts` one after the other, in a string allocated once at its full length. The rules'
    /// sentences run to hundreds of bytes in a dozen parts: string interpolation starts small and
    /// grows its buffer several times on the way, and even into a buffer large enough each
    /// `append` costs several times the copy of its bytes, which is all this does.
    init(concatenating parts: [String]) {
        let count = parts.reduce(0) { $0 + $1.utf8.count }
        self.init(unsafeUninitializedCapacity: count) { buffer in
            var written = 0
            for var part in parts {
                written += part.withUTF8 { bytes in
                    guard let source = bytes.baseAddress, let target = buffer.baseAddress else { return 0 }
                    copyBytes(from: source, to: target + written, count: bytes.count)
                    return bytes.count
                }
            }
            return written
        }
    }
}

/// Puts a sentence together from its parts, lists included, for ``Swift/String/init(writing:)``:
/// into room on the stack, then copied into the string once. The rules' sentences name lists of
/// lists ("Buds (A and B) and Kief (C)"): built as strings, each list and each item of it was a
/// string and an array of its own, allocated and freed per package.
struct SentenceWriter {
    /// Where the bytes go (nil for room of no bytes).
    private let base: UnsafeMutablePointer<UInt8>?
    /// How many bytes fit at `base`. A part is written whole or not at all, so that a character is
    /// never cut at the edge of the room; past the room the writer only counts, and ``isWhole``
    /// says so.
    private let capacity: Int
    /// Bytes written (or counted) so far.
    private(set) var count = 0

    fileprivate init(base: UnsafeMutablePointer<UInt8>?, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    /// Whether every byte counted was also written.
    fileprivate var isWhole: Bool { count <= capacity }

    mutating func append(_ part: String) {
        part.withUTF8Bytes { append($0) }
    }

    mutating func append(_ part: StaticString) {
        part.withUTF8Buffer { append($0) }
    }

    mutating func append(_ number: Int) {
        append(String(number))
    }

    private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        if let base, let source = bytes.baseAddress, count + bytes.count <= capacity {
            copyBytes(from: source, to: base + count, count: bytes.count)
        }
        count += bytes.count
    }

    /// `count` items, each written by `item`, as the rules list them: "a", "a and b", "a, b and c",
    /// and beyond three "a, b, c and 2 more", so that a package made from thousands of ingredients
    /// still gets a sentence a person reads. With a `joiner`, it stands between every two items
    /// ("a, b, c"), the last two included.
    mutating func appendShortList(_ count: Int, joiner: StaticString? = nil, _ item: (Int, inout SentenceWriter) -> Void) {
        let shown = Swift.min(count, 3)
        for index in 0..<shown {
            if index > 0 {
                // Beyond three, the named ones are a run before "and N more".
                if count > 3 {
                    append(", ")
                } else {
                    append(joiner ?? (index < shown - 1 ? ", " : " and "))
                }
            }
            item(index, &self)
        }
        guard count > 3 else { return }
        append(" and ")
        append(count - 3)
        append(" more")
    }
}

extension String {
    /// Room on the stack for a sentence: the rules' sentences name at most three items of a list,
    /// so nearly all fit; a longer one (long names) is written again into a string of its length.
    private static let sentenceRoom = 1024

    /// The sentence `body` writes (see ``SentenceWriter``), written once into room on the stack
    /// and copied into the string: counting it first, to allocate the string at its length and
    /// write into that, ran the sentence's code twice. `body` must write the same parts each time
    /// it is called.
    init(writing body: (inout SentenceWriter) -> Void) {
        var length = 0
        let written: String? = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.sentenceRoom) { room in
            var writer = SentenceWriter(base: room.baseAddress, capacity: room.count)
            body(&writer)
            length = writer.count
            guard writer.isWhole else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: room[..<writer.count]), as: UTF8.self)
        }
        if let written {
            self = written
            return
        }
        // Longer than the room: the first pass counted it, so it is written again straight into a
        // string of its length.
        self.init(unsafeUninitializedCapacity: length) { buffer in
            var writer = SentenceWriter(base: buffer.baseAddress, capacity: buffer.count)
            body(&writer)
            precondition(writer.count == length, "a sentence wrote other parts the second time")
            return writer.count
        }
    }
}
