/// The parts of the rules a facility may tune (docs/rules.md, "Settings").
public struct RuleSettings: Sendable, Equatable {
    /// When a change of item, by itself, makes a production batch.
    public enum ItemChange: String, Sendable, CaseIterable {
        /// A concentrate made from concentrates of other items: West Virginia's bulletin ("bulk
        /// concentrate or extract is packaged or processed into a vape cartridge or other
        /// concentrate/extract"). The default.
        case concentrates
        /// Every new item, whatever the category: how Oklahoma reads the rule.
        case always
        /// Never by itself: only categories, additives, steps and form words count.
        case never
    }

    /// When a change of item counts; see ``ItemChange``.
    public var itemChange: ItemChange
    /// Words that, in a package's note or item name and in none of its ingredients' item names,
    /// say something was added. Each matches as whole words, any case, with an ending allowed on
    /// its last word (see ``WordPhrase``).
    public var additiveWords: [String]
    /// Processing steps that do not change a product's form: the whole step, word for word, any
    /// case, an ending allowed ("Repackaging" is `Repackage`).
    public var sameFormSteps: [String]

    /// The level of each pre-flight check (docs/rules.md, "Before Metrc").
    public var checks: CheckSettings

    public static let defaultSameFormSteps = ["Repackage", "Split", "Combine", "Relabel"]
    /// Terpenes, flavors, lipids and carrier oils, sweeteners (docs/rules.md, `additive`), and the
    /// trade's own words for the same things: cannabis- and botanical-derived terpenes (CDT, BDT),
    /// terpenoids, lecithin (an emulsifier in edibles and capsules).
    public static let defaultAdditiveWords = [
        "terpene", "terp", "terpenoid", "CDT", "BDT", "flavor", "flavour", "MCT", "lipid", "coconut oil",
        "carrier oil", "olive oil", "glycerin", "glycerine", "propylene glycol", "lecithin", "sugar", "sweetener",
        "sweeten",
    ]

    public init(itemChange: ItemChange = .concentrates,
                additiveWords: [String] = RuleSettings.defaultAdditiveWords,
                sameFormSteps: [String] = RuleSettings.defaultSameFormSteps,
                checks: CheckSettings = CheckSettings()) {
        self.checks = checks
        self.itemChange = itemChange
        self.additiveWords = additiveWords
        self.sameFormSteps = sameFormSteps
    }

    /// Why `phrase` cannot be an additive word or a same-form step (it has no letter or digit to
    /// match), or nil.
    public static func problem(phrase: String) -> String? {
        WordPhrase(phrase) == nil ? "\(FieldSyntax.quoted(phrase)) has no letter or digit to look for" : nil
    }
}
