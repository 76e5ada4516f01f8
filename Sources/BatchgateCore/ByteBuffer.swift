/// A growing run of bytes for the writers of documents (``JSONWriter``, the text report): each
/// append is a check of room and a copy.
///
/// Why not a plain `[UInt8]`: its `append(contentsOf:)` costs about a hundred instructions a call
/// in its generic path, and a report is made of thousands of short appends (keys, tags,
/// sentences). And why its own memory rather than an array's: an array is shared by its copies,
/// so every write into one first asks the runtime whether it is the only owner. A buffer that
/// cannot be copied (`~Copyable`) owns its memory alone, and a write is a check of room and the
/// stores.
///
/// Unchecked `Sendable`: the pointer is owned by this one value, which cannot be copied, so no
/// other thread can hold it.
struct ByteBuffer: ~Copyable, @unchecked Sendable {
    /// The memory, `capacity` bytes, of which the first `count` are written; nil until the first
    /// append.
    private var start: UnsafeMutablePointer<UInt8>?
    private var capacity = 0
    /// How many bytes have been written.
    private(set) var count = 0

    init() {}

    deinit { start?.deallocate() }

    /// The bytes written, as an array of their own.
    var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Forgets what was written, keeping the room for the next document.
    mutating func removeAll() { count = 0 }

    // Inlined, as are the appends below: they are called for every key, value and quote of a report.
    @inline(__always)
    mutating func append(_ byte: UInt8) {
        append(atMost: 1) { $0.put(byte) }
    }

    @inline(__always)
    mutating func append(_ span: UnsafeBufferPointer<UInt8>) {
        append(atMost: span.count) { $0.put(span) }
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }

    /// Appends a string's UTF-8 as it is.
    @inline(__always)
    mutating func append(_ text: String) {
        text.withUTF8Bytes { append($0) }
    }

    /// Appends what `body` puts through the cursor, at most `maximum` bytes, with one check of
    /// room for them all: the way to write a run of several small pieces, such as a key with its
    /// comma, quotes and colon.
    @inline(__always)
    mutating func append(atMost maximum: Int, _ body: (inout Cursor) -> Void) {
        // At or past the end, not only past it: so that the first append, even of nothing, makes
        // the memory the pointer below needs.
        if count + maximum >= capacity { grow(toAtLeast: count + maximum) }
        // Not nil: a buffer with no memory has no capacity, and was grown above.
        let base = start.unsafelyUnwrapped
        var cursor = Cursor(next: base + count)
        body(&cursor)
        count = cursor.next - base
    }

    /// Where the next byte goes, inside room already made.
    struct Cursor {
        fileprivate var next: UnsafeMutablePointer<UInt8>

        @inline(__always)
        mutating func put(_ byte: UInt8) {
            next.initialize(to: byte)
            next += 1
        }

        @inline(__always)
        mutating func put(_ span: UnsafeBufferPointer<UInt8>) {
            guard let source = span.baseAddress else { return }
            copyBytes(from: source, to: next, count: span.count)
            next += span.count
        }
    }

    /// Calls `body` with the bytes written.
    func withUnsafeBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: start, count: count))
    }

    /// Makes room for at least `minimum` bytes in all, at least doubling it, the bytes written
    /// moved along.
    private mutating func grow(toAtLeast minimum: Int) {
        let capacity = Swift.max(minimum, self.capacity * 2, 1 << 12)
        let room = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        if let start {
            room.initialize(from: start, count: count)
            start.deallocate()
        }
        start = room
        self.capacity = capacity
    }
}

extension String {
    /// Calls `body` with the string's UTF-8, copying it out only for a small string, which has no
    /// storage to point into (`withUTF8` would copy every string, being mutating).
    @inline(__always)
    func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = self
        return copy.withUTF8(body)
    }
}

/// The bytes a scan of text stops at: every byte below `below` (at most 0x80, as the eight-byte
/// test needs), and the three bytes `a`, `b` and `c` (repeat one to name fewer).
struct StopBytes: Sendable {
    var below: UInt8
    var a: UInt8
    var b: UInt8
    var c: UInt8

    /// How many bytes at the start of `span` are none of these. Sixteen bytes are tested at a time
    /// (one SIMD comparison each), since nearly every value a report writes has nothing to escape
    /// and is then copied whole.
    @inline(__always)
    func plainPrefixLength(of span: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = span.baseAddress else { return 0 }
        let count = span.count
        var index = 0
        if count >= 16 {
            let belows = SIMD16<UInt8>(repeating: below), aa = SIMD16<UInt8>(repeating: a)
            let bb = SIMD16<UInt8>(repeating: b), cc = SIMD16<UInt8>(repeating: c)
            let raw = UnsafeRawPointer(base)
            while true {
                // The last chunk ends at the last byte, overlapping the one before it.
                let start = Swift.min(index, count - 16)
                let chunk = raw.loadUnaligned(fromByteOffset: start, as: SIMD16<UInt8>.self)
                if any((chunk .< belows) .| (chunk .== aa) .| (chunk .== bb) .| (chunk .== cc)) { index = start; break }
                if start == count - 16 { return count }
                index += 16
            }
        }
        // Fewer than 16 bytes, or the chunk that holds the first stop: eight bytes at a time while
        // eight are left, then the last eight (overlapping), before any byte alone. Most values a
        // report writes are short (a rule, a unit, a category), and went byte by byte.
        let raw = UnsafeRawPointer(base)
        var stopped = false
        while index + 8 <= count {
            if hasStop(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) { stopped = true; break }
            index += 8
        }
        // Fewer than eight left: the last eight bytes cover them.
        if !stopped && index < count && count >= 8
            && !hasStop(raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)) {
            return count
        }
        while index < count {
            let byte = base[index]
            if byte < below || byte == a || byte == b || byte == c { return index }
            index += 1
        }
        return count
    }

    /// Whether any of the eight bytes of `word` is one of these.
    @inline(__always)
    private func hasStop(_ word: UInt64) -> Bool {
        hasByte(word, below: below) || hasByte(word, equalTo: a) || hasByte(word, equalTo: b) || hasByte(word, equalTo: c)
    }
}

/// Copies `count` bytes from `source` to `target`, which do not overlap. Up to 32 bytes are copied
/// inline, from 8 bytes on as two loads and two stores that overlap in the middle, below that byte
/// by byte: most runs the writers copy are that short (a key, a tag, a unit, a name in a
/// sentence), and the call to `memmove` cost more than the copy.
@inline(__always)
func copyBytes(from source: UnsafePointer<UInt8>, to target: UnsafeMutablePointer<UInt8>, count: Int) {
    let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(target)
    if count >= 16 && count <= 32 {
        let head = from.loadUnaligned(as: SIMD16<UInt8>.self)
        let tail = from.loadUnaligned(fromByteOffset: count - 16, as: SIMD16<UInt8>.self)
        to.storeBytes(of: head, as: SIMD16<UInt8>.self)
        to.storeBytes(of: tail, toByteOffset: count - 16, as: SIMD16<UInt8>.self)
    } else if count >= 8 && count < 16 {
        let head = from.loadUnaligned(as: UInt64.self)
        let tail = from.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        to.storeBytes(of: head, as: UInt64.self)
        to.storeBytes(of: tail, toByteOffset: count - 8, as: UInt64.self)
    } else if count < 8 {
        for index in 0..<count { target[index] = source[index] }
    } else {
        to.copyMemory(from: from, byteCount: count)
    }
}

// Eight bytes tested at once, in one 64-bit word: the scans of text use these where a byte at a
// time cost the most.

/// `byte` in each of the eight bytes of a word.
@inline(__always)
func everyByte(_ byte: UInt8) -> UInt64 { 0x0101_0101_0101_0101 &* UInt64(byte) }

/// Whether any of the eight bytes of `word` is below `limit` (at most 0x80). The classic test for
/// a zero byte (`limit` 1): exact for "any", which is all it answers.
@inline(__always)
func hasByte(_ word: UInt64, below limit: UInt8) -> Bool {
    (word &- everyByte(limit)) & ~word & everyByte(0x80) != 0
}

/// Whether any of the eight bytes of `word` is `byte`.
@inline(__always)
func hasByte(_ word: UInt64, equalTo byte: UInt8) -> Bool {
    hasByte(word ^ everyByte(byte), below: 1)
}
