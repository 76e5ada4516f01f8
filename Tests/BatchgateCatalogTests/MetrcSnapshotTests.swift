import Testing
@testable import BatchgateCore
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
        #expect(item == MetrcSnapshot.Item(entry: Catalog.Item(name: "  blue dream BUDS ", category: "Flower"),
                                           lastModified: "2026-12-02T10:00:00+00:00", learnedAt: 200))
        #expect(snapshot.catalog.category(ofItem: "Blue Dream Buds") == "Flower", "the catalog follows the snapshot")
        #expect(snapshot.catalog.category(ofItem: "og shake") == "Shake/Trim")
        #expect(snapshot.item(named: "Unknown") == nil)
    }

    @Test func withinOneBatchTheLastRecordOfANameWins() {
        var snapshot = MetrcSnapshot(server: "s", licenseNumber: "l")
        snapshot.learn(items: [itemRecord("A", "Buds"), itemRecord("a", "Concentrate")], at: 1)
        snapshot.learn(packages: [packageRecord(tag(1), item: "A", category: "Buds"), packageRecord(tag(1), item: "B", category: "Infused")],
                       from: .activePackages, at: 1)
        #expect(snapshot.item(named: "A")?.entry.category == "Concentrate" && snapshot.catalog.category(ofItem: "A") == "Concentrate")
        #expect(snapshot.package(tagged: tag(1))?.entry.item == "B" && snapshot.catalog.package(tagged: tag(1))?.item == "B")
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
        #expect(snapshot.package(tagged: tag(1)) == MetrcSnapshot.Package(entry: Catalog.Package(tag: tag(1), item: "A", category: "Buds"),
                                                                          part: .inactivePackages,
                                                                          lastModified: "2026-12-03T00:00:00+00:00", learnedAt: 20))
        #expect(snapshot.package(tagged: " " + tag(2).lowercased() + "\n")?.entry.category == "Concentrate", "trimmed, any case")
        #expect(snapshot.package(tagged: tag(3))?.part == nil)
        #expect(snapshot.catalog.package(tagged: tag(2)) == Catalog.Package(tag: tag(2), item: nil, category: "Concentrate", isOnHold: false,
                                                                           lastModified: "2026-12-01T10:00:00+00:00"))
        #expect(snapshot.catalog.packageCount == 3 && snapshot.catalog.itemCount == 0)
    }

    /// A package record with every field Metrc gives, as the reader takes them.
    static func fullPackage(_ number: Int, quantity: Double = 1360.8, batch: String? = "PB-7") -> Catalog.Package {
        Catalog.Package(tag: tag(number), item: "Blue Dream Buds", category: "Buds", quantity: quantity, unitOfMeasure: "Grams",
                        packagedDate: "2026-11-30", isOnHold: nil, isFinished: nil, finishedDate: nil, archivedDate: nil,
                        labTestingState: "TestPassed", productionBatchNumber: batch, itemQuantityType: .weightBased)
    }

    @Test func aRecordKeepsEveryFieldAndItsLastModifiedIsPutInItsEntry() {
        var snapshot = MetrcSnapshot(server: "s", licenseNumber: "l")
        let item = Catalog.Item(name: "Blue Dream Buds", category: "Buds", quantityType: .weightBased, unitOfMeasure: "Grams")
        snapshot.learn(items: [MetrcRecord(entry: item, lastModified: "2026-11-01T00:00:00+00:00")], at: 5)
        snapshot.learn(packages: [MetrcRecord(entry: Self.fullPackage(1), lastModified: "2026-12-01T10:00:00+00:00")], from: nil, at: 10)
        var expected = Self.fullPackage(1)
        expected.lastModified = "2026-12-01T10:00:00+00:00"
        #expect(snapshot.package(tagged: tag(1))?.entry == expected)
        #expect(snapshot.package(tagged: tag(1))?.lastModified == "2026-12-01T10:00:00+00:00")
        #expect(snapshot.catalog.package(tagged: tag(1)) == expected, "a look-up's record: nothing added to it")
        #expect(snapshot.catalog.packages(withBatchNumber: "pb-7 ").map(\.tag) == [tag(1)])
        #expect(snapshot.item(named: "blue dream buds")?.entry == item && snapshot.catalog.item(named: "Blue Dream Buds") == item)
    }

    /// What each part adds to a record that is silent on its state (the part is Metrc's own list
    /// of the packages in that state), and what it leaves as the record says it.
    @Test(arguments: [
        (CatalogPart?.some(.onHoldPackages), Catalog.Package(tag: tag(1), item: "A", category: "Buds"), true, nil as Bool?),
        (.onHoldPackages, Catalog.Package(tag: tag(1), item: "A", category: "Buds", isOnHold: false), false, nil),
        (.inactivePackages, Catalog.Package(tag: tag(1), item: "A", category: "Buds"), nil, true),
        (.inactivePackages, Catalog.Package(tag: tag(1), item: "A", category: "Buds", isFinished: false), nil, false),
        (.inactivePackages, Catalog.Package(tag: tag(1), item: "A", category: "Buds", finishedDate: "2026-03-01"), nil, nil),
        (.inactivePackages, Catalog.Package(tag: tag(1), item: "A", category: "Buds", archivedDate: "2026-03-02"), nil, nil),
        (.activePackages, Catalog.Package(tag: tag(1), item: "A", category: "Buds"), false, nil),
        (.activePackages, Catalog.Package(tag: tag(1), item: "A", category: "Buds", isOnHold: true, isFinished: false), true, false),
        (nil, Catalog.Package(tag: tag(1), item: "A", category: "Buds"), nil, nil),
    ])
    func eachPartSaysWhatItsRecordsLeaveUnsaid(part: CatalogPart?, record: Catalog.Package, onHold: Bool?, finished: Bool?) {
        var snapshot = MetrcSnapshot(server: "s", licenseNumber: "l")
        snapshot.learn(packages: [MetrcRecord(entry: record, lastModified: nil)], from: part, at: 1)
        for catalog in [snapshot.catalog, { var rebuilt = snapshot; rebuilt.rebuildCatalog(); return rebuilt.catalog }()] {
            let learned = catalog.package(tagged: tag(1))
            #expect(learned?.isOnHold == onHold && learned?.isFinished == finished, "\(String(describing: part)): \(String(describing: learned))")
            #expect(learned?.finishedDate == record.finishedDate && learned?.archivedDate == record.archivedDate)
        }
        #expect(snapshot.package(tagged: tag(1))?.entry == record, "the snapshot (and so the cache) keeps the record as Metrc gave it")
    }

    @Test func aLaterRecordReplacesTheEarlierWholeStockAndBatchNumberToo() {
        var snapshot = MetrcSnapshot(server: "s", licenseNumber: "l")
        snapshot.learn(packages: [MetrcRecord(entry: Self.fullPackage(1), lastModified: "2026-12-01T10:00:00+00:00")], from: .onHoldPackages, at: 1)
        // A look-up's answer that says nothing of stock or state: what the earlier one said is gone.
        snapshot.learn(packages: [packageRecord(tag(1), item: "Blue Dream Buds", category: "Buds", modified: nil)], from: nil, at: 2)
        #expect(snapshot.catalog.package(tagged: tag(1)) == Catalog.Package(tag: tag(1), item: "Blue Dream Buds", category: "Buds"))
        #expect(snapshot.catalog.packages(withBatchNumber: "PB-7").isEmpty)
        #expect(snapshot.package(tagged: tag(1))?.part == nil && snapshot.package(tagged: tag(1))?.learnedAt == 2)
    }

    @Test func theCatalogKeptInStepIsTheOneBuiltFromTheRecords() {
        var snapshot = MetrcSnapshot(server: "s", licenseNumber: "l")
        snapshot.learn(items: [MetrcRecord(entry: Catalog.Item(name: "Blue Dream Buds", category: "Buds", quantityType: .weightBased,
                                                               unitOfMeasure: "Grams"), lastModified: nil)], at: 1)
        let parts: [CatalogPart?] = [.activePackages, .onHoldPackages, .inactivePackages, nil]
        for round in 0..<3 {
            for (index, part) in parts.enumerated() {
                let records = (0..<10).map { number in
                    MetrcRecord(entry: Self.fullPackage(number * 4 + index, quantity: Double(round) + 0.1 * Double(number),
                                                        batch: number % 3 == 0 ? nil : "PB-\(number % 2)"),
                                lastModified: "2026-12-0\(round + 1)T00:00:00+00:00")
                }
                snapshot.learn(packages: records, from: part, at: Double(round))
            }
        }
        var rebuilt = snapshot
        rebuilt.rebuildCatalog()
        for number in 0..<40 {
            #expect(rebuilt.catalog.package(tagged: tag(number)) == snapshot.catalog.package(tagged: tag(number)))
        }
        #expect(rebuilt.catalog.packages(withBatchNumber: "PB-1").map(\.tag) == snapshot.catalog.packages(withBatchNumber: "PB-1").map(\.tag))
        #expect(snapshot.catalog.packages(withBatchNumber: "PB-1").count == 12)
        #expect(rebuilt.catalog.item(named: "Blue Dream Buds") == snapshot.catalog.item(named: "Blue Dream Buds"))
        #expect(rebuilt.catalog == snapshot.catalog)
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
