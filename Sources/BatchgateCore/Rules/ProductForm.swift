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
        let name = category.asciiLowercasedBytes
        for (form, words) in vocabularyBytes where words.contains(where: { contains(name, $0) }) {
            return form
        }
        return nil
    }

    private static func contains(_ text: [UInt8], _ word: [UInt8]) -> Bool {
        guard text.count >= word.count else { return false }
        for start in 0...(text.count - word.count) where text[start] == word[0] {
            if text[start..<(start + word.count)].elementsEqual(word) { return true }
        }
        return false
    }

    private static let vocabularyBytes: [(ProductForm, [[UInt8]])] = vocabulary.map { ($0.0, $0.1.map { Array($0.utf8) }) }

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
