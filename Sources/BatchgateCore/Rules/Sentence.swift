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
                    UnsafeMutableRawPointer(target + written).copyMemory(from: source, byteCount: bytes.count)
                    return bytes.count
                }
            }
            return written
        }
    }
}

/// Puts a sentence together from its parts, lists included, straight into the string that holds
/// it (``Swift/String/init(writing:)``): the code that writes it runs twice, once to count the bytes
/// and once to copy them into a string allocated at its full length. The rules' sentences name
/// lists of lists ("Buds (A and B) and Kief (C)"): built as strings, each list and each item of it
/// was a string and an array of its own, allocated and freed per package.
struct SentenceWriter {
    /// Where the bytes go; nil while counting.
    private let base: UnsafeMutablePointer<UInt8>?
    /// Bytes written (or counted) so far.
    private(set) var count = 0

    fileprivate init(base: UnsafeMutablePointer<UInt8>?) {
        self.base = base
    }

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
        if let base, let source = bytes.baseAddress {
            (base + count).update(from: source, count: bytes.count)
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
    /// The sentence `body` writes, in a string allocated once at its full length (see
    /// ``SentenceWriter``). `body` must write the same parts each time it is called.
    init(writing body: (inout SentenceWriter) -> Void) {
        var counter = SentenceWriter(base: nil)
        body(&counter)
        guard counter.count > 0 else {
            self = ""
            return
        }
        self.init(unsafeUninitializedCapacity: counter.count) { buffer in
            var writer = SentenceWriter(base: buffer.baseAddress)
            body(&writer)
            precondition(writer.count == counter.count, "a sentence wrote other parts the second time")
            return writer.count
        }
    }
}
