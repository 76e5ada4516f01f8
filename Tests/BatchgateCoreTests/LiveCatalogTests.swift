import Testing
@testable import BatchgateCore

/// A checker on the facility's Metrc catalog (`sourcesMustBeKnown`): what a manifest needs and the
/// catalog lacks is listed for a look-up, a source Metrc does not have is refused, and Metrc's
/// record of an existing package or item wins over what a manifest says of it.
@Suite("The checker on Metrc's catalog")
struct LiveCatalogTests {
    static let catalog = Catalog(
        items: [.init(name: "Blue Dream Buds", category: "Buds"), .init(name: "Blue Dream Live Resin", category: "Concentrate")],
        packages: [.init(tag: "1A4FF0100000022000000801", item: "Blue Dream Buds", category: "Buds")])

    func check(_ json: String, live: Bool = true) -> ManifestReport {
        var checker = ManifestChecker(catalog: Self.catalog)
        checker.sourcesMustBeKnown = live
        return checker.check(fileName: "m.json", bytes: Array(json.utf8))
    }

    func request(item: String, category: String? = nil, source: String, sourceItem: String? = nil, sourceCategory: String? = nil) -> String {
        let own = category.map { #", "ItemCategory": "\#($0)""# } ?? ""
        let sourceOwn = (sourceItem.map { #", "Item": "\#($0)""# } ?? "") + (sourceCategory.map { #", "ItemCategory": "\#($0)""# } ?? "")
        return #"[{"Tag": "1A4FF0300000022000009001", "Item": "\#(item)"\#(own), "Quantity": 1, "UnitOfMeasure": "Grams", "ActualDate": "2026-12-04", "Ingredients": [{"Package": "\#(source)"\#(sourceOwn), "Quantity": 1, "UnitOfMeasure": "Grams"}]}]"#
    }

    @Test func aSourceMetrcDoesNotHaveIsRefusedNamingItAndListedForALookUp() {
        let report = check(request(item: "Blue Dream Live Resin", source: "1A4FF0100000022000000999", sourceItem: "Blue Dream Buds", sourceCategory: "Buds"))
        #expect(report.decision == .rejected)
        #expect(report.errors.contains { $0.message.contains("1A4FF0100000022000000999") && $0.message.contains("not in the facility's Metrc catalog") })
        #expect(report.catalogMisses.packages == ["1A4FF0100000022000000999"])
        // From files alone, the manifest's own categories still decide, as before.
        let offline = check(request(item: "Blue Dream Live Resin", source: "1A4FF0100000022000000999", sourceItem: "Blue Dream Buds", sourceCategory: "Buds"), live: false)
        #expect(offline.decision == .needsBatch)
    }

    @Test func metrcsCategoryOfASourceWinsOverTheManifests() {
        // The manifest calls the flower source a concentrate: concentrate to concentrate would be
        // a repackage. Metrc says it is flower, so it is a production batch.
        let report = check(request(item: "Blue Dream Live Resin", source: "1A4FF0100000022000000801",
                                   sourceItem: "Blue Dream Live Resin", sourceCategory: "Concentrate"))
        #expect(report.decision == .needsBatch, "\(report.errors)")
        #expect(report.packages.first?.findings.isEmpty == false)
    }

    @Test func metrcsCategoryOfTheNewPackagesItemWinsOverTheManifests() {
        // Called Buds in the manifest, the item is a concentrate in Metrc: flower into concentrate.
        let report = check(request(item: "Blue Dream Live Resin", category: "Buds", source: "1A4FF0100000022000000801"))
        #expect(report.decision == .needsBatch, "\(report.errors)")
        #expect(report.packages.first?.category == "Concentrate")
    }

    @Test func anUnknownItemIsListedForARefreshAndNamedAsNotInMetrc() {
        let report = check(request(item: "Blue Dream Rosin", source: "1A4FF0100000022000000801"))
        #expect(report.decision == .rejected)
        #expect(report.catalogMisses.items == ["Blue Dream Rosin"])
        #expect(report.errors.contains { $0.message.contains("is not among the facility's items in Metrc") })
    }
}
