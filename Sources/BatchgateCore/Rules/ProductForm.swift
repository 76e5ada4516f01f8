/// The physical form a category name stands for. Categories are named per state, so the form is
/// read from words in the name; a name with none of them has no known form.
public enum ProductForm: String, Sendable, CaseIterable {
    case plantMaterial = "plant material"
    case preRoll = "pre-roll"
    case concentrate = "concentrate"
    case infused = "infused product"

    /// The form of a category name, by the first matching word list (pre-roll before infused, so
    /// an infused pre-roll is a pre-roll; infused before concentrate, so an infused oil is infused).
    public static func of(category: String) -> ProductForm? {
        let found = category.utf8.withContiguousStorageIfAvailable(formsNamed)
            ?? Array(category.utf8).withUnsafeBufferPointer(formsNamed)
        return found == 0 ? nil : vocabulary[found.trailingZeroBitCount].0
    }

    /// The word lists (bit `i` for `vocabulary[i]`) with a word in `name`, in any ASCII case. The
    /// rules ask this of every ingredient's category: one pass over the name, looking up the
    /// words that start with each byte, costs a fraction of searching the name for every word.
    private static func formsNamed(_ name: UnsafeBufferPointer<UInt8>) -> Int {
        var found = 0
        for start in name.indices {
            let first = lowercased(name[start])
            guard first < 0x80 else { continue }
            for (form, word) in wordsByFirstByte[Int(first)] where name.count - start >= word.count {
                if (1..<word.count).allSatisfy({ lowercased(name[start + $0]) == word[$0] }) { found |= 1 << form }
            }
        }
        return found
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// The words of `vocabulary` as bytes, filed under their first byte, each with its list's index.
    private static let wordsByFirstByte: [[(form: Int, word: [UInt8])]] = {
        var table = [[(form: Int, word: [UInt8])]](repeating: [], count: 128)
        for (form, (_, words)) in vocabulary.enumerated() {
            for word in words { table[Int(word.utf8.first!)].append((form, Array(word.utf8))) }
        }
        return table
    }()

    private static let vocabulary: [(ProductForm, [String])] = [
        (.preRoll, ["pre-roll", "preroll", "pre roll"]),
        (.infused, ["infused", "edible", "tincture", "topical", "capsule", "beverage"]),
        (.concentrate, ["concentrate", "extract", "vape", "cartridge", "kief", "hash", "rosin", "resin", "wax",
                        "shatter", "distillate", "budder", "badder", "crumble", "sauce", "isolate", "oil", "rso"]),
        (.plantMaterial, ["bud", "flower", "shake", "trim"]),
    ]

    /// "plant material", "a pre-roll", "a concentrate", "an infused product".
    var withArticle: String {
        switch self {
        case .plantMaterial: "plant material"
        case .preRoll: "a pre-roll"
        case .concentrate: "a concentrate"
        case .infused: "an infused product"
        }
    }
}
