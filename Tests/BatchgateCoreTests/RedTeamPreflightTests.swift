import Testing
@testable import BatchgateCore

/// The pre-flight checks attacked as a hostile user and as an honest compliance manager would:
/// over-use that a tolerance, an unknown unit or a lowered level let through, the size and time
/// of a report on a manifest at the package cap, and quantities at the edge of a Double. Each
/// test here failed before the fix it names.
@Suite("Pre-flight, red team")
struct RedTeamPreflightTests {
    typealias Take = SourceCheckTests.Take
    static let source = SourceCheckTests.source
    static let newTag = SourceCheckTests.newTag

    /// `count` packages, each taking `quantity` Grams of source 501 (1360.8 Grams).
    static func takers(_ count: Int, _ quantity: Double) -> String {
        SourceCheckTests.manifest((1...count).map { (Self.newTag($0), [Take(source: Self.source(501), quantity: quantity)]) })
    }

    // MARK: source-over-used

    /// The tolerance is for conversions between units: taken in the unit the source is counted
    /// in, 0.1 Grams over is over, while 16 Ounces still hold 453.6 Grams.
    @Test func overUseInTheSourcesOwnUnitGetsNoConversionTolerance() throws {
        let over = SourceCheckTests.one(Take(source: Self.source(501), quantity: 1360.9))
        #expect(over.decision == .rejected, "\(over.text)")
        let finding = try #require(over.packages.first?.checks.first)
        #expect(finding.check == .sourceOverUsed)
        #expect(finding.message.contains("0.1 Grams more than it holds"), "\(finding.message)")
        #expect(SourceCheckTests.one(Take(source: Self.source(501), quantity: 1360.8)).decision == .accepted)
        #expect(SourceCheckTests.one(Take(source: Self.source(511), quantity: 453.6)).decision == .accepted)
        // Three thirds add up to a hair over the whole in binary: the sum's own rounding is no over-use.
        let thirds = SourceCheckTests.check(Self.takers(3, 453.6))
        #expect(thirds.decision == .accepted, "\(thirds.text)")
    }

    /// An ingredient in a unit Metrc does not use cannot be counted, but what the others take is
    /// already more than the source holds: Metrc refuses that whatever "gm" is.
    @Test func overUseThatTheKnownUnitsProveIsNotSkippedForAnUnknownOne() throws {
        let json = SourceCheckTests.manifest([(Self.newTag(1), [Take(source: Self.source(501), quantity: 2000),
                                                                Take(source: Self.source(501), quantity: 1, unit: "gm")])])
        let report = SourceCheckTests.check(json)
        #expect(report.decision == .rejected, "\(report.text)")
        let finding = try #require(report.packages.first?.checks.first { $0.check == .sourceOverUsed }, "\(report.text)")
        #expect(finding.message.contains("takes at least 2000 Grams from it"), "\(finding.message)")
        #expect(finding.message.contains("1 ingredient in a unit Metrc does not use (\"gm\") not counted"), "\(finding.message)")
        #expect(finding.fix.contains("take 639.2 Grams less"), "\(finding.fix)")
        // The unit is still not checked, and said so; over-use no longer is, since it was.
        #expect(SourceCheckTests.skipped(report, .ingredientUnit)?.tags == [Self.source(501)])
        #expect(SourceCheckTests.skipped(report, .sourceOverUsed) == nil)
        // Within what the source holds, the unknown part could still tip it over: not guessed.
        let within = SourceCheckTests.check(SourceCheckTests.manifest(
            [(Self.newTag(1), [Take(source: Self.source(501), quantity: 1000), Take(source: Self.source(501), quantity: 1, unit: "gm")])]))
        #expect(within.decision == .accepted)
        #expect(SourceCheckTests.skipped(within, .sourceOverUsed)?.tags == [Self.source(501)])
    }

    /// A facility that lowers source-inactive to a warning still wants Metrc's refusal of taking
    /// 5 Grams from an empty package: only an inactive *error* makes over-use redundant.
    @Test func anEmptyFinishedSourceAtWarningIsStillOverUsed() {
        let report = SourceCheckTests.one(Take(source: Self.source(541), quantity: 5), levels: [.sourceInactive: .warning])
        #expect(report.decision == .rejected, "\(report.text)")
        #expect(report.packages.first?.checks.map(\.check) == [.sourceInactive, .sourceOverUsed])
        #expect(report.packages.first?.checks.map(\.severity) == [.warning, .error])
    }

    /// Quantities near Double's largest: the conversion must not overflow to infinity and call a
    /// source that holds exactly what is taken over-used.
    @Test func aHugeQuantityInTheSourcesUnitIsNotOverflowedIntoOverUse() {
        let record = SourceCheckTests.active(512, 1e308, "Pounds")
        let catalog = Catalog(items: [.init(name: "Blue Dream Buds", category: "Buds", quantityType: .weightBased)],
                              packages: [record])
        let json = SourceCheckTests.manifest([(Self.newTag(1), [Take(source: Self.source(512), quantity: 1e308, unit: "Pounds")])])
        let report = SourceCheckTests.check(json, catalog: catalog)
        #expect(report.decision == .accepted, "\(report.text)")
        #expect(MetrcUnit.convert(1e308, from: "Pounds", to: "Pounds") == 1e308)
        #expect(MetrcUnit.convert(1e308, from: "Pounds", to: "Ounces")?.isFinite == false)
    }

    /// 33.82 Fluid Ounces are 1.000177 Liters: the message must not say the source holds 1 Liters
    /// and the manifest takes 1 Liters from it.
    @Test func aTotalThatRoundsToWhatIsHeldShowsTheDigitsThatDiffer() throws {
        let report = SourceCheckTests.one(Take(source: Self.source(521), quantity: 33.82, unit: "Fluid Ounces"),
                                          item: "Blue Dream Tincture", unit: "Milliliters")
        let finding = try #require(report.packages.first?.checks.first, "\(report.text)")
        #expect(finding.check == .sourceOverUsed)
        #expect(finding.message.contains("holds 1 Liters (packages file); this manifest takes 1.000177 Liters from it"), "\(finding.message)")
        #expect(finding.message.contains("33.82 Fluid Ounces (1.000177 Liters)"), "\(finding.message)")
    }

    /// A source taken by very many packages: each package's finding names the total and a few of
    /// the takers, not all of them (a report of 10,000 such packages made 5.5 GB of text and took
    /// 16 GB before), and the issue that rejects each package is as short.
    @Test func aSourceTakenByManyPackagesMakesFindingsOfBoundedSize() throws {
        // 999: the most tags SourceCheckTests.newTag makes.
        let report = SourceCheckTests.check(Self.takers(999, 2))
        #expect(report.decision == .rejected)
        let findings = report.packages.flatMap(\.checks)
        #expect(findings.count == 999)
        let finding = try #require(findings.first)
        #expect(finding.message.contains("this manifest takes 1998 Grams from it: 2 Grams for package \(Self.newTag(1)) (line 3)"), "\(finding.message)")
        #expect(finding.message.contains("and 989 more ingredients (1978 Grams), 637.2 Grams more than it holds"), "\(finding.message)")
        #expect(findings.allSatisfy { $0.message.utf8.count < 2_000 })
        #expect(report.errors.allSatisfy { $0.message.utf8.count < 2_500 })
        // Each package's own part is in its evidence.
        #expect(findings.last?.evidence == Evidence(field: "Ingredients[0].Quantity", value: "2 Grams", line: 3 * 999))
    }

    // MARK: batch-number-reused

    /// One batch number on the packages of a file at the package cap, of two items: each package
    /// names the first three of the other item, in file order, and counts the rest. Comparing
    /// every package with every other took minutes (10,000 of one number, one item: over 5
    /// minutes in a debug build); it is one pass now. The bound is loose on purpose: a loaded
    /// machine is slower, never a hundred times.
    @Test func oneNumberOnThePackagesOfAFileAtTheCapIsComparedInOnePass() throws {
        let count = ManifestLimits.maximumPackages
        var lines: [String] = []
        for number in 1...count {
            // Every 1000th package is of another item; the rest are one batch of one item.
            let item = number % 1_000 == 0 ? "Gelato Buds" : "Blue Dream Buds"
            lines.append("{\"Tag\": \"\(tag(number))\", \"Item\": \"\(item)\", \"ItemCategory\": \"Buds\", \"Quantity\": 1, \"UnitOfMeasure\": \"Grams\", \"ProductionBatchNumber\": \"PB-7\", \"IsProductionBatch\": true, \"Ingredients\": [{\"Package\": \"\(tag(20_000))\", \"Quantity\": 1, \"UnitOfMeasure\": \"Grams\", \"Item\": \"Blue Dream Buds\", \"ItemCategory\": \"Buds\"}]}")
        }
        let text = "[" + lines.joined(separator: ",\n") + "]"
        let clock = ContinuousClock()
        var report: ManifestReport?
        let elapsed = clock.measure {
            report = RequestCheckTests.report(text, name: "m.json", levels: [.tooManyPackages: .off])
        }
        let checked = try #require(report)
        #expect(elapsed < .seconds(120), "\(elapsed)")
        let first = try #require(RequestCheckTests.findings(.batchNumberReused, checked, tag(1)).first)
        #expect(first.message.contains("is also on package \(tag(1_000)) of item \"Gelato Buds\" (this manifest, line 1000), package \(tag(2_000)) of item \"Gelato Buds\" (this manifest, line 2000), package \(tag(3_000))"), "\(first.message)")
        #expect(first.message.contains("and 7 more"), "\(first.message)")
        let other = try #require(RequestCheckTests.findings(.batchNumberReused, checked, tag(1_000)).first)
        #expect(other.message.contains("is also on package \(tag(1)) of item \"Blue Dream Buds\" (this manifest, line 1), package \(tag(2)) of item \"Blue Dream Buds\" (this manifest, line 2), package \(tag(3)) "), "\(other.message)")
        #expect(other.message.contains("and 9987 more"), "\(other.message)")
        #expect(checked.packages.allSatisfy { !$0.checks.filter { $0.check == .batchNumberReused }.isEmpty })
    }

    /// The first three packages of another item are found even when the item of the package
    /// being checked and packages of unknown items come first.
    @Test func theClashesNamedAreTheFirstThreeOfAnotherItemInOrder() throws {
        let catalog = Catalog(packages: [
            Catalog.Package(tag: tag(500), item: nil, category: "Buds", productionBatchNumber: "PB-7"),
            Catalog.Package(tag: tag(501), item: "Gelato Buds", category: "Buds", productionBatchNumber: "PB-7"),
        ])
        typealias Request = RequestCheckTests.Request
        let report = RequestCheckTests.report([
            Request(tag: tag(1), batchNumber: "PB-7"), Request(tag: tag(2), batchNumber: "PB-7"),
            Request(tag: tag(3), item: "Blue Dream Tincture", category: "Tincture", unit: "Milliliters", batchNumber: "PB-7"),
            Request(tag: tag(4), batchNumber: "PB-7"),
            Request(tag: tag(5), item: "Gelato Buds", batchNumber: "pb-7"),
            Request(tag: tag(6), item: "Gelato Buds", batchNumber: "PB-7"),
        ], catalog: catalog)
        let first = try #require(RequestCheckTests.findings(.batchNumberReused, report, tag(1)).first)
        #expect(first.message.contains("is also on package \(tag(3)) of item \"Blue Dream Tincture\" (this manifest, line 3), package \(tag(5)) of item \"Gelato Buds\" (this manifest, line 5), package \(tag(6)) of item \"Gelato Buds\" (this manifest, line 6) and 1 more;"), "\(first.message)")
        let gelato = try #require(RequestCheckTests.findings(.batchNumberReused, report, tag(5)).first)
        #expect(gelato.message.contains("is also on package \(tag(1)) of item \"Blue Dream Buds\" (this manifest, line 1), package \(tag(2)) of item \"Blue Dream Buds\" (this manifest, line 2), package \(tag(3)) of item \"Blue Dream Tincture\" (this manifest, line 3) and 1 more;"), "\(gelato.message)")
        #expect(gelato.evidence.origin == .manifest)
    }

    // MARK: Reports

    /// too-many-packages set to error: the text report shows it once, with its fix, after one
    /// blank line (its issue, left out of the file's errors above it, left two).
    @Test func aManifestLevelCheckErrorLeavesNoEmptyErrorBlock() {
        let report = RequestCheckTests.report((1...11).map { RequestCheckTests.Request(tag: tag($0)) },
                                              levels: [.tooManyPackages: .error])
        #expect(report.decision == .rejected)
        #expect(!report.text.contains("\n\n\n"), "\(report.text)")
        #expect(report.text.components(separatedBy: "[too-many-packages]").count == 2, "\(report.text)")
    }

    // MARK: Skips

    /// A check skipped for very many tags: each tag is recorded once, in a pass over them, not by
    /// searching every tag recorded so far (50,000 sources took minutes). Loose bound, as above.
    @Test func skippingACheckForManyTagsIsOnePass() {
        var outcome = PreflightChecker.Outcome()
        let settings = CheckSettings()
        let tags = (1...50_000).map { tag($0) }
        let elapsed = ContinuousClock().measure {
            for tag in tags + tags {
                outcome.skip(.dateBeforeSource, reason: "the source package is not in the packages catalog", tag: tag, settings: settings)
            }
        }
        #expect(elapsed < .seconds(60), "\(elapsed)")
        #expect(outcome.skipped.count == 1)
        #expect(outcome.skipped.first?.tags == tags)
    }
}
