/// Applies the four production-batch rules to one package whose categories are known.
/// Category names are compared trimmed and case-insensitively.
public struct RulesEngine: Sendable {
    public var settings: RuleSettings

    public init(settings: RuleSettings = RuleSettings()) {
        self.settings = settings
    }

    /// Every rule that applies, in the order of ``RuleID``, each with its sentence.
    public func findings(for package: ResolvedPackage) -> [RuleFinding] {
        var findings: [RuleFinding] = []
        let target = package.category
        let changed = package.ingredients.filter { !$0.category.isSameName(as: target) }
        if !changed.isEmpty {
            let sources = describe(changed)
            findings.append(RuleFinding(
                rule: .categoryChange,
                message: "\(sources) and the new package is \(target), so the product changes category."))
        }

        let distinct = groupedByCategory(package.ingredients)
        if distinct.count >= 2 {
            let parts = distinct.map { "\($0.category) (\($0.tags.joined(separator: ", ")))" }
            findings.append(RuleFinding(
                rule: .multipleCategories,
                message: "The ingredients combine \(distinct.count) categories, \(list(parts)), so multiple categories are combined."))
        }

        // Kind `other` is listed for the record (a cone, say) but is not one of the four kinds the rule names.
        let additives = package.request.additives.filter { $0.kind != .other }
        if !additives.isEmpty {
            let names = additives.map { $0.kind == .additive ? $0.name : "\($0.name) (\($0.kind.rawValue))" }
            let verb = additives.count == 1 ? "is" : "are"
            findings.append(RuleFinding(
                rule: .additive,
                message: "\(list(names)) \(verb) added to package \(package.tag) (\(target)), so a non-cannabis ingredient is added."))
        }

        if let step = package.request.processingStep?.trimmingWhitespace(), !step.isEmpty, settings.changesForm(step: step) {
            let sources = groupedByCategory(package.ingredients).map { "\($0.category) (\(list($0.tags)))" }
            findings.append(RuleFinding(
                rule: .formChange,
                message: "Package \(package.tag) (\(target)) is made from \(list(sources)) by \(step), a processing step that changes the product's form."))
        } else if !changed.isEmpty, let targetForm = ProductForm.of(category: target) {
            // Only an ingredient of another category can be of another form.
            let reshaped = changed.compactMap { source in
                ProductForm.of(category: source.category).flatMap { $0 != targetForm ? (source, $0) : nil }
            }
            if let (first, form) = reshaped.first {
                let others = reshaped.count > 1 ? " (and \(reshaped.count - 1) more)" : ""
                findings.append(RuleFinding(
                    rule: .formChange,
                    message: "Ingredient \(first.tag)\(others) is \(form.withArticle) (\(first.category)) and the new package is \(targetForm.withArticle) (\(target)), so the product changes form."))
            }
        }
        return findings
    }

    /// "Ingredient X is Buds" or "Ingredients X and Y are Buds, ingredient Z is Kief".
    private func describe(_ sources: [ResolvedPackage.Source]) -> String {
        let parts = groupedByCategory(sources).map {
            $0.tags.count == 1 ? "ingredient \($0.tags[0]) is \($0.category)" : "ingredients \(list($0.tags)) are \($0.category)"
        }
        let text = parts.joined(separator: ", ")
        return text.prefix(1).uppercased() + text.dropFirst()
    }

    /// The ingredients' tags by category, categories in order of first appearance.
    private func groupedByCategory(_ sources: [ResolvedPackage.Source]) -> [(category: String, tags: [String])] {
        var groups: [(category: String, tags: [String])] = []
        if sources.count > 16 {
            // Many ingredients: group through a dictionary so the work stays linear.
            var indexOfKey: [String: Int] = [:]
            for source in sources {
                let key = source.category.comparisonKey
                if let index = indexOfKey[key] {
                    groups[index].tags.append(source.tag)
                } else {
                    indexOfKey[key] = groups.count
                    groups.append((source.category, [source.tag]))
                }
            }
            return groups
        }
        for source in sources {
            if let index = groups.firstIndex(where: { $0.category.isSameName(as: source.category) }) {
                groups[index].tags.append(source.tag)
            } else {
                groups.append((source.category, [source.tag]))
            }
        }
        return groups
    }

    private func list(_ items: [String]) -> String {
        switch items.count {
        case 0: ""
        case 1: items[0]
        case 2: "\(items[0]) and \(items[1])"
        default: items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }
}
