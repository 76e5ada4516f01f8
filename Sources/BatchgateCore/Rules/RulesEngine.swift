/// What the rules conclude about one package: the rules that apply, and warnings about evidence
/// that could not be checked.
struct RuleOutcome: Sendable, Equatable {
    /// The rules that apply, in the order of ``RuleID``, each once, with its sentence and evidence.
    var findings: [RuleFinding] = []
    var warnings: [PackageWarning] = []
}

/// Applies the production-batch rules (docs/rules.md) to one package whose categories are
/// known. It reads every piece of evidence a real request carries (categories, item names, the
/// note, declared additives and steps) and names in each finding the one that decided it.
/// Category names and words are compared trimmed and case-insensitively.
public struct RulesEngine: Sendable {
    public let settings: RuleSettings
    private let additiveWords: PhraseIndex<Void>
    /// The same-form steps of one word, in every form they take (a step is most often one word:
    /// one look-up), and those of more words.
    private let oneWordSameFormSteps: Set<String>
    /// The same forms as lower-case bytes, for a step of one ASCII word: compared by length and
    /// bytes, where hashing the step's lower-cased copy into the set cost more than the rule.
    private let oneWordSameFormStepBytes: [[UInt8]]
    private let longerSameFormSteps: [WordPhrase]

    public init(settings: RuleSettings = RuleSettings()) {
        self.settings = settings
        additiveWords = PhraseIndex(settings.additiveWords.compactMap(WordPhrase.init).map { (phrase: $0, tag: ()) })
        let sameFormSteps = settings.sameFormSteps.compactMap(WordPhrase.init)
        oneWordSameFormSteps = sameFormSteps.filter { $0.words.count == 1 }.reduce(into: []) { $0.formUnion($1.firstWordForms) }
        oneWordSameFormStepBytes = oneWordSameFormSteps.map { Array($0.utf8) }
        longerSameFormSteps = sameFormSteps.filter { $0.words.count > 1 }
    }

    /// True unless the step is one of the same-form steps, in any case and with an ending
    /// ("Repackaging" and "repackaged" are `Repackage`).
    private func changesForm(step: String) -> Bool {
        // Most steps are one ASCII word ("Extraction", "Repackaging"): looked up without being split.
        let oneWord: Bool? = step.withUTF8Bytes { bytes in
            guard !bytes.isEmpty, bytes.allSatisfy({ ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") }) else {
                return nil
            }
            return !oneWordSameFormStepBytes.contains { form in
                form.count == bytes.count && form.withUnsafeBufferPointer { equalIgnoringASCIICase($0, bytes) }
            }
        }
        if let oneWord { return oneWord }
        let words = Words(step)
        if words.words.count == 1 { return !oneWordSameFormSteps.contains(words.words[0].key) }
        return !longerSameFormSteps.contains { words.isExactly($0) }
    }

    /// Entries that say there is no additive at all: `"Additives": ["None"]` means `[]`.
    private static let noAdditive: Set<String> = ["none", "n/a", "na", "-", "nothing", "no", "nil", "null"]

    /// Words before an additive word that deny it ("no terpenes", "without sugar", "no added
    /// sugar"), and after it ("sugar free", "terpene-free"). Only across a space or hyphen: "No.
    /// Terpenes: 5%" on a checklist, or "terps, free of PG", deny nothing.
    private static let denialBefore: Set<String> = ["no", "without", "zero"]
    private static let denialQualifiers: Set<String> = ["added", "artificial", "any"]
    private static let denialAfter: Set<String> = ["free"]

    /// True when the words around `range` deny it.
    private static func isDenied(_ range: Range<Int>, in words: Words) -> Bool {
        var before = range.lowerBound - 1
        if let key = words.key(at: before), denialQualifiers.contains(key), words.isJoined(before + 1) { before -= 1 }
        if let key = words.key(at: before), denialBefore.contains(key), words.isJoined(before + 1) { return true }
        let after = range.upperBound
        guard let key = words.key(at: after), denialAfter.contains(key), words.isJoined(after) else { return false }
        // "free of …" and "free from …" speak of something else.
        return !["of", "from"].contains(words.key(at: after + 1) ?? "")
    }

    /// Names that hold an additive word but no additive: "Sugar Leaf" is trim; live sugar, sugar
    /// wax and terp sauce are concentrates named for their texture and their own terpenes.
    private static let notAdditives = ["sugar leaf", "sugar leaves", "sugar trim", "live sugar", "sugar wax", "terp sauce"]
        .compactMap(WordPhrase.init)

    /// Every rule that applies, with its sentence and evidence, and the warnings.
    func evaluate(_ package: ResolvedPackage) -> RuleOutcome {
        var outcome = RuleOutcome()
        outcome.findings.reserveCapacity(RuleID.allCases.count)
        let target = package.category
        let sources = package.ingredients
        // The ingredients by category, worked out once for the three rules that read them. A
        // category differs from the package's for all of its group or none (names compare alike).
        let categories = grouped(sources, by: { $0.category })
        // Most often every group differs from the package's category: then the list is the groups
        // themselves, not a filtered copy of them.
        let changed = categories.contains(where: { $0.name.isSameName(as: target) })
            ? categories.filter { !$0.name.isSameName(as: target) } : categories
        if let first = changed.first.map({ sources[$0.members[0]] }) {
            outcome.findings.append(RuleFinding(
                rule: .categoryChange,
                message: String(writing: { sentence in
                    Self.describe(changed, of: sources, into: &sentence)
                    sentence.append(" and the new package is ")
                    sentence.append(target)
                    sentence.append(", so the product changes category.")
                }),
                evidence: first.categoryEvidence()))
        }

        if categories.count >= 2 {
            let second = sources[categories[1].members[0]]
            outcome.findings.append(RuleFinding(
                rule: .multipleCategories,
                message: String(writing: { sentence in
                    sentence.append("The ingredients combine ")
                    sentence.append(categories.count)
                    sentence.append(" categories, ")
                    sentence.appendShortList(categories.count) { index, sentence in
                        Self.writeGroup(categories[index], of: sources, joiner: ", ", into: &sentence)
                    }
                    sentence.append(", so multiple categories are combined.")
                }),
                evidence: second.categoryEvidence()))
        }

        if let finding = additive(package) { outcome.findings.append(finding) }

        var pending: PackageWarning?
        if let finding = formChange(package, categories: categories, changed: changed, unchecked: &pending) {
            outcome.findings.append(finding)
        }
        // An item that could not be compared matters only where nothing else asks for a batch.
        if outcome.findings.isEmpty, let pending { outcome.warnings.append(pending) }
        return outcome
    }

    // MARK: additive

    /// Rule `additive`: what `Additives` lists, every kind; or, where the request does not say,
    /// an additive word in the note or the item name that no ingredient's item name has.
    private func additive(_ package: ResolvedPackage) -> RuleFinding? {
        // The request's fields read where they are: `let request = package.request` copies it whole.
        let line = package.request.position.line
        if let declared = package.request.additives {
            // `[]` states that nothing was added, and so does a list of just "None".
            // Only a plain entry: `{"Name": "None", "Kind": "terpene"}` names a terpene, oddly.
            let listed = declared.filter { $0.kind != .additive || !Self.noAdditive.contains($0.name.comparisonKey) }
            guard let first = listed.first else { return nil }
            let names = listed.map { $0.kind == .additive ? $0.name : "\($0.name) (\($0.kind.rawValue))" }
            let verb = listed.count == 1 ? "is" : "are"
            return RuleFinding(
                rule: .additive,
                message: String(concatenating: shortList(names), " ", verb, " added to package ", package.tag, " (",
                                package.category, "), so a non-cannabis ingredient is added."),
                evidence: Evidence(field: "Additives", value: first.name, line: line))
        }
        // The ingredients' item names are split only once a word turns up: most notes have none.
        var sourceItems: [Words]?
        // The note, then the item name (a list of the two was an array allocated per package).
        for second in [false, true] {
            let place: (field: String, text: String?) = second ? ("Item", package.item) : ("Note", package.request.note)
            guard let text = place.text, additiveWords.mayOccur(in: text) else { continue }
            let words = Words(text)
            let occurrences = additiveWords.occurrences(in: words)
            guard !occurrences.isEmpty else { continue }
            let excused = Self.notAdditives.flatMap { words.ranges(of: $0) }
            for occurrence in occurrences {
                let range = occurrence.range
                if Self.isDenied(range, in: words) || excused.contains(where: { $0.overlaps(range) }) { continue }
                if sourceItems == nil { sourceItems = package.ingredients.compactMap { $0.item.map(Words.init) } }
                if sourceItems!.contains(where: { $0.contains(occurrence.phrase) }) { continue }
                let found = words.text(of: range)
                let said = place.field == "Note" ? "The note says \(FieldSyntax.quoted(String(found)))"
                    : "Item \(FieldSyntax.quoted(text)) says \(FieldSyntax.quoted(String(found)))"
                let unknown = package.ingredients.filter { $0.item == nil }.map(\.tag)
                let items = unknown.isEmpty ? "no ingredient's item does"
                    : "no ingredient's known item does (the item of \(shortList(unknown)) is not known: give it, or add the tag to the packages file)"
                return RuleFinding(
                    rule: .additive,
                    message: "\(said) and \(items), so something non-cannabis is added (a terpene, flavor, oil or sweetener). If nothing was added, say so: \"Additives\": [] in JSON, or an empty cell in an Additives column in CSV.",
                    evidence: Evidence(field: place.field, value: String(found), line: line))
            }
        }
        return nil
    }

    // MARK: form-change

    /// Rule `form-change`, from the first evidence that shows it: a processing step that changes
    /// form; a category of another form; a concentrate made from concentrates of other items (by
    /// `itemChange`); an item name stating a form that nothing else has. `unchecked` receives a
    /// warning when an item the rule needed is unknown.
    private func formChange(_ package: ResolvedPackage, categories: [NameGroup], changed: [NameGroup],
                            unchecked: inout PackageWarning?) -> RuleFinding? {
        let target = package.category
        let line = package.request.position.line
        // Named apart from the package: a closure that reads `package` copies all of it, and
        // `let request = package.request` copies the request.
        let ingredients = package.ingredients
        let tag = package.tag
        if let step = package.request.processingStep?.trimmingWhitespace(), !step.isEmpty, changesForm(step: step) {
            return RuleFinding(
                rule: .formChange,
                message: String(writing: { sentence in
                    sentence.append("Package ")
                    sentence.append(tag)
                    sentence.append(" (")
                    sentence.append(target)
                    sentence.append(") is made from ")
                    sentence.appendShortList(categories.count) { index, sentence in
                        Self.writeGroup(categories[index], of: ingredients, into: &sentence)
                    }
                    sentence.append(" by ")
                    sentence.append(step)
                    sentence.append(", a processing step that changes the product's form.")
                }),
                evidence: Evidence(field: "ProcessingStep", value: step, line: line))
        }
        let targetForm = ProductForm.of(category: target)
        if let targetForm {
            // Only an ingredient of another category can be of another form; the first in the
            // ingredients' order is named.
            // Counted in place, without gathering, sorting and filtering the changed ingredients
            // into arrays: three allocations per package whose category changes.
            var earliest: (index: Int, form: ProductForm)?
            var reshapedCount = 0
            for group in changed {
                for index in group.members {
                    guard let form = ProductForm.of(category: ingredients[index].category), form != targetForm else { continue }
                    reshapedCount += 1
                    if earliest.map({ index < $0.index }) ?? true { earliest = (index, form) }
                }
            }
            if let (index, form) = earliest {
                let source = ingredients[index]
                let others = reshapedCount > 1 ? " (and \(reshapedCount - 1) more)" : ""
                return RuleFinding(
                    rule: .formChange,
                    message: String(concatenating: "Ingredient ", source.tag, others, " is ", form.withArticle, " (", source.category,
                                    ") and the new package is ", targetForm.withArticle, " (", target,
                                    "), so the product changes form."),
                    evidence: Evidence(field: "ItemCategory", value: target, line: line, origin: package.categoryOrigin))
            }
        }
        if let finding = itemChange(package, targetForm: targetForm, unchecked: &unchecked) { return finding }
        return namedForm(package, targetForm: targetForm, categories: categories)
    }

    /// Form change (c): a new item where `itemChange` says that is a production batch.
    private func itemChange(_ package: ResolvedPackage, targetForm: ProductForm?,
                            unchecked: inout PackageWarning?) -> RuleFinding? {
        guard let item = package.item, !package.ingredients.isEmpty else { return nil }
        let sources = package.ingredients
        let evidence = Evidence(field: "Item", value: item, line: package.request.position.line)
        let unknown = sources.filter { $0.item == nil }
        switch settings.itemChange {
        case .never:
            return nil
        case .concentrates:
            // A blend of two concentrate items is a new concentrate whatever it is called.
            guard targetForm == .concentrate,
                  sources.allSatisfy({ ProductForm.of(category: $0.category) == .concentrate }) else { return nil }
            let distinctItems = Set(sources.compactMap { $0.item?.comparisonKey })
            guard distinctItems.count > 1 || !sources.contains(where: { $0.item?.isSameName(as: item) == true }),
                  !isFinishedRepack(package, item: item, sources: sources) else { return nil }
            guard unknown.isEmpty else {
                unchecked = unknownItem(unknown, question: "concentrate \(FieldSyntax.quoted(item)) is made from a concentrate of another item")
                return nil
            }
            if distinctItems.count > 1, sources.contains(where: { $0.item?.isSameName(as: item) == true }) {
                return RuleFinding(
                    rule: .formChange,
                    message: String(concatenating: "Item ", FieldSyntax.quoted(item), " (", package.category, ") blends ",
                                    describeItems(sources), ", concentrates of ", String(distinctItems.count),
                                    " items, so a new concentrate is made: a production batch, whatever the step is called. If the lots really are one item, give them that item."),
                    evidence: evidence)
            }
            return RuleFinding(
                rule: .formChange,
                message: String(concatenating: "Item ", FieldSyntax.quoted(item), " (", package.category, ") is made from ",
                                describeItems(sources), ", so bulk concentrate is processed into another concentrate: a production batch, whatever the step is called. If the item really is the same, keep it (UseSameItem, or the ingredient's item name)."),
                evidence: evidence)
        case .always:
            let differing = sources.filter { $0.item.map { !$0.isSameName(as: item) } ?? false }
            guard !differing.isEmpty else {
                if !unknown.isEmpty {
                    unchecked = unknownItem(unknown, question: "item \(FieldSyntax.quoted(item)) is a new item")
                }
                return nil
            }
            return RuleFinding(
                rule: .formChange,
                message: String(concatenating: "Item ", FieldSyntax.quoted(item), " is made from ", describeItems(differing),
                                ", and with rules.itemChange set to always (Oklahoma's reading) every change of item is a production batch."),
                evidence: evidence)
        }
    }

    /// True for finished goods re-bagged under a new item, not bulk concentrate processed: every
    /// ingredient and the new package counted in units (`Each`) under a name that keeps theirs;
    /// or every ingredient a unit of stated size, kept whole in the new name or of one finished
    /// form with it ("Cart 0.5g" into "Cart 2-pack").
    private func isFinishedRepack(_ package: ResolvedPackage, item: String, sources: [ResolvedPackage.Source]) -> Bool {
        let sourceItems = sources.compactMap { $0.item.map(Words.init) }
        guard sourceItems.count == sources.count else { return false }
        let newItem = Words(item)
        // Units counted, not weighed, on both sides, under a name that keeps each source's words
        // but its size: finished units into a pack of them ("Live Resin 1g" to "Live Resin 2-Pack").
        let ingredients = package.request.ingredients
        if isCounted(package.request.unitOfMeasure), !ingredients.isEmpty,
           ingredients.allSatisfy({ isCounted($0.unitOfMeasure) }),
           sourceItems.allSatisfy({ newItem.onlyAddsPackWords(to: $0, sizesMayChange: true) }) {
            return true
        }
        // A finished unit (its item states its size, "Gelato Live Resin 1g") under an item that
        // keeps its whole name and adds only pack words ("… 1g 2-Pack"). Bulk ("Live Resin Bulk"
        // into "Live Resin 1g") or a new product ("… 1g" into "… 1g Sauce") fails a test.
        guard sourceItems.allSatisfy(\.statesUnitSize) else { return false }
        if sourceItems.allSatisfy({ newItem.onlyAddsPackWords(to: $0) }) { return true }
        // Sized finished goods of one form: "Cart 0.5g" into "Cart 2-Pack" (bulk "Cart Oil" states
        // no unit size, and stays a production batch).
        let sourceForms = sourceItems.map(NamedForm.named(byItem:))
        return NamedForm.named(in: newItem).contains { form, _ in sourceForms.allSatisfy { $0.contains(form) } }
    }

    /// True for a unit that counts pieces rather than weighing or measuring them.
    private func isCounted(_ unit: String?) -> Bool {
        guard let key = unit?.comparisonKey else { return false }
        return key == "each" || key == "ea"
    }

    /// Form change (d): the item name states a form that neither the category nor any ingredient has.
    private func namedForm(_ package: ResolvedPackage, targetForm: ProductForm?, categories: [NameGroup]) -> RuleFinding? {
        guard let item = package.item, NamedForm.mayBeNamed(in: item) else { return nil }
        // Infused forms are read only where they can be filed (an infused category, or one of no
        // known form): "Grape Soda" flower or live resin, "Chocolate Thai" buds are strains. And in
        // an infused category "joint" beside an infused form is a "Joint Relief Balm".
        let all = NamedForm.named(in: Words(item))
        let namesInfusedForm = all.contains { $0.form.isInfused }
        let named = all.filter { named in
            named.form.isInfused ? targetForm == .infused || targetForm == nil
                : !(targetForm == .infused && namesInfusedForm)
        }
        guard !named.isEmpty else { return nil }
        // Every form something else has, each name read once.
        // Each step below stops once every form the item names is held: most items name one their
        // own category holds ("… Pre-Roll" filed as a pre-roll), and reading the ingredients'
        // items costs more than the rest.
        var held = NamedForm.held(byCategory: package.category)
        if named.allSatisfy({ held.contains($0.form) }) { return nil }
        var namedBySources: Set<NamedForm> = []
        for category in categories {
            held.formUnion(NamedForm.held(byCategory: category.name.comparisonKey))
        }
        if named.allSatisfy({ held.contains($0.form) }) { return nil }
        for item in Set(package.ingredients.compactMap { $0.item?.comparisonKey }) {
            namedBySources.formUnion(NamedForm.named(byItem: item))
        }
        held.formUnion(namedBySources)
        // An infused category holds every infused form ("Infused Edible" is where a state files
        // drinks and tinctures as well as gummies) once an ingredient is a finished infused form:
        // bulk infused oil made into softgels is a change of form.
        let fromFinishedInfused = namedBySources.contains(where: \.isInfused)
        for (form, said) in named {
            if held.contains(form) || (form.isInfused && targetForm == .infused && fromFinishedInfused) { continue }
            let sources = package.ingredients.map { source in
                source.item.map { "\(source.category) \(FieldSyntax.quoted($0))" } ?? "\(source.category), item unknown"
            }
            return RuleFinding(
                rule: .formChange,
                message: String(concatenating: "Item ", FieldSyntax.quoted(item), " says ", FieldSyntax.quoted(String(said)), ", ",
                                form.withArticle, ", which neither its category (", package.category, ") nor any ingredient (",
                                shortList(Array(Set(sources)).sorted()), ") is, so the product changes form. If the ingredients already are ",
                                form.rawValue, "s, name their items (the ingredient's Item, or the packages file)."),
                evidence: Evidence(field: "Item", value: String(said), line: package.request.position.line))
        }
        return nil
    }

    /// The warning for ingredients whose item is needed but unknown.
    private func unknownItem(_ sources: [ResolvedPackage.Source], question: String) -> PackageWarning {
        let tags = shortList(sources.map(\.tag))
        let noun = sources.count == 1 ? "ingredient \(tags) has" : "ingredients \(tags) have"
        return PackageWarning(
            message: "The item of \(noun) no known name, so batchgate could not check whether \(question) (a production batch). Give the ingredient's Item, or add the tag to the packages file.",
            evidence: Evidence(field: "Ingredients[\(sources[0].index)].Package", value: sources[0].tag, line: sources[0].line))
    }

    // MARK: Wording

    /// "\"Hybrid Crude Oil\" (ingredient X)" or "\"A\" (ingredient X) and \"B\" (ingredients Y and Z)".
    private func describeItems(_ sources: [ResolvedPackage.Source]) -> String {
        shortList(grouped(sources, by: { $0.item }).map { group in
            let tags = group.members.map { sources[$0].tag }
            return String(concatenating: FieldSyntax.quoted(group.name), tags.count == 1 ? " (ingredient " : " (ingredients ",
                          shortList(tags), ")")
        })
    }

    /// "Ingredient X is Buds" or "Ingredients X and Y are Buds, ingredient Z is Kief": `groups` of
    /// `sources` by category.
    private static func describe(_ groups: [NameGroup], of sources: [ResolvedPackage.Source], into sentence: inout SentenceWriter) {
        for (number, group) in groups.enumerated() {
            sentence.append(number == 0 ? "Ingredient" : ", ingredient")
            if group.members.count == 1 {
                sentence.append(" ")
                sentence.append(sources[group.members[0]].tag)
                sentence.append(" is ")
            } else {
                sentence.append("s ")
                sentence.appendShortList(group.members.count) { member, sentence in
                    sentence.append(sources[group.members[member]].tag)
                }
                sentence.append(" are ")
            }
            sentence.append(group.name)
        }
    }

    /// "Buds (A and B)": a group's name, then the tags of its ingredients, listed with `joiner`
    /// between them when given (as ``SentenceWriter/appendShortList(_:joiner:_:)`` lists).
    private static func writeGroup(_ group: NameGroup, of sources: [ResolvedPackage.Source], joiner: StaticString? = nil,
                            into sentence: inout SentenceWriter) {
        sentence.append(group.name)
        sentence.append(" (")
        sentence.appendShortList(group.members.count, joiner: joiner) { member, sentence in
            sentence.append(sources[group.members[member]].tag)
        }
        sentence.append(")")
    }

    /// A name (category or item) as first written, and the positions of the ingredients that bear it.
    struct NameGroup {
        var name: String
        var members: Members

        init(name: String, first: Int) {
            self.name = name
            members = Members(first: first)
        }

        /// The positions in order, the first three kept inline: most groups have one to three
        /// members, and an array for them was an allocation per group and package.
        struct Members: RandomAccessCollection {
            /// The first three positions (-1 where there is none yet).
            private var head: (Int, Int, Int)
            /// How many positions in all.
            private(set) var endIndex = 1
            /// The positions after the first three.
            private var rest: [Int] = []

            init(first: Int) { head = (first, -1, -1) }

            var startIndex: Int { 0 }

            subscript(position: Int) -> Int {
                switch position {
                case 0: head.0
                case 1: head.1
                case 2: head.2
                default: rest[position - 3]
                }
            }

            mutating func append(_ position: Int) {
                switch endIndex {
                case 1: head.1 = position
                case 2: head.2 = position
                default: rest.append(position)
                }
                endIndex += 1
            }
        }
    }

    /// The ingredients grouped by a name (category or item), compared trimmed and in any case, in
    /// order of first appearance; ingredients without the name are left out.
    private func grouped(_ sources: [ResolvedPackage.Source], by name: (ResolvedPackage.Source) -> String?) -> [NameGroup] {
        var groups: [NameGroup] = []
        groups.reserveCapacity(sources.count)
        if sources.count > 16 {
            // Many ingredients: group through a dictionary so the work stays linear.
            var indexOfKey: [String: Int] = [:]
            for index in sources.indices {
                guard let value = name(sources[index]) else { continue }
                let key = value.comparisonKey
                if let group = indexOfKey[key] {
                    groups[group].members.append(index)
                } else {
                    indexOfKey[key] = groups.count
                    groups.append(NameGroup(name: value, first: index))
                }
            }
            return groups
        }
        for index in sources.indices {
            guard let value = name(sources[index]) else { continue }
            // By position, so that no group is copied to be compared; a name written alike (as most
            // are) is the same without trimming and folding the case of both.
            if let group = groups.indices.first(where: { groups[$0].name == value || groups[$0].name.isSameName(as: value) }) {
                groups[group].members.append(index)
            } else {
                groups.append(NameGroup(name: value, first: index))
            }
        }
        return groups
    }

    /// Like `list`, naming at most three: a package made from thousands of ingredients still gets
    /// a sentence a person reads.
    private func shortList(_ items: [String], joiner: String? = nil) -> String {
        guard items.count > 3 else { return list(items, separator: joiner ?? ", ", last: joiner ?? " and ") }
        return String(concatenating: items[0], ", ", items[1], ", ", items[2], " and ", String(items.count - 3), " more")
    }

    /// `items` between separators, the last two between `last`: "a", "a and b", "a, b and c".
    private func list(_ items: [String], separator: String, last: String) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        var parts: [String] = []
        parts.reserveCapacity(2 * items.count)
        for (index, item) in items.enumerated() {
            if index > 0 { parts.append(index == items.count - 1 ? last : separator) }
            parts.append(item)
        }
        return String(concatenating: parts)
    }
}
