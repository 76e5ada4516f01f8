/// Words to find anywhere inside a text, as bytes in any ASCII case (`resin` in "Live Resin",
/// `preroll` in "Prerolls"), each with the number of its list. One pass over the text looks up
/// the words that start at each byte: a fraction of the cost of searching the text once per word,
/// or of splitting it into ``Words`` first.
///
/// The rules ask it of every category, item and note, so the words are kept flat: their bytes in
/// one array, the words that start with each byte as one run of entries, and a bit per pair of
/// bytes that starts a word, so that most places in a text are passed over with one test. (Nearly
/// every letter starts some word, so a bit per first byte let most places through; and a list of
/// words per first byte, each an array of its own, was retained and released at every byte.)
struct InfixFinder: Sendable {
    /// One word: its list's number and where its bytes (ASCII lower-cased) stand in `bytes`.
    private struct Entry: Sendable {
        var list: Int
        var start: Int
        var count: Int
    }

    /// Every word's bytes, one after the other.
    private let bytes: [UInt8]
    /// The words, by their first byte (ASCII lower-cased).
    private let entries: [Entry]
    /// For each byte value below 128, the run of `entries` of the words that start with it.
    private let runs: [Range<Int>]
    /// Bit `256 * a + b`: some word starts with the bytes `a` and `b`, in either ASCII case (8 KiB).
    /// Indexed by the bytes as they are, so that a place in the text is passed over without
    /// lower-casing it first.
    private let pairs: [UInt64]
    /// Bit `a`: some word is the one byte `a`, in either case.
    private let singles: [UInt64]

    /// `lists[i]` is list `i`; each word is ASCII and non-empty. At most 64 lists.
    init(_ lists: [[String]]) {
        precondition(lists.count <= Int.bitWidth)
        var byFirstByte = [[(list: Int, word: [UInt8])]](repeating: [], count: 128)
        for (list, words) in lists.enumerated() {
            for word in words {
                let lowered = word.utf8.map(Self.lowercased)
                byFirstByte[Int(lowered[0])].append((list, lowered))
            }
        }
        var bytes: [UInt8] = []
        var entries: [Entry] = []
        var runs: [Range<Int>] = []
        var pairs = [UInt64](repeating: 0, count: 256 * 256 / 64)
        var singles = [UInt64](repeating: 0, count: 256 / 64)
        for (first, words) in byFirstByte.enumerated() {
            runs.append(entries.count..<(entries.count + words.count))
            for (list, word) in words {
                entries.append(Entry(list: list, start: bytes.count, count: word.count))
                bytes += word
                for a in Self.cases(of: UInt8(first)) {
                    if word.count == 1 {
                        singles[Int(a) >> 6] |= 1 << UInt64(a & 63)
                        continue
                    }
                    for b in Self.cases(of: word[1]) {
                        let pair = Int(a) << 8 | Int(b)
                        pairs[pair >> 6] |= 1 << UInt64(pair & 63)
                    }
                }
            }
        }
        self.bytes = bytes
        self.entries = entries
        self.runs = runs
        self.pairs = pairs
        self.singles = singles
    }

    /// The first list (by number) one of whose words occurs in `text`, or nil.
    func firstList(in text: String) -> Int? {
        let found = text.utf8.withContiguousStorageIfAvailable(lists) ?? Array(text.utf8).withUnsafeBufferPointer(lists)
        return found == 0 ? nil : found.trailingZeroBitCount
    }

    /// Bit `i` set when a word of list `i` occurs in `text`; it may stop at the first word of
    /// list 0, which no other list can come before.
    private func lists(in text: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = text.baseAddress, !text.isEmpty else { return 0 }
        // Through pointers, each place tested by its two bytes as they are, in one table: the rules
        // ask this of every category, item and note, and by index, lower-casing every byte first
        // with a check of bounds at every look-up, it was 7 % of the instructions of evaluation.
        return bytes.withUnsafeBufferPointer { bytes in
            entries.withUnsafeBufferPointer { entries in
                runs.withUnsafeBufferPointer { runs in
                    pairs.withUnsafeBufferPointer { pairs in
                        singles.withUnsafeBufferPointer { singles in
                            let count = text.count
                            var found = 0
                            var first = base[0]
                            for start in 0..<count {
                                // 0 when there is no next byte: no word holds it, so no pair ends in it.
                                let second = start + 1 < count ? base[start + 1] : 0
                                defer { first = second }
                                let pair = Int(first) << 8 | Int(second)
                                guard (pairs[pair >> 6] >> UInt64(pair & 63)) & 1 != 0
                                    || (singles[Int(first) >> 6] >> UInt64(first & 63)) & 1 != 0 else { continue }
                                // A bit is set only for ASCII bytes, so `first` lower-cased is below 128.
                                let left = count - start
                                for entry in runs[Int(Self.lowercased(first))] {
                                    let word = entries[entry]
                                    guard left >= word.count else { continue }
                                    var offset = 1
                                    while offset < word.count, Self.lowercased(base[start + offset]) == bytes[word.start + offset] {
                                        offset += 1
                                    }
                                    if offset == word.count { found |= 1 << word.list }
                                }
                                if found & 1 != 0 { break }
                            }
                            return found
                        }
                    }
                }
            }
        }
    }

    /// An ASCII letter in both cases; any other byte alone.
    private static func cases(of byte: UInt8) -> [UInt8] {
        let lower = lowercased(byte)
        return lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z") ? [lower, lower & ~0x20] : [byte]
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
