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
        // The rules ask this of every ingredient's category: one pass over the name.
        vocabularyFinder.firstList(in: category).map { vocabulary[$0].0 }
    }

    private static let vocabularyFinder = InfixFinder(vocabulary.map(\.1))

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
