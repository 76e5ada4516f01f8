/// Turns the bytes of a manifest file into a report: size cap, format, text check, reading,
/// categories, rules, decision. Pure: the caller reads the file and supplies the catalog.
public struct ManifestChecker: Sendable {
    /// Categories for items and packages the manifests do not describe.
    public var catalog: Catalog
    /// The rules, with the facility's settings.
    public var engine: RulesEngine
    /// Files larger than this many bytes are rejected unread.
    public var maximumSize: Int
    /// Whether the catalog is the facility's Metrc catalog, so a source package it lacks is one
    /// Metrc does not have (and refuses) rather than one a file left out.
    public var sourcesMustBeKnown = false
    /// Whether the catalog holds Metrc's own records, as a cache read offline does, although a
    /// source it lacks was not looked up: reports name Metrc's catalog as their origin, and
    /// `source-not-in-facility` is skipped rather than guessed. Implied by ``sourcesMustBeKnown``.
    public var catalogIsMetrc = false
    /// Today as `YYYY-MM-DD`, the latest date anywhere on Earth, for `date-future`; nil skips that
    /// check (the core reads no clock: the caller sets it each batch).
    public var today: String?

    public init(catalog: Catalog = Catalog(), settings: RuleSettings = RuleSettings(),
                maximumSize: Int = TextInput.defaultMaximumSize) {
        self.catalog = catalog
        self.engine = RulesEngine(settings: settings)
        self.maximumSize = maximumSize
    }

    /// Checks one file's bytes; `fileName` picks the format by extension and names the report.
    /// `fileSize` is the whole file's size when the caller read only its first `maximumSize + 1`
    /// bytes (so an oversized file is named with its real size).
    public func check(fileName: String, bytes: [UInt8], fileSize: Int? = nil) -> ManifestReport {
        if bytes.count > maximumSize {
            let size = max(fileSize ?? bytes.count, bytes.count)
            return rejected(fileName, nil, ManifestIssue(message: TextInput.Problem.tooLarge(size: size, limit: maximumSize).description))
        }
        let format: ManifestFormat
        do {
            format = try ManifestFormat.detect(fileName: fileName, bytes: bytes[...])
        } catch {
            return rejected(fileName, nil, ManifestIssue(message: error.description))
        }
        let text: ArraySlice<UInt8>
        do {
            text = try TextInput.validate(bytes, maximumSize: maximumSize)
        } catch {
            return rejected(fileName, format, ManifestIssue(message: error.description, line: error.line))
        }
        let reading = format == .json ? JSONManifestReader.read(text) : CSVManifestReader.read(text)
        return evaluate(reading, file: fileName)
    }

    /// The most packages one file may hold: a larger one is rejected with one error instead of a
    /// report that lists each (a file of 300,000 empty objects made a 400 MB report). The readers
    /// check it before building packages; this check covers a reading built elsewhere.
    public static let maximumPackages = ManifestLimits.maximumPackages
    /// The most errors a report lists; the rest are counted in a last one.
    public static let maximumListedErrors = 1_000

    /// Evaluates a manifest already read.
    public func evaluate(_ reading: ManifestReading, file: String) -> ManifestReport {
        let manifest = reading.manifest
        if manifest.packages.count > Self.maximumPackages {
            return ManifestReport(
                file: file, format: manifest.format, decision: .rejected, packages: [],
                errors: [ManifestLimits.tooManyPackages(manifest.packages.count)],
                licenseNumber: manifest.licenseNumber, facility: manifest.facility, source: manifest.source)
        }
        var issues = reading.issues
        var report = ManifestReport(file: file, format: manifest.format, decision: .accepted, packages: [], errors: [],
                                    licenseNumber: manifest.licenseNumber, facility: manifest.facility,
                                    source: manifest.source)
        if manifest.packages.isEmpty && issues.isEmpty {
            issues.append(ManifestIssue(message: "the manifest holds no package"))
        }
        issues += tagConflicts(in: manifest)

        var resolver = CategoryResolver(manifest: manifest, catalog: catalog)
        resolver.sourcesMustBeKnown = sourcesMustBeKnown
        let issuesByPackage = Dictionary(grouping: issues.filter { $0.packageIndex != nil }, by: { $0.packageIndex! })
        // In the order of the packages, which is that of their indexes: the pre-flight checks read
        // them in that order, and a list costs less than a dictionary to fill and to read.
        var resolvedPackages: [(index: Int, package: ResolvedPackage)] = []
        resolvedPackages.reserveCapacity(manifest.packages.count)
        // Each verdict is filled in place in the report: one built aside and then appended was
        // copied whole, with all its strings, twice per package.
        report.packages.reserveCapacity(manifest.packages.count)
        for package in manifest.packages {
            let own = issuesByPackage.isEmpty ? [] : issuesByPackage[package.position.packageIndex] ?? []
            report.packages.append(PackageVerdict(
                tag: package.tag, item: package.item, category: package.itemCategory,
                isMarked: package.isMarked, productionBatchNumber: package.productionBatchNumber,
                status: .invalid, errors: own.map(\.message), location: package.location, note: package.note,
                position: package.position))
            let slot = report.packages.count - 1
            guard own.isEmpty, let tag = package.tag else { continue }
            switch resolver.resolve(package, tag: tag, format: manifest.format) {
            case .failure(let failure):
                issues += failure.issues
                report.catalogMisses.formUnion(failure.misses)
                report.packages[slot].errors = failure.issues.map(\.message)
            case .success(let resolved):
                if sourcesMustBeKnown {
                    report.catalogMisses.formUnion(CatalogMisses(packages: resolver.unknownSources(of: package)))
                }
                report.packages[slot].item = resolved.item
                report.packages[slot].category = resolved.category
                judge(&report.packages[slot], package, engine.evaluate(resolved))
                resolvedPackages.append((package.position.packageIndex, resolved))
            }
        }
        issues += applyPreflight(to: &report, manifest: manifest, resolved: resolvedPackages)

        report.errors = issues.count > Self.maximumListedErrors
            ? Array(issues.prefix(Self.maximumListedErrors))
                + [ManifestIssue(message: "… and \(issues.count - Self.maximumListedErrors) more errors, not listed: fix the first ones and check the file again")]
            : issues
        // Each verdict's status read in place: `contains(where:)` copies every verdict it passes.
        if !issues.isEmpty || report.packages.indices.contains(where: { report.packages[$0].status == .invalid }) {
            report.decision = .rejected
        } else if report.packages.indices.contains(where: { report.packages[$0].status == .needsBatch }) {
            report.decision = .needsBatch
        }
        return report
    }

    /// Runs the pre-flight checks and files what they found: a warning beside the package's
    /// verdict, an error also as an issue that makes the package invalid (Metrc would refuse it).
    private func applyPreflight(to report: inout ManifestReport, manifest: Manifest,
                                resolved: [(index: Int, package: ResolvedPackage)]) -> [ManifestIssue] {
        var preflight = PreflightChecker(catalog: catalog, settings: engine.settings.checks, today: today,
                                         catalogIsMetrc: catalogIsMetrc || sourcesMustBeKnown)
        preflight.sourcesWereLookedUp = sourcesMustBeKnown
        let batchRequired = Set(report.packages.indices.compactMap { index in
            report.packages[index].productionBatchRequired ? report.packages[index].position.packageIndex : nil
        })
        let outcome = preflight.run(manifest, resolved: resolved, batchRequired: batchRequired)
        var issues: [ManifestIssue] = []
        for index in report.packages.indices {
            guard let found = outcome.packages[index], !found.isEmpty else { continue }
            report.packages[index].checks = found
            for finding in found where finding.severity == .error {
                report.packages[index].status = .invalid
                issues.append(finding.issue(format: manifest.format, tag: report.packages[index].tag))
            }
        }
        report.checks = outcome.manifest
        issues += outcome.manifest.filter { $0.severity == .error }.map { $0.issue(format: manifest.format, tag: nil) }
        report.skipped = outcome.skipped
        return issues
    }

    /// Sets status, warnings and fix from the rules that apply and how the request marks the batch.
    private func judge(_ verdict: inout PackageVerdict, _ request: PackageRequest, _ outcome: RuleOutcome) {
        verdict.findings = outcome.findings
        verdict.warnings = outcome.warnings
        verdict.productionBatchRequired = !outcome.findings.isEmpty
        verdict.status = .ok
        let number = request.productionBatchNumber?.trimmingWhitespace() ?? ""
        let tag = verdict.tag ?? ""
        // A number Metrc will not use: the request says in so many words that it is no batch.
        let unmarkedNumber = request.isProductionBatch == false && !number.isEmpty
        if request.isMarked && number.isEmpty {
            // Metrc refuses a production batch without a number, required or not.
            verdict.status = .needsBatch
            verdict.warnings.append(PackageWarning(
                message: "Production Batch is ticked but the batch number is blank, which Metrc refuses.",
                evidence: Evidence(field: "ProductionBatchNumber", value: request.productionBatchNumber ?? "",
                                   line: request.position.line)))
            verdict.fix = verdict.productionBatchRequired
                ? "Production Batch is ticked for package \(tag) but its batch number is blank: give a production batch number (ProductionBatchNumber)."
                : "Production Batch is ticked for package \(tag) but its batch number is blank, which Metrc refuses. No rule requires a batch here, so untick Production Batch (or give a batch number if this really is a new production batch)."
        } else if verdict.productionBatchRequired && !request.isMarked {
            verdict.status = .needsBatch
            verdict.fix = unmarkedNumber
                ? "package \(tag) gives batch number \(number) but IsProductionBatch is false, so Metrc will not mark it: set IsProductionBatch to true (tick Production Batch)."
                : String(writing: { fix in
                    fix.append("tick Production Batch (IsProductionBatch) for package ")
                    fix.append(tag)
                    fix.append(" and give it a production batch number (ProductionBatchNumber).")
                })
        } else if verdict.productionBatchRequired {
            // Written, not concatenated: a variadic list of parts is an array allocated per package.
            verdict.notes.append(String(writing: { note in
                note.append("Marked as production batch ")
                note.append(number)
                note.append(", as required.")
            }))
        } else if request.isMarked {
            verdict.warnings.append(PackageWarning(
                message: request.isProductionBatch == nil
                    ? "Batch number \(FieldSyntax.quoted(number)) marks package \(tag) as a production batch, but no rule requires one. In Metrc the new package's lab testing starts over and earlier test results can be lost; leave the number empty unless this really is a new production batch."
                    : "Production Batch is ticked but no rule requires it. In Metrc the new package's lab testing starts over and earlier test results can be lost; untick it unless this really is a new production batch.",
                evidence: Evidence(field: request.isProductionBatch == nil ? "ProductionBatchNumber" : "IsProductionBatch",
                                   value: request.isProductionBatch == nil ? number : "true", line: request.position.line)))
        }
        // A number with the indicator off where no rule requires a batch is the pre-flight check
        // batch-number-unmarked's (a warning a facility may turn off), not a warning of the rules.
    }

    /// Two packages with one tag, or a package made from itself.
    private func tagConflicts(in manifest: Manifest) -> [ManifestIssue] {
        var issues: [ManifestIssue] = []
        // Where each tag is first used: a position, not a copy of the package, which would copy
        // every field of it.
        var firstUse: [String: Int] = [:]
        // A manifest of a few packages is searched instead: hashing every tag cost more than
        // comparing it with the few before it.
        let searched = manifest.packages.count <= 16
        if !searched { firstUse.reserveCapacity(manifest.packages.count) }
        // Packages and ingredients read in place, by position: a copy of either retains each of
        // its fields.
        let packages = manifest.packages
        // The tags taken out once: the search below compares each with those before it, first by
        // its ``Swift/String/lastEightBytes`` (tags of one manifest are mostly numbered in
        // sequence, and differ there), then as strings where those agree.
        let tags = packages.map(\.tag)
        let ends = searched ? tags.map { $0?.lastEightBytes ?? 0 } : []
        for index in packages.indices {
            guard let tag = tags[index] else { continue }
            let earlierUse = searched ? tags.indices[..<index].first { ends[$0] == ends[index] && tags[$0] == tag } : firstUse[tag]
            if let earlierIndex = earlierUse {
                let earlier = packages[earlierIndex]
                let earlierLine = earlier.tagLine ?? earlier.position.line
                let earlierPlace = "package \(earlier.position.packageIndex)" + (earlierLine.map { " (line \($0))" } ?? "")
                var at = packages[index].position
                at.line = packages[index].tagLine ?? at.line
                issues.append(.field("Tag", "\(tag) is also the tag of \(earlierPlace); every new package needs its own tag",
                                     at: at, format: manifest.format, tag: tag))
            } else if !searched {
                firstUse[tag] = index
            }
            let ingredients = packages[index].ingredients
            for ingredient in ingredients.indices where ingredients[ingredient].package == tag {
                issues.append(.field("Package", "is \(tag), the new package's own tag; a package cannot be made from itself",
                                     at: ingredients[ingredient].position, format: manifest.format, tag: tag))
            }
        }
        return issues
    }

    /// A report for a file that could not be read at all.
    private func rejected(_ file: String, _ format: ManifestFormat?, _ issue: ManifestIssue) -> ManifestReport {
        ManifestReport(file: file, format: format, decision: .rejected, packages: [], errors: [issue])
    }
}
