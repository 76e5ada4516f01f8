extension PreflightChecker {
    /// The checks of what a manifest takes from existing packages and of the tags it gives: tag-in-use,
    /// source-not-in-facility, source-inactive, source-on-hold, source-lab-failed,
    /// source-over-used, ingredient-unit.
    ///
    /// Findings go to the packages the resolver could resolve; what a source holds is compared
    /// with what every package of the manifest takes from it, since Metrc takes it all in one request.
    func checkSources(_ manifest: Manifest, resolved resolvedPackages: [(index: Int, package: ResolvedPackage)],
                      into outcome: inout Outcome) {
        guard !resolvedPackages.isEmpty else { return }
        if !catalogIsMetrc && catalog.packageCount == 0 {
            // Nothing to check a source against: whether any ingredient names one is all that
            // matters, not what each takes.
            var unchecked: [CheckID] = [.tagInUse]
            if manifest.packages.contains(where: { $0.ingredients.contains { $0.package != nil } }) {
                unchecked += [.sourceNotInFacility, .sourceInactive, .sourceOnHold, .sourceLabFailed,
                              .sourceOverUsed, .ingredientUnit]
            }
            for check in unchecked {
                outcome.skip(check, reason: Self.noPackagesCatalog, tag: nil, settings: settings)
            }
            return
        }
        let resolved = Set(resolvedPackages.map(\.index))
        let uses = SourceUses(manifest)
        checkNewTags(manifest, resolved: resolved, into: &outcome)
        let notLookedUp = catalogIsMetrc ? Self.cacheNotAsked : Self.filesAreNotMetrc
        if !sourcesWereLookedUp && !uses.tags.isEmpty {
            outcome.skip(.sourceNotInFacility, reason: notLookedUp, tag: nil, settings: settings)
        }
        for tag in uses.tags {
            let taken = uses.byTag[tag] ?? []
            guard let record = catalog.package(tagged: tag) else {
                if sourcesWereLookedUp {
                    reportNotInFacility(tag, taken.filter { resolved.contains($0.packageIndex) }, into: &outcome)
                } else {
                    // Files name what the facility chose to list, and a cache read offline is as old
                    // as its last sync: a tag they lack may be in Metrc.
                    outcome.skip(.sourceNotInFacility, reason: notLookedUp, tag: tag, settings: settings)
                }
                continue
            }
            let checked = taken.filter { resolved.contains($0.packageIndex) }
            // Packages that cannot be evaluated are not checked: a source only they take from is left alone.
            guard !checked.isEmpty else { continue }
            checkState(of: record, takenBy: checked, into: &outcome)
            // A finished or archived package is as good as empty: taking from it reads as over-use
            // too, but that it cannot be a source at all is the one thing worth saying, when that
            // rejects it. A facility that made source-inactive a warning still gets over-use's error.
            let reportedInactive = Self.isInactive(record) && settings.level(.sourceInactive) == .error
            checkQuantities(of: record, takenBy: taken, resolved: resolved, sum: !reportedInactive, into: &outcome)
        }
    }

    /// Why the catalog checks cannot run without any packages catalog.
    static let noPackagesCatalog = "no packages catalog (catalog.packages, --packages or catalog.metrc)"
    /// Why source-not-in-facility cannot run on files.
    static let filesAreNotMetrc = "the catalog is files, not Metrc's: a tag it lacks may still exist"
    /// Why source-not-in-facility is skipped against Metrc's cache read offline (`check --config`).
    static let cacheNotAsked = "Metrc's cache, read without asking Metrc, may predate a tag it lacks (the daemon looks such a tag up)"

    // MARK: tag-in-use

    /// A new package's tag that the catalog knows as a package. A record that says nothing of stock
    /// or state is skipped: a packages file may name a new tag only to give its category.
    private func checkNewTags(_ manifest: Manifest, resolved: Set<Int>, into outcome: inout Outcome) {
        for (index, package) in manifest.packages.enumerated() {
            guard resolved.contains(index), let tag = package.tag, let record = catalog.package(tagged: tag) else { continue }
            guard record.hasStockOrState else {
                outcome.skip(.tagInUse, reason: "the catalog's record names only its item and category, as a packages file does to give a new tag's category: not evidence that the tag is in use",
                             tag: tag, settings: settings)
                continue
            }
            let described = [record.item, Self.stateWords(record), "in the \(recordOrigin.rawValue)"].compactMap { $0 }
            var position = package.position
            position.line = package.tagLine ?? position.line
            outcome.add(finding(
                .tagInUse,
                "Tag \(tag) is already a package of the facility (\(described.joined(separator: ", "))); Metrc answers \"Tag \(tag) is not available.\"",
                fix: "give the new package an unused tag from the facility's tag inventory.",
                evidence: Evidence(field: "Tag", value: tag, line: position.line, origin: recordOrigin),
                at: position), package: index)
        }
    }

    /// A package's state in a word or three, where its record says: `finished since 2025-03-01`,
    /// `archived`, `on hold`, `active`.
    static func stateWords(_ record: Catalog.Package) -> String? {
        if let date = record.archivedDate { return "archived since \(date)" }
        if record.isFinished == true || record.finishedDate != nil {
            return "finished" + (record.finishedDate.map { " since \($0)" } ?? "")
        }
        if record.isOnHold == true { return "on hold" }
        if record.isFinished == false || record.isOnHold == false { return "active" }
        return nil
    }

    // MARK: source-not-in-facility

    /// A source Metrc's catalog lacks, after the daemon has looked its label up: one finding per
    /// ingredient that names it.
    private func reportNotInFacility(_ tag: String, _ taken: [SourceUses.Use], into outcome: inout Outcome) {
        for use in taken {
            outcome.add(finding(
                .sourceNotInFacility,
                "Source \(tag) is not in the facility's Metrc catalog, and Metrc did not find it when asked for its label; Metrc answers \"Package \(tag) does not exist in the current Facility.\"",
                fix: "check the tag: a source must be a package of this facility (a mistyped tag, or a package of another licence, is not).",
                evidence: use.evidence("Package", tag, origin: .metrc), at: use.position), package: use.packageIndex)
        }
    }

    // MARK: source-inactive, source-on-hold, source-lab-failed

    /// The source's state, once for each package that takes from it.
    private func checkState(of record: Catalog.Package, takenBy uses: [SourceUses.Use], into outcome: inout Outcome) {
        let tag = record.tag
        let named = "Source \(tag)" + (record.item.map { " (\($0))" } ?? "")
        let origin = recordOrigin.rawValue
        var findings: [(CheckID, String, String)] = []

        if let date = record.archivedDate {
            findings.append((.sourceInactive, "\(named) is archived since \(date) (ArchivedDate in the \(origin)), and an archived package cannot be a source.",
                             "take the quantity from an active package."))
        } else if Self.isInactive(record) {
            let since = record.finishedDate.map { " since \($0) (FinishedDate in the \(origin))" } ?? " (IsFinished in the \(origin))"
            findings.append((.sourceInactive, "\(named) is finished\(since), and a finished package cannot be a source.",
                             "unfinish \(tag) in Metrc if it was finished by mistake, or take the quantity from an active package."))
        } else if record.isFinished == nil {
            outcome.skip(.sourceInactive, reason: "the catalog does not say whether it is finished (IsFinished)", tag: tag, settings: settings)
        }

        if let onHold = record.isOnHold {
            if onHold {
                findings.append((.sourceOnHold, "\(named) is on hold (IsOnHold in the \(origin)), and a package on hold cannot be a source.",
                                 "take the quantity from another package, or submit once the hold on \(tag) is lifted."))
            }
        } else {
            outcome.skip(.sourceOnHold, reason: "the catalog does not say whether it is on hold (IsOnHold)", tag: tag, settings: settings)
        }

        if let state = record.labTestingState {
            if Self.failedLabStates.contains(state.comparisonKey) {
                findings.append((.sourceLabFailed, "\(named) failed its lab tests (LabTestingState \(state) in the \(origin)).",
                                 "use \(tag) only as your state allows for a package that failed (remediation, extraction); otherwise take the quantity from another package."))
            }
        } else {
            outcome.skip(.sourceLabFailed, reason: "the catalog does not give its lab testing state (LabTestingState)", tag: tag, settings: settings)
        }

        var filed = Set<Int>()
        for use in uses where filed.insert(use.packageIndex).inserted {
            for (check, message, fix) in findings {
                outcome.add(finding(check, message, fix: fix, evidence: use.evidence("Package", tag, origin: recordOrigin),
                                    at: use.position), package: use.packageIndex)
            }
        }
    }

    /// Whether the record says the package is finished or archived.
    /// A finished date under `IsFinished: false` is a package unfinished since: the flag decides.
    static func isInactive(_ record: Catalog.Package) -> Bool {
        record.archivedDate != nil || (record.isFinished ?? (record.finishedDate != nil))
    }

    /// Metrc's `LabTestingState` values of a package that failed (compared trimmed, any case).
    private static let failedLabStates: Set<String> = ["TestFailed".comparisonKey, "RetestFailed".comparisonKey]

    // MARK: ingredient-unit, source-over-used

    /// Each ingredient's unit against the source's, and the sum of what the whole manifest takes
    /// against what the source holds (unless `sum` is false). An ingredient of another quantity type
    /// is an ingredient-unit finding and left out of the sum; a unit that is not Metrc's leaves the
    /// unit check unchecked for the source, and over-use too unless what the other ingredients take
    /// already passes what the source holds (quantities are positive: the rest can only add to it).
    private func checkQuantities(of record: Catalog.Package, takenBy uses: [SourceUses.Use],
                                 resolved: Set<Int>, sum: Bool, into outcome: inout Outcome) {
        let tag = record.tag
        guard let heldUnitName = record.unitOfMeasure else {
            let reason = "the catalog does not give the unit it is counted in (UnitOfMeasureName)"
            outcome.skip(.ingredientUnit, reason: reason, tag: tag, settings: settings)
            outcome.skip(.sourceOverUsed, reason: reason, tag: tag, settings: settings)
            return
        }
        guard let heldUnit = MetrcUnit.named(heldUnitName) else {
            let reason = Self.unknownUnit(heldUnitName)
            outcome.skip(.ingredientUnit, reason: reason, tag: tag, settings: settings)
            outcome.skip(.sourceOverUsed, reason: reason, tag: tag, settings: settings)
            return
        }
        let origin = recordOrigin.rawValue
        var parts: [(use: SourceUses.Use, amount: Double, unit: MetrcUnit.Unit, converted: Double)] = []
        // Ingredients in units Metrc does not use, by the name written: not counted.
        var uncounted: [String] = []
        for use in uses {
            guard let quantity = use.quantity, let unitName = use.unit else { continue }
            guard let unit = MetrcUnit.named(unitName) else {
                outcome.skip(.ingredientUnit, reason: Self.unknownUnit(unitName), tag: tag, settings: settings)
                uncounted.append(unitName.trimmingWhitespace())
                continue
            }
            guard unit.quantityType == heldUnit.quantityType else {
                if resolved.contains(use.packageIndex) {
                    let choices = Self.listed(MetrcUnit.names(of: heldUnit.quantityType), conjunction: "or")
                    outcome.add(finding(
                        .ingredientUnit,
                        "Package \(use.packageName) takes \(Self.quantityText(quantity)) \(unit.name) from \(tag), which is counted in \(heldUnit.name) (\(heldUnit.quantityType.rawValue), \(origin)); Metrc converts a quantity only within its quantity type.",
                        fix: "give the quantity taken from \(tag) in \(choices).",
                        evidence: use.evidence("UnitOfMeasure", unitName, origin: .manifest), at: use.position),
                        package: use.packageIndex)
                }
                continue
            }
            parts.append((use, quantity, unit, unit.convert(quantity, to: heldUnit)))
        }
        guard sum, !parts.isEmpty || !uncounted.isEmpty else { return }
        let skipReason = uncounted.first.map(Self.unknownUnit)
        guard let held = record.quantity else {
            outcome.skip(.sourceOverUsed, reason: skipReason ?? "the catalog does not give what it holds (Quantity)", tag: tag, settings: settings)
            return
        }
        let total = parts.reduce(0) { $0 + $1.converted }
        // The tolerance covers what a conversion rounds; in the source's own unit only the sum's
        // binary rounding is forgiven, so 0.1 Grams over a Grams package is over.
        let converted = parts.reduce(0) { $0 + ($1.unit.name == heldUnit.name ? 0 : $1.converted) }
        guard total > held + converted * MetrcUnit.tolerance + held * Self.summingSlack else {
            if let skipReason { outcome.skip(.sourceOverUsed, reason: skipReason, tag: tag, settings: settings) }
            return
        }

        func amount(_ value: Double) -> String { "\(Self.quantityText(value)) \(heldUnit.name)" }
        // A total that shows as what is held would read as no over-use: more digits then.
        func totalText(_ value: Double) -> String {
            Self.quantityText(value) == Self.quantityText(held) ? Self.quantityText(value, places: 6) : Self.quantityText(value)
        }
        let heldFrom = catalogIsMetrc
            ? "Metrc catalog" + (record.lastModified.map { ", last modified \($0)" } ?? "")
            : "packages file"
        // A few takers by name; each package's own part is in its finding's evidence. Naming every
        // one in every finding made the report grow with the square of the packages.
        var listedParts = parts.prefix(Self.partsNamed).map { part -> String in
            var text = "\(Self.quantityText(part.amount)) \(part.unit.name)"
            if part.unit.name != heldUnit.name { text += " (\(totalText(part.converted)) \(heldUnit.name))" }
            text += " for package \(part.use.packageName)"
            if let line = part.use.position.line { text += " (line \(line))" }
            return text
        }
        if parts.count > Self.partsNamed {
            let rest = parts.dropFirst(Self.partsNamed).reduce(0) { $0 + $1.converted }
            listedParts.append("\(parts.count - Self.partsNamed) more ingredients (\(amount(rest)))")
        }
        var excess = amount(total - held)
        // Said also in the unit the manifest takes it in, when that is one unit: what to change is there.
        let takenUnits = Set(parts.map(\.unit.name))
        if takenUnits.count == 1, let taken = parts.first?.unit, taken.name != heldUnit.name {
            excess += " (\(Self.quantityText(heldUnit.convert(total - held, to: taken))) \(taken.name))"
        }
        let atLeast = uncounted.isEmpty ? "" : "at least "
        var message = "Source \(tag) holds \(amount(held)) (\(heldFrom)); this manifest takes \(atLeast)\(totalText(total)) \(heldUnit.name) from it: \(Self.listed(listedParts, conjunction: "and")), \(atLeast)\(excess) more than it holds"
        if !uncounted.isEmpty {
            let distinct = Array(Set(uncounted)).sorted()
            let names = Self.listed(distinct.prefix(3).map(FieldSyntax.quoted)
                                    + (distinct.count > 3 ? ["\(distinct.count - 3) more"] : []), conjunction: "and")
            let noun = uncounted.count == 1 ? "ingredient" : "ingredients"
            message += " (\(uncounted.count) \(noun) in a unit Metrc does not use (\(names)) not counted)"
        }
        message += "."
        let fix = "take \(excess) less from \(tag), or take the rest from another package."
        var filed = Set<Int>()
        for part in parts where resolved.contains(part.use.packageIndex) && filed.insert(part.use.packageIndex).inserted {
            outcome.add(finding(.sourceOverUsed, message, fix: fix,
                                evidence: part.use.evidence("Quantity", "\(Self.quantityText(part.amount)) \(part.unit.name)", origin: .manifest),
                                at: part.use.position), package: part.use.packageIndex)
        }
    }

    /// How many of the ingredients that take from one over-used source its message names.
    static let partsNamed = 10
    /// The relative error a sum of many quantities may gather in binary (three times 453.6 is a
    /// hair more than 1360.8): far below any amount Metrc records.
    static let summingSlack = 1e-9

    /// The reason a unit check is skipped for a unit name Metrc does not use.
    static func unknownUnit(_ name: String) -> String {
        "unit \(FieldSyntax.quoted(name.trimmingWhitespace())) is not one of Metrc's unit names (\(listed(MetrcUnit.all.map(\.name), conjunction: "or")))"
    }

    /// `a`, `a or b`, `a, b or c`.
    static func listed(_ words: [String], conjunction: String) -> String {
        guard words.count > 1 else { return words.first ?? "" }
        return words.dropLast().joined(separator: ", ") + " \(conjunction) " + words.last!
    }
}

/// Every ingredient of a manifest that names a source tag, grouped by the tag in order of first use.
struct SourceUses {
    /// One ingredient: which package takes how much of what from the source.
    struct Use {
        var packageIndex: Int
        /// The new package's tag, or `package N` when it has none.
        var packageName: String
        var position: SourcePosition
        var quantity: Double?
        var unit: String?

        /// Evidence naming one of the ingredient's fields as Metrc's JSON does.
        func evidence(_ field: String, _ value: String, origin: Evidence.Origin) -> Evidence {
            Evidence(field: "Ingredients[\(position.ingredientIndex ?? 0)].\(field)", value: value,
                     line: position.line, origin: origin)
        }
    }

    /// Source tags, each once, in order of first use.
    private(set) var tags: [String] = []
    private(set) var byTag: [String: [Use]] = [:]

    init(_ manifest: Manifest) {
        for (index, package) in manifest.packages.enumerated() {
            for (offset, ingredient) in package.ingredients.enumerated() {
                guard let tag = ingredient.package else { continue }
                var position = ingredient.position
                position.ingredientIndex = position.ingredientIndex ?? offset
                let use = Use(packageIndex: index, packageName: package.tag ?? "\(index)", position: position,
                              quantity: ingredient.quantity, unit: ingredient.unitOfMeasure)
                if byTag[tag] == nil { tags.append(tag) }
                byTag[tag, default: []].append(use)
            }
        }
    }
}
