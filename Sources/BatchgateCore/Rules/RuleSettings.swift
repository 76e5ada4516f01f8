/// The parts of the rules a facility may tune.
public struct RuleSettings: Sendable, Equatable {
    /// Processing steps that do not change a product's form (compared trimmed, any case).
    public var nonFormChangingSteps: [String]

    public static let defaultNonFormChangingSteps = ["Repackage", "Split", "Combine", "Relabel"]

    public init(nonFormChangingSteps: [String] = RuleSettings.defaultNonFormChangingSteps) {
        self.nonFormChangingSteps = nonFormChangingSteps
    }

    func changesForm(step: String) -> Bool {
        let key = step.comparisonKey
        return !nonFormChangingSteps.contains { $0.comparisonKey == key }
    }
}
