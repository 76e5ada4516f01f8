/// A product form an item name can state in words, finer than the category's ``ProductForm``: a
/// cartridge and a jar of wax are both concentrates, a gummy and a balm both infused products.
///
/// The rules use it for a package whose item names a form that neither its category nor any of
/// its ingredients has ("Blue Dream Pre-Roll" made from buds and filed under a flower category).
/// The words are chosen to be unlikely in strain names: "cookies", "cream", "mints" and "cone"
/// (Snow Cone) are strains as often as products, so they are left out, and so is "510" (the cart
/// thread): item names carry numbers of every kind, and the soak's "Soak 510" flower was read as
/// a cartridge. Where a word is also a
/// strain or another product ("Grape Soda" flower, a "Joint Relief Balm"), the rules read it only
/// in categories where the form can be filed.
enum NamedForm: String, CaseIterable {
    case preRoll = "pre-roll"
    case cartridge = "vape cartridge"
    case edible = "edible"
    case beverage = "beverage"
    case tincture = "tincture"
    case topical = "topical"
    case capsule = "capsule"

    /// Words that name the form in an item name, a category name or an ingredient's item name.
    private var words: [String] {
        switch self {
        case .preRoll: ["pre-roll", "preroll", "joint", "blunt", "spliff", "dogwalker"]
        case .cartridge: ["cartridge", "cart", "vape", "vaporizer", "pen", "disposable", "pod", "all-in-one", "AIO"]
        case .edible: ["edible", "gummy", "chocolate", "candy", "chew", "lozenge", "brownie", "baked good"]
        case .beverage: ["beverage", "drink", "soda", "seltzer"]
        case .tincture: ["tincture", "sublingual"]
        case .topical: ["topical", "lotion", "balm", "salve", "transdermal"]
        case .capsule: ["capsule", "softgel", "tablet"]
        }
    }

    /// Words that say a category holds the form without naming it in an item ("Infused Liquid"
    /// holds drinks and tinctures; an item called "Liquid Diamonds" is a concentrate).
    private var categoryWords: [String] {
        switch self {
        case .beverage, .tincture: ["liquid"]
        default: []
        }
    }

    private static let itemPhrases = PhraseIndex(allCases.flatMap { form in
        form.words.compactMap(WordPhrase.init).map { (phrase: $0, tag: form) }
    })

    private static let categoryPhrases = PhraseIndex(allCases.flatMap { form in
        (form.words + form.categoryWords).compactMap(WordPhrase.init).map { (phrase: $0, tag: form) }
    })

    /// Every form the item name states, each with the first words that state it, in the order of
    /// the cases.
    static func named(in item: Words) -> [(form: NamedForm, words: Substring)] {
        // An item name states a form or two: a list of them costs less than a dictionary.
        var first: [(form: NamedForm, range: Range<Int>)] = []
        for occurrence in itemPhrases.occurrences(in: item) where !first.contains(where: { $0.form == occurrence.tag }) {
            first.append((occurrence.tag, occurrence.range))
        }
        return allCases.compactMap { form in first.first { $0.form == form }.map { (form, item.text(of: $0.range)) } }
    }

    /// False when the item name states no form, found without splitting it into words.
    static func mayBeNamed(in item: String) -> Bool {
        itemPhrases.mayOccur(in: item)
    }

    /// Every form a category name holds.
    static func held(byCategory category: Words) -> Set<NamedForm> {
        Set(categoryPhrases.occurrences(in: category).map(\.tag))
    }

    /// Every form an item name states.
    static func named(byItem item: Words) -> Set<NamedForm> {
        Set(itemPhrases.occurrences(in: item).map(\.tag))
    }

    /// Every form a category name holds; a name that cannot hold one is not split into words.
    static func held(byCategory category: String) -> Set<NamedForm> {
        categoryPhrases.mayOccur(in: category) ? held(byCategory: Words(category)) : []
    }

    /// Every form an item name states; a name that cannot state one is not split into words.
    static func named(byItem item: String) -> Set<NamedForm> {
        itemPhrases.mayOccur(in: item) ? named(byItem: Words(item)) : []
    }


    /// True for the forms of infused products (edibles, drinks, tinctures, topicals, capsules).
    var isInfused: Bool {
        switch self {
        case .preRoll, .cartridge: false
        case .edible, .beverage, .tincture, .topical, .capsule: true
        }
    }

    /// "a pre-roll", "an edible".
    var withArticle: String {
        switch self {
        case .edible: "an edible"
        default: "a \(rawValue)"
        }
    }
}
