import Foundation
import Testing
import TestSupport

/// The daemon and the commands with the catalog from a Metrc-shaped server on loopback
/// (metrc_server.py): manifests decided from Metrc alone, a tag newer than the last sync found by
/// its label, Metrc down at start-up and coming back, kill -9 while manifests wait and during a
/// sync, a wrong licence, and `catalog sync`, `catalog show` and `check --config`.
@Suite("The catalog from Metrc", .serialized)
struct MetrcCatalogTests {
    let fileManager = FileManager.default
    static let flower = MetrcItem(id: 1, name: "Blue Dream Buds", categoryName: "Buds", lastModified: Date().addingTimeInterval(-3_600))
    static let resin = MetrcItem(id: 2, name: "Blue Dream Live Resin", categoryName: "Concentrate",
                                 lastModified: Date().addingTimeInterval(-3_600))
    static let sourceTag = "1A4FF0100000022000000801"
    /// A package made this morning, as Metrc lists it, holding more than the 453.6 g each request
    /// here takes from it (less would be source-over-used).
    static let source = MetrcPackage(id: 801, label: sourceTag, item: flower, quantity: 1360.8, lastModified: Date().addingTimeInterval(-1_800))
    /// A fixed day long past, for `PackagedDate`s that must come before any manifest's `ActualDate`.
    static let november = Date(timeIntervalSince1970: 1_793_491_200)  // 2026-11-01

    /// A config with only `catalog.metrc` (two days of history: a handful of GETs), and a webhook
    /// sink when a receiver is given.
    func writeConfig(root: URL, metrc: MetrcTestServer, licence: String? = nil, webhook: LoopbackHTTPServer? = nil,
                     extra: String = "") throws -> String {
        let path = root.appendingPathComponent("batchgate.yaml").path
        var yaml = """
            stateRoot: \(root.path)
            quietPeriod: 200ms
            facility:
              name: North Plant
              licenseNumber: \(metrc.licenseNumber)
            catalog:
              metrc:
                server: \(metrc.url)
                licenseNumber: \(licence ?? metrc.licenseNumber)
                vendorKey: test-vendor-key
                userKey: test-user-key
                history: 2d
                requestsPerSecond: 50
                concurrentRequests: 10
                lookupTimeout: 5s
            \(extra)
            """
        if let webhook {
            yaml += """

                alerts:
                  sinks:
                    - name: desk
                      type: webhook
                      url: http://127.0.0.1:\(webhook.port)/hook
                      decisions: [rejected]
                """
        }
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A Metrc-shaped create request: one new package of `item` from `sourceTag`, nothing but
    /// the tag naming the source (as real requests do).
    func request(tag: String, item: String, from sourceTag: String, sourceItem: String? = nil) -> Data {
        var ingredient: [String: Any] = ["Package": sourceTag, "Quantity": 453.6, "UnitOfMeasure": "Grams"]
        if let sourceItem { ingredient["Item"] = sourceItem }
        let body: [[String: Any]] = [[
            "Tag": tag, "Item": item, "Quantity": 28.5, "UnitOfMeasure": "Grams", "IsProductionBatch": false,
            "ActualDate": "2026-12-04",
            "Ingredients": [ingredient],
        ]]
        return try! JSONSerialization.data(withJSONObject: body)
    }

    func drop(_ data: Data, as name: String, into daemon: DaemonProcess) throws {
        let staging = daemon.root.appendingPathComponent("staging")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        try data.write(to: staging.appendingPathComponent(name))
        #expect(rename(staging.appendingPathComponent(name).path, daemon.inbox.appendingPathComponent(name).path) == 0)
    }

    /// The report written beside a routed manifest.
    func report(_ name: String, in folder: String, of daemon: DaemonProcess) -> String {
        (try? String(contentsOf: daemon.root.appendingPathComponent("\(folder)/\(name).report.txt"), encoding: .utf8)) ?? ""
    }

    func labelLookUps(_ metrc: MetrcTestServer, _ tag: String) throws -> Int {
        try metrc.requests.filter { $0.path.hasSuffix("/\(tag)") }.count
    }

    @Test func aMetrcShapedRequestIsDecidedFromMetrcAlone() throws {
        let metrc = try MetrcTestServer(items: [Self.flower, Self.resin], packages: [Self.source])
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", try writeConfig(root: root, metrc: metrc)])
        try daemon.start()
        #expect(waitUntil(timeout: 30) { daemon.log.contains("synced the catalog from Metrc") }, "\(daemon.log)")
        #expect(fileManager.fileExists(atPath: root.appendingPathComponent("catalog/metrc.json").path))
        // Flower into concentrate, unmarked: needs a batch. The same item again: a repackage.
        try drop(request(tag: "1A4FF0300000022000009001", item: "Blue Dream Live Resin", from: Self.sourceTag), as: "resin.json", into: daemon)
        try drop(request(tag: "1A4FF0300000022000009002", item: "Blue Dream Buds", from: Self.sourceTag), as: "repack.json", into: daemon)
        #expect(waitUntil(timeout: 30) { daemon.routedCount == 2 }, "\(daemon.log)")
        #expect(daemon.manifests(in: "needs-batch") == ["resin.json"], "\(daemon.log)")
        #expect(daemon.manifests(in: "accepted") == ["repack.json"], "\(report("repack.json", in: "rejected", of: daemon))")
        // Both sources were in the synced cache: no look-up by label.
        #expect(try labelLookUps(metrc, Self.sourceTag) == 0)
        #expect(daemon.stop() == 0)
    }

    @Test func aTagCreatedAfterTheLastSyncIsFoundByItsLabelAndAnUnknownOneIsRejectedNamingIt() throws {
        let metrc = try MetrcTestServer(items: [Self.flower, Self.resin], packages: [Self.source])
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", try writeConfig(root: root, metrc: metrc)])
        try daemon.start()
        #expect(waitUntil(timeout: 30) { daemon.log.contains("synced the catalog from Metrc") }, "\(daemon.log)")
        // Made in Metrc after the sync; the next sync is five minutes away.
        let newTag = "1A4FF0100000022000000999"
        let fresh = MetrcPackage(id: 999, label: newTag, item: Self.resin, quantity: 1360.8, lastModified: Date())
        try metrc.write(items: [Self.flower, Self.resin], packages: [Self.source, fresh])
        try drop(request(tag: "1A4FF0300000022000009003", item: "Blue Dream Live Resin", from: newTag), as: "fresh.json", into: daemon)
        let unknownTag = "1A4FF0100000022000000404"
        try drop(request(tag: "1A4FF0300000022000009004", item: "Blue Dream Live Resin", from: unknownTag), as: "unknown.json", into: daemon)
        // The manifest names the source's item, so its category is known: whether Metrc has the
        // package is source-not-in-facility's to say, after the look-up.
        let namedTag = "1A4FF0100000022000000405"
        try drop(request(tag: "1A4FF0300000022000009010", item: "Blue Dream Live Resin", from: namedTag, sourceItem: "Blue Dream Buds"),
                 as: "named.json", into: daemon)
        #expect(waitUntil(timeout: 30) { daemon.routedCount == 3 }, "\(daemon.log)")
        // Concentrate to the same concentrate item: a repackage, accepted with the looked-up source.
        #expect(daemon.manifests(in: "accepted") == ["fresh.json"], "\(report("fresh.json", in: "rejected", of: daemon))")
        #expect(try labelLookUps(metrc, newTag) == 1)
        #expect(daemon.manifests(in: "rejected").sorted() == ["named.json", "unknown.json"])
        let rejection = report("unknown.json", in: "rejected", of: daemon)
        #expect(rejection.contains(unknownTag) && rejection.contains("not in the facility's Metrc catalog"), "\(rejection)")
        let named = report("named.json", in: "rejected", of: daemon)
        #expect(named.contains("[source-not-in-facility]") && named.contains("Package \(namedTag) does not exist in the current Facility."), "\(named)")
        #expect(try labelLookUps(metrc, namedTag) == 1)
        #expect(daemon.stop() == 0)
        // The looked-up package is in the cache, with where it came from.
        let shown = try Executable.run(["catalog", "show", "--config", root.appendingPathComponent("batchgate.yaml").path, newTag])
        #expect(shown.status == 0 && shown.standardOutput.contains("Blue Dream Live Resin")
                    && shown.standardOutput.contains("a look-up by its label"), "\(shown)")
    }

    @Test func metrcDownLosesNothingAndRejectsNothingAcrossAKillAndComesBackWithOneAlertEachWay() throws {
        let metrc = try MetrcTestServer(items: [Self.flower, Self.resin], packages: [Self.source])
        let webhook = try LoopbackHTTPServer()
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = try writeConfig(root: root, metrc: metrc, webhook: webhook)
        // A first run fills the cache.
        let first = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try first.start()
        #expect(waitUntil(timeout: 30) { first.log.contains("synced the catalog from Metrc") }, "\(first.log)")
        #expect(first.stop() == 0)

        // Down at start-up: the cache decides what it can.
        try metrc.setDown(true)
        let second = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try second.start()
        #expect(second.log.contains("read the Metrc catalog cache"), "\(second.log)")
        try drop(request(tag: "1A4FF0300000022000009005", item: "Blue Dream Live Resin", from: Self.sourceTag), as: "cached.json", into: second)
        #expect(waitUntil(timeout: 30) { second.routedCount == 1 }, "\(second.log)")
        #expect(second.manifests(in: "needs-batch") == ["cached.json"])
        // A source made after the last sync cannot be looked up: its manifest waits.
        let newTag = "1A4FF0100000022000000777"
        try metrc.write(items: [Self.flower, Self.resin],
                        packages: [Self.source, MetrcPackage(id: 777, label: newTag, item: Self.flower, quantity: 1360.8, lastModified: Date())])
        try drop(request(tag: "1A4FF0300000022000009006", item: "Blue Dream Live Resin", from: newTag), as: "waits.json", into: second)
        #expect(waitUntil(timeout: 60) { second.log.contains("wait in processing/ because they need Metrc") }, "\(second.log)")
        #expect(waitUntil(timeout: 60) { second.log.contains("Metrc does not answer") }, "\(second.log)")
        #expect(second.names(in: "processing").contains("waits.json"))
        #expect(second.manifests(in: "rejected").isEmpty)
        #expect(waitUntil(timeout: 30) { webhook.requests.contains { String(decoding: $0.body, as: UTF8.self).contains("\"event\":\"catalog.unreachable\"") } },
                "one alert says Metrc is unreachable:\n\(second.log)")
        // Tried again at every recovery meanwhile, and logged once.
        #expect(second.log.components(separatedBy: "wait in processing/ because they need Metrc").count == 2, "\(second.log)")
        second.crash()

        // kill -9 while it waits, and a start with Metrc still down: it still waits, unrejected.
        let third = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try third.start()
        #expect(waitUntil(timeout: 60) { third.log.contains("wait in processing/ because they need Metrc") }, "\(third.log)")
        #expect(third.names(in: "processing").contains("waits.json"))
        #expect(third.manifests(in: "rejected").isEmpty)

        // Metrc back: decided without anyone touching it.
        try metrc.setDown(false)
        #expect(waitUntil(timeout: 90) { third.routedCount == 2 }, "\(third.log)")
        #expect(third.manifests(in: "needs-batch") == ["cached.json", "waits.json"], "\(third.log)")
        #expect(third.log.contains("Metrc answers again"), "\(third.log)")
        #expect(waitUntil(timeout: 30) { webhook.requests.contains { String(decoding: $0.body, as: UTF8.self).contains("\"event\":\"catalog.reachable\"") } })
        #expect(third.stop() == 0)
        let bodies = webhook.requests.map { String(decoding: $0.body, as: UTF8.self) }
        // Counted by Idempotency-Key: a kill -9 between a delivery and its removal from the outbox
        // sends that alert again under the same key, as at-least-once delivery does.
        func alerts(_ event: String) -> Set<String> {
            Set(webhook.requests.filter { String(decoding: $0.body, as: UTF8.self).contains("\"event\":\"\(event)\"") }
                .map { $0.headers["idempotency-key"] ?? "none" })
        }
        // One outage across a kill -9: announced once, its end once (the restart knew of it).
        #expect(alerts("catalog.unreachable").count == 1, "\(bodies)")
        #expect(alerts("catalog.reachable").count == 1, "\(bodies)")
        #expect(!bodies.contains { $0.contains("\"rejected\"") }, "no manifest rejected: \(bodies)")
    }

    @Test func aKillDuringASyncLeavesACacheThatLoads() throws {
        // Enough windows and latency that the sync takes seconds: 30 days, four parts.
        var options = MetrcTestServer.Options()
        options.latency = .milliseconds(100)
        let packages = (0..<120).map { index in
            MetrcPackage(id: 1_000 + index, label: String(format: "1A4FF01000000220000%05d", index), item: Self.flower,
                         lastModified: Date().addingTimeInterval(-Double(index) * 6 * 3_600))
        }
        let metrc = try MetrcTestServer(options, items: [Self.flower, Self.resin], packages: packages)
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = try writeConfig(root: root, metrc: metrc)
        try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "history: 2d", with: "history: 30d")
            .write(toFile: config, atomically: true, encoding: .utf8)
        for round in 1...3 {
            let daemon = DaemonProcess(root: root, arguments: ["run", "--config", config])
            try daemon.start()
            #expect(!daemon.log.contains("cannot use the Metrc catalog cache"), "round \(round): \(daemon.log)")
            let before = try metrc.requests.count
            #expect(waitUntil(timeout: 30) { ((try? metrc.requests.count) ?? 0) >= before + 10 * round })
            daemon.crash()
            let leftovers = daemon.names(in: "catalog").filter { $0 != "metrc.json" }
            #expect(leftovers.allSatisfy { $0.hasPrefix(".") }, "round \(round): only hidden temporary files may stay: \(leftovers)")
        }
        let last = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try last.start()
        #expect(waitUntil(timeout: 120) { last.log.contains("synced the catalog from Metrc") }, "\(last.log)")
        #expect(!last.log.contains("cannot use the Metrc catalog cache"), "\(last.log)")
        #expect(last.stop() == 0)
        let shown = try Executable.run(["catalog", "show", "--config", config, packages[100].label])
        #expect(shown.status == 0, "\(shown)")
    }

    /// The cache file as JSON text, and its package record (a list) for `tag` as written.
    func cacheRecord(_ root: URL, _ tag: String) throws -> (text: String, record: String?) {
        let text = try String(contentsOf: root.appendingPathComponent("catalog/metrc.json"), encoding: .utf8)
        guard let start = text.range(of: "[\"\(tag)\",") else { return (text, nil) }
        let end = try #require(text[start.upperBound...].firstIndex(of: "]"))
        return (text, String(text[start.lowerBound...end]))
    }

    @Test func aSyncFillsTheCacheWithEachPackagesQuantityAndState() throws {
        let anHourAgo = Date().addingTimeInterval(-3_600)
        let preRoll = MetrcItem(id: 3, name: "Blue Dream Pre-Roll", categoryName: "Pre-Roll", quantityType: "CountBased", unit: "Each",
                                lastModified: anHourAgo)
        let held = "1A4FF0100000022000000802"
        let finished = "1A4FF0100000022000000803"
        let packages = [
            // Metrc's own lists: the nested item's QuantityType as a name here, an integer (its examples) below.
            MetrcPackage(id: 801, label: Self.sourceTag, item: Self.flower, quantity: 1360.8, productionBatchNumber: "PB-2026-11-01",
                         labTestingState: "TestFailed", lastModified: anHourAgo, packagedDate: Self.november, itemQuantityType: .name),
            // On hold, the record silent on it: the list that answers it says so.
            MetrcPackage(id: 802, label: held, item: preRoll, quantity: 24, state: .onHold, lastModified: anHourAgo,
                         packagedDate: Self.november, statesInRecord: false),
            MetrcPackage(id: 803, label: finished, item: Self.resin, quantity: 0, state: .inactive, lastModified: anHourAgo,
                         packagedDate: Self.november),
        ]
        let metrc = try MetrcTestServer(items: [Self.flower, Self.resin, preRoll], packages: packages)
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = try writeConfig(root: root, metrc: metrc)
        let synced = try Executable.run(["catalog", "sync", "--config", config])
        #expect(synced.status == 0 && synced.standardOutput.contains("3 items, 3 packages"), "\(synced)")

        // Every field in the cache, in the order its field lists name them, as Metrc gave it.
        let modified = MetrcTestServer.timestamp(anHourAgo)
        let (text, source) = try cacheRecord(root, Self.sourceTag)
        #expect(text.hasPrefix(#"{"version":2,"#))
        #expect(text.contains(#""packageFields":["tag","item","category","itemQuantityType","quantity","unitOfMeasure","packagedDate","isOnHold","isFinished","finishedDate","archivedDate","labTestingState","productionBatchNumber","part","lastModified","learnedAt"]"#))
        #expect(source?.hasPrefix(#"["\#(Self.sourceTag)","Blue Dream Buds","Buds","WeightBased",1360.8,"Grams","2026-11-01",false,false,null,null,"TestFailed","PB-2026-11-01","packages.active","\#(modified)","#) == true,
                "\(String(describing: source))")
        let onHold = try cacheRecord(root, held).record
        #expect(onHold?.hasPrefix(#"["\#(held)","Blue Dream Pre-Roll","Pre-Roll",null,24,"Each","2026-11-01",null,null,null,null,"TestPassed",null,"packages.onhold","#) == true,
                "the record kept as Metrc gave it (its nested QuantityType an integer, not read): \(String(describing: onHold))")
        let inactive = try cacheRecord(root, finished).record
        #expect(inactive?.hasPrefix(#"["\#(finished)","Blue Dream Live Resin","Concentrate",null,0,"Grams","2026-11-01",false,true,"\#(MetrcTestServer.day(anHourAgo))",null,"#) == true,
                "\(String(describing: inactive))")
        #expect(text.contains(#"["Blue Dream Pre-Roll","Pre-Roll","CountBased","Each","\#(MetrcTestServer.timestamp(anHourAgo))","#), "items keep their quantity type and unit")

        let shown = try Executable.run(["catalog", "show", "--config", config, Self.sourceTag])
        #expect(shown.status == 0, "\(shown)")
        for line in ["holds:         1360.8 Grams", "state:         active; lab testing TestFailed; packaged 2026-11-01; production batch PB-2026-11-01"] {
            #expect(shown.standardOutput.contains(line), "\(line) in \(shown.standardOutput)")
        }
        let heldShown = try Executable.run(["catalog", "show", "--config", config, held])
        #expect(heldShown.standardOutput.contains("holds:         24 Each") && heldShown.standardOutput.contains("state:         on hold;"),
                "the on-hold list's word: \(heldShown)")
        let item = try Executable.run(["catalog", "show", "--config", config, "Blue Dream Pre-Roll"])
        #expect(item.standardOutput.contains("counted:       CountBased, in Each"), "\(item)")
    }

    @Test func aCacheOfVersion1ServesItsCategoriesAndAFullSyncRefillsIt() throws {
        let now = Date()
        // Outside the two days of history the first sync reads: only the old cache knows it.
        let old = MetrcPackage(id: 804, label: "1A4FF0100000022000000804", item: Self.flower, quantity: 50,
                               lastModified: now.addingTimeInterval(-10 * 86_400), packagedDate: Self.november)
        let source = MetrcPackage(id: 801, label: Self.sourceTag, item: Self.flower, quantity: 1360.8, lastModified: now.addingTimeInterval(-1_800),
                                  packagedDate: Self.november)
        let metrc = try MetrcTestServer(items: [Self.flower, Self.resin], packages: [source, old])
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = try writeConfig(root: root, metrc: metrc)
        // As an earlier batchgate left it: every part synced a minute ago, so that a sync resuming
        // from there would not read the source again (modified half an hour ago).
        let synced = now.timeIntervalSince1970 - 60
        let parts = ["items", "packages.active", "packages.onhold", "packages.inactive"]
            .map { #""\#($0)":{"syncedUntil":\#(synced),"syncedAt":\#(synced),"count":1}"# }.joined(separator: ",")
        let version1 = #"{"version":1,"server":"\#(metrc.url)","licenseNumber":"\#(metrc.licenseNumber)","parts":{\#(parts)},"#
            + #""itemFields":["name","category","lastModified","learnedAt"],"#
            + #""items":[["Blue Dream Buds","Buds",null,\#(synced)],["Blue Dream Live Resin","Concentrate",null,\#(synced)]],"#
            + #""packageFields":["tag","item","category","part","lastModified","learnedAt"],"#
            + #""packages":[["\#(Self.sourceTag)","Blue Dream Buds","Buds","packages.active",null,\#(synced)],"#
            + #"["\#(old.label)","Blue Dream Buds","Buds","packages.active",null,\#(synced)]]}"#
        try fileManager.createDirectory(at: root.appendingPathComponent("catalog"), withIntermediateDirectories: true)
        try version1.write(to: root.appendingPathComponent("catalog/metrc.json"), atomically: true, encoding: .utf8)

        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", config])
        try daemon.start()
        #expect(waitUntil(timeout: 30) { daemon.log.contains("synced the catalog from Metrc") }, "\(daemon.log)")
        #expect(daemon.log.contains("read the Metrc catalog cache") && !daemon.log.contains("cannot use the Metrc catalog cache"), "\(daemon.log)")
        #expect(daemon.log.contains("is a cache of version 1: kept for categories; a full sync refills quantities and states"), "\(daemon.log)")
        // The old package is known by the old cache alone: its category decides, with no look-up.
        try drop(request(tag: "1A4FF0300000022000009010", item: "Blue Dream Live Resin", from: old.label), as: "old.json", into: daemon)
        #expect(waitUntil(timeout: 30) { daemon.routedCount == 1 }, "\(daemon.log)")
        #expect(daemon.manifests(in: "needs-batch") == ["old.json"], "\(report("old.json", in: "rejected", of: daemon))")
        #expect(try labelLookUps(metrc, old.label) == 0)
        #expect(daemon.stop() == 0)

        // A first sync: back over the whole history, not from the old parts' minute ago.
        let windows = try metrc.requests.filter { $0.path == "/packages/v2/active" }.compactMap { $0.query["lastModifiedStart"] }
        let earliest = try #require(windows.min())
        #expect(earliest <= MetrcTestServer.timestamp(now.addingTimeInterval(-2 * 86_400 + 600)), "\(windows)")
        let (text, refilled) = try cacheRecord(root, Self.sourceTag)
        #expect(text.hasPrefix(#"{"version":2,"#))
        #expect(refilled?.contains(#",1360.8,"Grams","2026-11-01",false,false,null,null,"TestPassed",null,"packages.active","#) == true,
                "\(String(describing: refilled))")
        let kept = try cacheRecord(root, old.label).record
        #expect(kept?.hasPrefix(#"["\#(old.label)","Blue Dream Buds","Buds",null,null,null,null,null,null,null,null,null,null,"packages.active",null,"#) == true,
                "kept for its category, its quantity unknown until Metrc lists it again: \(String(describing: kept))")
    }

    @Test func aWrongLicenceIsReportedAsSuchAndRejectsNothing() throws {
        let metrc = try MetrcTestServer(items: [Self.flower, Self.resin], packages: [Self.source])
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", try writeConfig(root: root, metrc: metrc, licence: "WRONG-LICENCE")])
        try daemon.start()
        #expect(waitUntil(timeout: 30) { daemon.log.contains("401") }, "\(daemon.log)")
        #expect(daemon.log.contains("WRONG-LICENCE"), "\(daemon.log)")
        try drop(request(tag: "1A4FF0300000022000009007", item: "Blue Dream Live Resin", from: Self.sourceTag), as: "waits.json", into: daemon)
        #expect(waitUntil(timeout: 30) { daemon.log.contains("wait in processing/ because they need Metrc") }, "\(daemon.log)")
        #expect(daemon.manifests(in: "rejected").isEmpty)
        #expect(daemon.stop() == 0)
    }

    @Test func catalogSyncPrintsWhatItReadAndTheRateAndCheckUsesTheCache() throws {
        let metrc = try MetrcTestServer(items: [Self.flower, Self.resin], packages: [Self.source])
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let config = try writeConfig(root: root, metrc: metrc)
        let synced = try Executable.run(["catalog", "sync", "--config", config])
        #expect(synced.status == 0, "\(synced)")
        for part in ["items", "packages.active", "packages.onhold", "packages.inactive", "GETs/s", "2 items, 1 packages"] {
            #expect(synced.standardOutput.contains(part), "\(part) in \(synced.standardOutput)")
        }
        let item = try Executable.run(["catalog", "show", "--config", config, "blue dream live resin"])
        #expect(item.status == 0 && item.standardOutput.contains("Concentrate"), "\(item)")
        let missing = try Executable.run(["catalog", "show", "--config", config, "1A4FF0100000022000000000"])
        #expect(missing.status == 1 && missing.standardError.contains("holds no package"), "\(missing)")

        let manifest = root.appendingPathComponent("resin.json")
        try request(tag: "1A4FF0300000022000009008", item: "Blue Dream Live Resin", from: Self.sourceTag).write(to: manifest)
        let checked = try Executable.run(["check", "--config", config, manifest.path])
        #expect(checked.status == 1, "needs a batch: \(checked)")
        #expect(checked.standardError.contains("the Metrc cache"), "\(checked)")
        let refused = try Executable.run(["check", "--config", config, "--item-change", "always", manifest.path])
        #expect(refused.status == 64 && refused.standardError.contains("--config gives the rules"), "\(refused)")

        try metrc.setDown(true)
        let down = try Executable.run(["catalog", "sync", "--config", config])
        #expect(down.status == 69, "\(down)")
        let wrong = try writeConfig(root: root, metrc: metrc, licence: "WRONG-LICENCE")
        try metrc.setDown(false)
        let refusedKeys = try Executable.run(["catalog", "sync", "--config", wrong])
        #expect(refusedKeys.status == 77 && refusedKeys.standardOutput.contains("WRONG-LICENCE"), "\(refusedKeys)")
    }
}
