/// The four reasons Metrc's guidance gives for marking a new package as a production batch.
public enum RuleID: String, Sendable, CaseIterable, Comparable {
    /// An ingredient's category differs from the new package's category.
    case categoryChange = "category-change"
    /// The ingredients span two or more categories.
    case multipleCategories = "multiple-categories"
    /// An additive, lipid, flavoring, terpene or other non-cannabis ingredient is added.
    case additive = "additive"
    /// The product changes form physically or chemically.
    case formChange = "form-change"

    public static func < (lhs: RuleID, rhs: RuleID) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
