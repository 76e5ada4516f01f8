/// Words to find anywhere inside a text, as bytes in any ASCII case (`resin` in "Live Resin",
/// `preroll` in "Prerolls"), each with the number of its list. One pass over the text looks up
/// the words that start at each byte: a fraction of the cost of searching the text once per word,
/// or of splitting it into ``Words`` first.
struct InfixFinder: Sendable {
    /// The words by their first byte (ASCII lower-cased), each with its list's number.
    private var byFirstByte = [[(list: Int, word: [UInt8])]](repeating: [], count: 128)

    /// `lists[i]` is list `i`; each word is ASCII and non-empty. At most 64 lists.
    init(_ lists: [[String]]) {
        precondition(lists.count <= Int.bitWidth)
        for (list, words) in lists.enumerated() {
            for word in words {
                let bytes = word.utf8.map(Self.lowercased)
                byFirstByte[Int(bytes[0])].append((list, bytes))
            }
        }
    }

    /// Bit `i` set when a word of list `i` occurs in `text`.
    func lists(in text: String) -> Int {
        text.utf8.withContiguousStorageIfAvailable(lists) ?? Array(text.utf8).withUnsafeBufferPointer(lists)
    }

    private func lists(in text: UnsafeBufferPointer<UInt8>) -> Int {
        var found = 0
        for start in text.indices {
            let first = Self.lowercased(text[start])
            guard first < 0x80 else { continue }
            for (list, word) in byFirstByte[Int(first)] where text.count - start >= word.count {
                if (1..<word.count).allSatisfy({ Self.lowercased(text[start + $0]) == word[$0] }) { found |= 1 << list }
            }
        }
        return found
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
