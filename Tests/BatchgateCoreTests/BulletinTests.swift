import Foundation
import Testing
@testable import BatchgateCore

/// West Virginia's bulletin WV IB 0032 ("Production Batch Best Practices"), example by example,
/// in the shapes facilities really send: Metrc's create-package JSON body (item names, source tags
/// and a note; no category, additive or processing step) and the Track & Trace Tools CSV template
/// (no indicator column: a batch number means marked), read against a catalog as Metrc's API
/// returns it (`Fixtures/bulletin/items.json`, `packages.json`). Then the repackaging that must
/// stay clear of every rule, the warnings, and the rule settings.
///
/// docs/rules.md maps each sentence of the bulletin to these fixtures.
@Suite("Bulletin")
struct BulletinTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/bulletin")

    // MARK: The table's vocabulary

    /// A rule expected on a package, with the evidence that should decide it.
    struct Finding: Sendable, Equatable, CustomStringConvertible {
        var rule: RuleID
        var field: String
        var value: String
        var source: Evidence.Origin

        var description: String { "\(rule.rawValue) <- \(field) \"\(value)\" (\(source.rawValue))" }
    }

    /// The evidence a warning should name.
    struct Warned: Sendable, Equatable, CustomStringConvertible {
        var field: String
        var value: String

        var description: String { "\(field) \"\(value)\"" }
    }

    /// What one package should come out as.
    struct Package: Sendable {
        var tag: String
        var status: PackageStatus
        var findings: [Finding] = []
        var warnings: [Warned] = []
        /// The pre-flight checks that fail for the package, each with the evidence it names.
        var checks: [Checked] = []
    }

    /// A pre-flight check expected to fail, with the evidence it should name.
    struct Checked: Sendable, Equatable, CustomStringConvertible {
        var check: CheckID
        var field: String
        var value: String

        var description: String { "\(check.rawValue) <- \(field) \"\(value)\"" }
    }

    /// One fixture file, read with the catalog and settings given, and its expected outcome.
    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var items = "items.json"
        var packagesFile = "packages.json"
        var settings = RuleSettings()
        /// How the settings differ from the defaults, for the test's name.
        var settingsName: String?
        var decision: Decision
        var packages: [Package]

        var testDescription: String {
            file + (settingsName.map { " with \($0)" } ?? "")
        }
    }

    /// A new package's tag in the fixtures (the sources are `1A40A01…`).
    static func tag(_ number: Int) -> String {
        "1A40A03000000290" + String(format: "%08d", number)
    }

    /// An ingredient's category differs from the package's: the evidence is the ingredient's
    /// category, which a real request leaves to the catalog (its item from the packages file, the
    /// item's category from the items file).
    static func categoryChange(_ ingredient: Int, _ category: String) -> Finding {
        Finding(rule: .categoryChange, field: "Ingredients[\(ingredient)].ItemCategory", value: category, source: .itemsFile)
    }

    /// The ingredients span categories: the evidence is the first ingredient of the second category.
    static func multipleCategories(_ ingredient: Int, _ category: String) -> Finding {
        Finding(rule: .multipleCategories, field: "Ingredients[\(ingredient)].ItemCategory", value: category, source: .itemsFile)
    }

    /// Form change (b): the package's category is another product form than an ingredient's.
    static func formChangeByCategory(_ category: String) -> Finding {
        Finding(rule: .formChange, field: "ItemCategory", value: category, source: .itemsFile)
    }

    /// Form change (c) (the whole item name: a concentrate of a new item) or (d) (the words of the
    /// item name that state a form nothing else has).
    static func formChangeByItem(_ value: String) -> Finding {
        Finding(rule: .formChange, field: "Item", value: value, source: .manifest)
    }

    /// An additive word in the note or the item name.
    static func additive(_ field: String, _ word: String) -> Finding {
        Finding(rule: .additive, field: field, value: word, source: .manifest)
    }

    /// A bulletin example: the request unmarked (needs-batch) and marked (accepted: the same rules
    /// apply, and the batch is marked as they require), each as Metrc's JSON body (marked:
    /// `IsProductionBatch` true and a number) and as the Track & Trace Tools CSV (marked: a number).
    static func example(_ stem: String, _ packages: (tag: Int, findings: [Finding])...) -> [Case] {
        ["json", "csv"].flatMap { format in
            [
                Case(file: "\(stem).\(format)", decision: .needsBatch,
                     packages: packages.map { Package(tag: tag($0.tag), status: .needsBatch, findings: $0.findings) }),
                Case(file: "\(stem)-marked.\(format)", decision: .accepted,
                     packages: packages.map { Package(tag: tag($0.tag), status: .ok, findings: $0.findings) }),
            ]
        }
    }

    /// Plain repackaging: accepted, every package `ok` with no rule and no warning.
    static func guardCase(_ file: String, _ tags: Int...) -> Case {
        Case(file: file, decision: .accepted, packages: tags.map { Package(tag: tag($0), status: .ok) })
    }

    // MARK: The bulletin's examples

    static let bulletinExamples: [Case] = [
        // "bud/flower or shake/trim processed into a concentrate or extract"
        example("flower-to-concentrate", (4101, [categoryChange(0, "Buds"), formChangeByCategory("Concentrate")])),
        example("trim-to-concentrate", (4111, [categoryChange(0, "Shake/Trim"), formChangeByCategory("Concentrate")])),

        // "bulk concentrate or extract packaged or processed into a vape cartridge or other
        // concentrate/extract": carts filed under Concentrate (the item changes) and under Vape
        // Cart (the category changes too); crude into distillate; bulk live resin into 1 g jars.
        example("concentrate-to-cartridge-concentrate-category",
                (4121, [formChangeByItem("Blue Dream Distillate 1g Cartridge")])),
        example("concentrate-to-vape-cart",
                (4131, [categoryChange(0, "Concentrate"), formChangeByItem("Blue Dream 0.5g Vape Cart")])),
        example("crude-to-distillate", (4141, [formChangeByItem("Blue Dream Distillate")])),
        example("live-resin-into-jars", (4151, [formChangeByItem("Gelato Live Resin 1g")])),

        // "non-cannabis ingredients added to an existing cannabis product": terpenes and MCT oil
        // stated only in the note (the item kept), and a flavored item name.
        example("additive-in-note", (4161, [additive("Note", "terpenes")]), (4162, [additive("Note", "MCT")])),
        example("flavored-item",
                (4171, [additive("Item", "Flavored"), formChangeByItem("Strawberry Flavored Distillate")])),

        // "concentrate or extract added into an infused edible or infused non-edible"
        example("concentrate-to-edible", (4181, [categoryChange(0, "Concentrate"), formChangeByCategory("Infused Edible")])),
        example("concentrate-to-non-edible",
                (4191, [categoryChange(0, "Concentrate"), formChangeByCategory("Infused Non-Edible")])),

        // "raw pre-rolls created from bud/flower or shake/trim": under a pre-roll category; from
        // trim under Michigan's "Shake/Trim (prepackaged)" (a plant-material category, so only the
        // item name says pre-roll); and under the flower category of its source (the item name alone).
        example("preroll-from-flower", (4201, [categoryChange(0, "Buds"), formChangeByCategory("Pre-Roll Flower")])),
        example("preroll-from-trim", (4211, [categoryChange(0, "Shake/Trim"), formChangeByItem("Pre-Roll")])),
        example("preroll-under-flower-category", (4221, [formChangeByItem("Pre-Roll")])),

        // "infused pre-rolls created from bud/flower or shake/trim and concentrate/extract"
        example("infused-preroll", (4231, [categoryChange(0, "Buds"), multipleCategories(1, "Concentrate"),
                                           formChangeByCategory("Infused Pre-Roll")])),
    ].flatMap { $0 }

    static let bulletinVariants: [Case] = [
        // A number beside IsProductionBatch false: Metrc will not mark it, so still needs-batch.
        Case(file: "flower-to-concentrate-number-false.json", decision: .needsBatch,
             packages: [Package(tag: tag(4101), status: .needsBatch,
                                findings: [categoryChange(0, "Buds"), formChangeByCategory("Concentrate")])]),
    ] + ["json", "csv"].map { format in
        // A raw pre-roll its item calls a joint, filed under the flower category of its source:
        // form-change (4) in docs/rules.md, an item name that names a product form.
        Case(file: "preroll-named-joint.\(format)", decision: .needsBatch,
             packages: [Package(tag: tag(4226), status: .needsBatch, findings: [formChangeByItem("Joint")])])
    }

    // MARK: Repackaging that stays clear

    static let guards: [Case] = ["json", "csv"].flatMap { format in
        [
            // Bulk buds into eighths: a new item in the same category.
            guardCase("guard-buds-into-eighths.\(format)", 4501),
            // A concentrate split under its own item.
            guardCase("guard-concentrate-split-own-item.\(format)", 4511, 4512),
            // Finished goods re-bagged under a new item of the same category, the form word in
            // the source item too: pre-rolls (under Pre-Roll Flower, and under Michigan's
            // Shake/Trim (prepackaged)) into 5-packs, gummies into a sampler pack.
            guardCase("guard-rebag-prerolls.\(format)", 4531, 4532),
            guardCase("guard-rebag-gummies.\(format)", 4541),
            // Finished concentrate goods the same way: carts under Vape Cart into a 2-pack,
            // cartridges under Concentrate into a 3-pack, 1 g jars into a 2-pack.
            guardCase("guard-rebag-concentrate-goods.\(format)", 4546, 4547, 4548),
            // A note that mentions nothing an additive word names.
            guardCase("guard-note-nothing-added.\(format)", 4551),
            // A note that quotes the terpene profile, with nothing added stated: "Additives": [] in
            // JSON, an empty cell in an Additives column in CSV.
            guardCase("guard-additives-empty-note-terpenes.\(format)", 4561),
            // Strains named with an additive word (Sugar Black Rose), a word near one (Sweet
            // Tooth) and a product-form word (Chocolate Thai), in the item names and the note.
            guardCase("guard-strain-names.\(format)", 4571, 4572, 4573),
        ]
    } + [
        // A concentrate split with UseSameItem and Item null (Metrc's own example; the template
        // has no such column).
        guardCase("guard-concentrate-split-use-same-item.json", 4521),
    ]

    /// The same terpene-profile note without saying nothing was added: the word decides.
    static let statedOtherwise: [Case] = ["json", "csv"].map { format in
        Case(file: "note-terpene-profile.\(format)", decision: .needsBatch,
             packages: [Package(tag: tag(4561), status: .needsBatch, findings: [additive("Note", "Terpene")])])
    }

    // MARK: Warnings

    static let warnings: [Case] = [
        // A number beside IsProductionBatch false where no rule asks: Metrc will not mark it
        // (the pre-flight check batch-number-unmarked).
        Case(file: "warning-number-with-false.json", decision: .accepted,
             packages: [Package(tag: tag(4501), status: .ok,
                                checks: [Checked(check: .batchNumberUnmarked, field: "ProductionBatchNumber",
                                                 value: "PB-2025-0320-BDE")])]),
        // Marked where no rule asks: the lab testing starts over.
        Case(file: "warning-marked-no-rule.json", decision: .accepted,
             packages: [Package(tag: tag(4501), status: .ok, warnings: [Warned(field: "IsProductionBatch", value: "true")])]),
        Case(file: "warning-marked-no-rule.csv", decision: .accepted,
             packages: [Package(tag: tag(4501), status: .ok,
                                warnings: [Warned(field: "ProductionBatchNumber", value: "PB-2025-0320-BDE")])]),
    ]

    // MARK: Settings

    static func with(_ itemChange: RuleSettings.ItemChange, _ file: String, _ decision: Decision, _ packages: [Package]) -> Case {
        Case(file: file, settings: RuleSettings(itemChange: itemChange), settingsName: "itemChange: \(itemChange.rawValue)",
             decision: decision, packages: packages)
    }

    static func with(additiveWords words: [String], _ file: String, _ decision: Decision, _ packages: [Package]) -> Case {
        Case(file: file, settings: RuleSettings(additiveWords: words), settingsName: "additiveWords: \(words)",
             decision: decision, packages: packages)
    }

    static let namedTerpenes = RuleSettings.defaultAdditiveWords + ["BDT", "limonene", "myrcene"]

    static let settingsCases: [Case] = [
        // Oklahoma's reading: every new item is a production batch; a kept item is not.
        with(.always, "guard-buds-into-eighths.json", .needsBatch,
             [Package(tag: tag(4501), status: .needsBatch, findings: [formChangeByItem("Blue Dream Eighth 3.5g")])]),
        with(.always, "guard-rebag-prerolls.json", .needsBatch, [
            Package(tag: tag(4531), status: .needsBatch, findings: [formChangeByItem("Blue Dream Pre-Roll 5-Pack")]),
            Package(tag: tag(4532), status: .needsBatch, findings: [formChangeByItem("Gelato Pre-Roll 5-Pack")]),
        ]),
        with(.always, "guard-rebag-gummies.csv", .needsBatch,
             [Package(tag: tag(4541), status: .needsBatch, findings: [formChangeByItem("Watermelon Gummies 2pk 20mg")])]),
        with(.always, "guard-concentrate-split-own-item.csv", .accepted,
             [Package(tag: tag(4511), status: .ok), Package(tag: tag(4512), status: .ok)]),
        with(.always, "guard-concentrate-split-use-same-item.json", .accepted, [Package(tag: tag(4521), status: .ok)]),
        // Never: a new concentrate item alone is no batch; the categories and the item's form words still count.
        with(.never, "crude-to-distillate.json", .accepted, [Package(tag: tag(4141), status: .ok)]),
        with(.never, "live-resin-into-jars.csv", .accepted, [Package(tag: tag(4151), status: .ok)]),
        with(.never, "guard-rebag-concentrate-goods.json", .accepted,
             [Package(tag: tag(4546), status: .ok), Package(tag: tag(4547), status: .ok), Package(tag: tag(4548), status: .ok)]),
        with(.never, "concentrate-to-vape-cart.json", .needsBatch,
             [Package(tag: tag(4131), status: .needsBatch, findings: [categoryChange(0, "Concentrate")])]),
        with(.never, "preroll-under-flower-category.json", .needsBatch,
             [Package(tag: tag(4221), status: .needsBatch, findings: [formChangeByItem("Pre-Roll")])]),
        // The additive words: a shorter list, none, and terpenes by name added to the list.
        with(additiveWords: ["terpene"], "additive-in-note.json", .needsBatch, [
            Package(tag: tag(4161), status: .needsBatch, findings: [additive("Note", "terpenes")]),
            Package(tag: tag(4162), status: .ok),
        ]),
        with(additiveWords: [], "additive-in-note.csv", .accepted,
             [Package(tag: tag(4161), status: .ok), Package(tag: tag(4162), status: .ok)]),
        with(additiveWords: [], "flavored-item.json", .needsBatch,
             [Package(tag: tag(4171), status: .needsBatch, findings: [formChangeByItem("Strawberry Flavored Distillate")])]),
    ] + ["json", "csv"].map { format in
        Case(file: "additive-named-terpenes.\(format)", settings: RuleSettings(additiveWords: namedTerpenes),
             settingsName: "additiveWords: the defaults, BDT, limonene, myrcene", decision: .needsBatch,
             packages: [Package(tag: tag(4166), status: .needsBatch, findings: [additive("Note", "BDT")])])
    }

    static let all = bulletinExamples + bulletinVariants + guards + statedOtherwise + warnings + settingsCases

    // MARK: Tests

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: folder.appendingPathComponent(name)))
    }

    static func catalog(items: String, packages: String) throws -> Catalog {
        Catalog(items: try CatalogReader.readItems(bytes(items), fileName: items),
                packages: try CatalogReader.readPackages(bytes(packages), fileName: packages))
    }

    @Test("Each request comes out as the bulletin and docs/rules.md say", arguments: all)
    func outcome(_ expected: Case) throws {
        let checker = ManifestChecker(catalog: try Self.catalog(items: expected.items, packages: expected.packagesFile),
                                      settings: expected.settings)
        let report = checker.check(fileName: expected.file, bytes: try Self.bytes(expected.file))
        let explanation = Comment(rawValue: report.text)

        #expect(report.errors.isEmpty, explanation)
        #expect(report.decision == expected.decision, explanation)
        #expect(report.packages.map(\.tag) == expected.packages.map(\.tag), explanation)
        for want in expected.packages {
            let verdict = try #require(report.packages.first { $0.tag == want.tag })
            #expect(verdict.status == want.status, "\(want.tag)\n\(explanation.rawValue)")
            let found = verdict.findings.map {
                Finding(rule: $0.rule, field: $0.evidence.field, value: $0.evidence.value, source: $0.evidence.origin)
            }
            #expect(found == want.findings, "\(want.tag)\n\(explanation.rawValue)")
            #expect(verdict.productionBatchRequired == !want.findings.isEmpty)
            for finding in verdict.findings {
                // The sentence a person reads names the value that decided, and where it stands.
                #expect(finding.message.contains(finding.evidence.value), "\(finding.message)")
                #expect(finding.evidence.line != nil, "\(finding.rule.rawValue) has no line")
            }
            let warned = verdict.warnings.map { Warned(field: $0.evidence?.field ?? "-", value: $0.evidence?.value ?? "-") }
            #expect(warned == want.warnings, "\(want.tag)")
            let checked = verdict.checks.map { Checked(check: $0.check, field: $0.evidence.field, value: $0.evidence.value) }
            #expect(checked == want.checks, "\(want.tag)")
            // A package that needs a batch says what to do in Metrc; one that is ok has nothing to fix.
            #expect((verdict.fix != nil) == (want.status == .needsBatch), "\(want.tag): fix \(verdict.fix ?? "none")")
        }
        try expectJSONSaysTheSame(report, expected)
    }

    /// `batchgate check --format json` prints the report's JSON line: its findings and warnings
    /// carry the same rules and evidence.
    private func expectJSONSaysTheSame(_ report: ManifestReport, _ expected: Case) throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.jsonLine())) as? [String: Any])
        #expect(object["decision"] as? String == expected.decision.rawValue)
        let packages = try #require(object["packages"] as? [[String: Any]])
        for want in expected.packages {
            let package = try #require(packages.first { $0["tag"] as? String == want.tag })
            #expect(package["status"] as? String == want.status.rawValue)
            #expect(package["rules"] as? [String] == want.findings.map(\.rule.rawValue))
            let all = try #require(package["findings"] as? [[String: Any]])
            // The same array holds the failed pre-flight checks, each with its fix.
            let isCheck = { (finding: [String: Any]) in (finding["rule"] as? String).flatMap(CheckID.init(rawValue:)) != nil }
            let findings = all.filter { !isCheck($0) }
            let checked = all.filter(isCheck).map { finding -> Checked? in
                guard let check = (finding["rule"] as? String).flatMap(CheckID.init(rawValue:)),
                      let evidence = finding["evidence"] as? [String: Any], finding["fix"] is String,
                      let field = evidence["field"] as? String, let value = evidence["value"] as? String else { return nil }
                return Checked(check: check, field: field, value: value)
            }
            #expect(checked == want.checks.map(Optional.some), "\(want.tag): JSON checks \(all)")
            let found = findings.map { finding -> Finding? in
                guard let rule = (finding["rule"] as? String).flatMap(RuleID.init(rawValue:)),
                      let evidence = finding["evidence"] as? [String: Any],
                      let field = evidence["field"] as? String, let value = evidence["value"] as? String,
                      let source = (evidence["origin"] as? String).flatMap(Evidence.Origin.init(rawValue:)),
                      evidence["line"] is Int else { return nil }
                return Finding(rule: rule, field: field, value: value, source: source)
            }
            #expect(found == want.findings.map(Optional.some), "\(want.tag): JSON findings \(findings)")
            let severities = Set(findings.compactMap { $0["severity"] as? String })
            #expect(severities.isSubset(of: [want.status == .needsBatch ? "error" : "note"]))
            let warnings = try #require(package["warnings"] as? [[String: Any]])
            let warned = warnings.map { warning -> Warned in
                let evidence = warning["evidence"] as? [String: Any]
                return Warned(field: evidence?["field"] as? String ?? "-", value: evidence?["value"] as? String ?? "-")
            }
            #expect(warned == want.warnings, "\(want.tag): JSON warnings \(warnings)")
        }
    }

    @Test("The catalog reads as Metrc's API returns it")
    func catalogReadsAsMetrcReturnsIt() throws {
        let catalog = try Self.catalog(items: "items.json", packages: "packages.json")
        #expect(catalog.itemCount == 32)
        #expect(catalog.packageCount == 16)
        #expect(catalog.category(ofItem: "blue dream 0.5G vape cart ") == "Vape Cart")
        // The nested Item gives ProductCategoryType and QuantityType as integers (0), as in
        // Metrc's package examples: the name and category are still read.
        let resin = try #require(catalog.package(tagged: "1A40A0100000029000001107"))
        #expect(resin.item == "Gelato Live Resin Bulk")
        #expect(resin.category == "Concentrate")
    }

    /// Metrc's create-package fields, and nothing else, in the JSON fixtures.
    static let metrcFields: Set<String> = [
        "Tag", "Location", "Sublocation", "Item", "Quantity", "UnitOfMeasure", "PatientLicenseNumber", "Note",
        "IsProductionBatch", "ProductionBatchNumber", "IsDonation", "IsTradeSample", "IsFinishedGood",
        "ProductRequiresRemediation", "UseSameItem", "ActualDate", "ExpirationDate", "SellByDate", "UseByDate",
        "Ingredients", "RequiredLabTestBatches", "ProcessingJobTypeId", "LabTestStageId",
    ]

    /// The Track & Trace Tools template's header.
    static let templateHeader = "New Package Tag,Source Package Tag,Source Package Quantity Used,"
        + "Source Package Quantity Unit of Measure,Location Name,Item Name,New Package Quantity,New Package Unit,"
        + "Packaged Date,Note,Production Batch Number,Is Donation?,Is Trade Sample?,Expiration Date,Sell By Date,Use By Date"

    /// The requests carry what real ones carry: no category, no processing step, and no
    /// additives except where a guard states that nothing was added.
    @Test("The requests are shaped as facilities send them")
    func requestsAreShapedAsFacilitiesSendThem() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path)
            .filter { $0 != "items.json" && $0 != "packages.json" }
        #expect(names.count >= 70)
        for name in names {
            let statesNothingAdded = name.hasPrefix("guard-additives-empty")
            if name.hasSuffix(".json") {
                let body = try #require(try JSONSerialization.jsonObject(with: Data(Self.bytes(name))) as? [[String: Any]],
                                        "\(name): Metrc's body is an array")
                for package in body {
                    let extra = Set(package.keys).subtracting(Self.metrcFields)
                    #expect(extra == (statesNothingAdded ? ["Additives"] : []), "\(name)")
                    #expect(Set(package.keys).isSuperset(of: Self.metrcFields), "\(name): all of Metrc's fields")
                    if statesNothingAdded { #expect((package["Additives"] as? [Any])?.isEmpty == true) }
                    for ingredient in package["Ingredients"] as? [[String: Any]] ?? [] {
                        #expect(Set(ingredient.keys) == ["Package", "Quantity", "UnitOfMeasure"], "\(name)")
                    }
                }
            } else {
                let text = String(decoding: try Self.bytes(name), as: UTF8.self)
                let header = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
                #expect(header == Self.templateHeader + (statesNothingAdded ? ",Additives" : ""), "\(name)")
            }
        }
    }

    /// Every fixture file is in the table, and every bulletin example has its four files.
    @Test func everyFixtureIsInTheTable() throws {
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: Self.folder.path))
            .subtracting(["items.json", "packages.json"])
        let tabled = Set(Self.all.map(\.file))
        #expect(names.subtracting(tabled).sorted() == [], "fixtures with no expectation")
        #expect(tabled.subtracting(names).sorted() == [], "expectations with no fixture")
        let examples = Set(Self.bulletinExamples.map(\.file))
        for file in examples where !file.contains("-marked.") {
            let stem = (file as NSString).deletingPathExtension
            #expect(examples.isSuperset(of: ["\(stem).json", "\(stem).csv", "\(stem)-marked.json", "\(stem)-marked.csv"]), "\(stem)")
        }
    }
}
