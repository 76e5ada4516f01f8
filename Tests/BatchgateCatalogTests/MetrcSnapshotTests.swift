import Testing
import BatchgateCore
import BatchgateMetrc
@testable import BatchgateCatalog

/// A tag of the facility's range, numbered.
func tag(_ number: Int) -> String {
    let digits = String(number)
    return "1A4FF01000000220" + String(repeating: "0", count: 8 - digits.count) + digits
}

/// An item record as a pull gives it.
func itemRecord(_ name: String, _ category: String, modified: String? = "2026-12-01T10:00:00+00:00") -> MetrcRecord<Catalog.Item> {
    MetrcRecord(entry: Catalog.Item(name: name, category: category), lastModified: modified)
}

/// A package record as a pull gives it.
func packageRecord(_ tag: String, item: String?, category: String?, modified: String? = "2026-12-01T10:00:00+00:00")
    -> MetrcRecord<Catalog.Package> {
    MetrcRecord(entry: Catalog.Package(tag: tag, item: item, category: category), lastModified: modified)
}

@Suite("Metrc snapshot")
struct MetrcSnapshotTests {
    @Test func learnsItemsByNameInAnyCaseTheLaterReplacingTheEarlier() {
        var snapshot = MetrcSnapshot(server: "https://api-wv.metrc.com", licenseNumber: "L-1")
        snapshot.learn(items: [itemRecord("Blue Dream Buds", "Buds"), itemRecord("OG Shake", "Shake/Trim")], at: 100)
        snapshot.learn(items: [itemRecord("  blue dream BUDS ", "Flower", modified: "2026-12-02T10:00:00+00:00")], at: 200)
        #expect(snapshot.itemCount == 2)
        let item = snapshot.item(named: "BLUE DREAM buds")
        #expect(item == MetrcSnapshot.Item(name: "  blue dream BUDS ", category: "Flower", lastModified: "2026-12-02T10:00:00+00:00", learnedAt: 200))
        #expect(snapshot.catalog.category(ofItem: "Blue Dream Buds") == "Flower", "the catalog follows the snapshot")
        #expect(snapshot.catalog.category(ofItem: "og shake") == "Shake/Trim")
        #expect(snapshot.item(named: "Unknown") == nil)
    }

    @Test func withinOneBatchTheLastRecordOfANameWins() {
        var snapshot = MetrcSnapshot(server: "s", licenseNumber: "l")
        snapshot.learn(items: [itemRecord("A", "Buds"), itemRecord("a", "Concentrate")], at: 1)
        snapshot.learn(packages: [packageRecord(tag(1), item: "A", category: "Buds"), packageRecord(tag(1), item: "B", category: "Infused")],
                       from: .activePackages, at: 1)
        #expect(snapshot.item(named: "A")?.category == "Concentrate" && snapshot.catalog.category(ofItem: "A") == "Concentrate")
        #expect(snapshot.package(tagged: tag(1))?.item == "B" && snapshot.catalog.package(tagged: tag(1))?.item == "B")
    }

    @Test func learnsPackagesWithTheirPartAndFindsThemByTag() {
        var snapshot = MetrcSnapshot(server: "s", licenseNumber: "l")
        snapshot.learn(packages: [packageRecord(tag(1), item: "A", category: "Buds"), packageRecord(tag(2), item: nil, category: "Concentrate")],
                       from: .activePackages, at: 10)
        // A source that finished since: read again from the inactive list.
        snapshot.learn(packages: [packageRecord(tag(1), item: "A", category: "Buds", modified: "2026-12-03T00:00:00+00:00")],
                       from: .inactivePackages, at: 20)
        // Learned by a look-up of its label.
        snapshot.learn(packages: [packageRecord(tag(3), item: "C", category: nil)], from: nil, at: 30)
        #expect(snapshot.packageCount == 3)
        #expect(snapshot.package(tagged: tag(1)) == MetrcSnapshot.Package(tag: tag(1), item: "A", category: "Buds", part: .inactivePackages,
                                                                          lastModified: "2026-12-03T00:00:00+00:00", learnedAt: 20))
        #expect(snapshot.package(tagged: " " + tag(2).lowercased() + "\n")?.category == "Concentrate", "trimmed, any case")
        #expect(snapshot.package(tagged: tag(3))?.part == nil)
        #expect(snapshot.catalog.package(tagged: tag(2)) == Catalog.Package(tag: tag(2), item: nil, category: "Concentrate"))
        #expect(snapshot.catalog.packageCount == 3 && snapshot.catalog.itemCount == 0)
    }

    @Test func partStatesRecordHowFarWhenAndHowMany() {
        var snapshot = MetrcSnapshot(server: "s", licenseNumber: "l")
        #expect(snapshot.parts.isEmpty)
        snapshot.learn(items: [itemRecord("A", "Buds"), itemRecord("B", "Buds")], at: 1)
        snapshot.learn(packages: (1...3).map { packageRecord(tag($0), item: "A", category: "Buds") }, from: .activePackages, at: 1)
        snapshot.markSynced(.items, until: 1_000, at: 1_010)
        snapshot.markSynced(.activePackages, until: 1_000, at: 1_020)
        #expect(snapshot.parts[.items] == MetrcSnapshot.PartState(syncedUntil: 1_000, syncedAt: 1_010, count: 2))
        #expect(snapshot.parts[.activePackages] == MetrcSnapshot.PartState(syncedUntil: 1_000, syncedAt: 1_020, count: 3))
        // One package moves to the inactive part: each part's count is what it holds when marked.
        snapshot.learn(packages: [packageRecord(tag(2), item: "A", category: "Buds")], from: .inactivePackages, at: 2)
        snapshot.markSynced(.inactivePackages, until: 2_000, at: 2_010)
        snapshot.markSynced(.activePackages, until: 2_000, at: 2_020)
        #expect(snapshot.parts[.inactivePackages]?.count == 1 && snapshot.parts[.activePackages]?.count == 2)
        #expect(snapshot.parts[.onHoldPackages] == nil)
    }

    @Test func belongsOnlyToItsServerAndLicence() {
        let snapshot = MetrcSnapshot(server: "https://api-wv.metrc.com", licenseNumber: "L-1")
        #expect(snapshot.belongs(to: MetrcAPI(server: "https://api-wv.metrc.com/", licenseNumber: "L-1", vendorKey: "v", userKey: "u")))
        #expect(!snapshot.belongs(to: MetrcAPI(server: "https://sandbox-api-wv.metrc.com", licenseNumber: "L-1", vendorKey: "v", userKey: "u")))
        #expect(!snapshot.belongs(to: MetrcAPI(server: "https://api-wv.metrc.com", licenseNumber: "L-2", vendorKey: "v", userKey: "u")))
    }

    @Test func snapshotsCompareByWhatTheyHold() {
        var first = MetrcSnapshot(server: "s", licenseNumber: "l")
        var second = first
        first.learn(items: [itemRecord("A", "Buds")], at: 1)
        #expect(first != second)
        second.learn(items: [itemRecord("A", "Buds")], at: 1)
        #expect(first == second)
        second.markSynced(.items, until: 1, at: 1)
        #expect(first != second)
    }
}
