import Foundation
import Synchronization
import Testing
import TestSupport
import BatchgateCore
import BatchgateMetrc
import BatchgateSystem
@testable import BatchgateCatalog

/// The monotonic clock plus an advance the test chooses: the service's own intervals (how soon it
/// asks a silent Metrc again, how soon an unknown item name syncs the items again) pass at once,
/// while the time a look-up takes is still real.
final class AdvancingClock: Sendable {
    private let advance = Mutex<Double>(0)

    /// What the service is given as its `clock`.
    var clock: @Sendable () -> Double { { [self] in System.monotonicClock() + advance.withLock { $0 } } }

    /// Moves the clock on by `seconds`, at once.
    func advance(by seconds: Double) { advance.withLock { $0 += seconds } }
}

/// The events a service sent, in order, from whichever thread sent them.
final class EventLog: Sendable {
    private let received = Mutex<[CatalogService.Event]>([])

    /// What the service is given as its `events`.
    var receive: @Sendable (CatalogService.Event) -> Void { { [self] event in received.withLock { $0.append(event) } } }

    /// Every event so far, in the order sent.
    var all: [CatalogService.Event] { received.withLock { $0 } }

    /// Each event in a word (`synced`, `unavailable`, `available`), for comparisons whose failure
    /// shows what did arrive.
    var kinds: [String] {
        all.map { event in
            switch event {
            case .synced: "synced"
            case .unavailable: "unavailable"
            case .available: "available"
            }
        }
    }

    /// The reports of the syncs, the reasons of the outages and the starts of those that ended.
    var syncs: [SyncReport] { all.compactMap { if case .synced(let report) = $0 { report } else { nil } } }
    var unavailableReasons: [String] { all.compactMap { if case .unavailable(let reason) = $0 { reason } else { nil } } }
    var availableSince: [Double] { all.compactMap { if case .available(let since) = $0 { since } else { nil } } }
}

/// One test's surroundings: the state folder holding the cache (and the outage marker beside it),
/// the log the services write there, and the clock they run on.
final class ServiceHarness {
    let folder: ScratchFolder
    let clock = AdvancingClock()
    let log: Logger
    private let logDescriptor: Int32
    private let logPath: String

    init() throws {
        folder = try ScratchFolder()
        logPath = folder.path + "/service.log"
        logDescriptor = open(logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        // Into a file, not the test run's output: the tests read it, and a person reads it when one fails.
        log = Logger(level: .info, fd: logDescriptor)
    }

    deinit { close(logDescriptor) }

    /// The cache, and the outage marker the service keeps beside it.
    var cachePath: String { folder.path + "/metrc.json" }
    var markerPath: String { folder.path + "/unreachable" }
    var markerExists: Bool { FileManager.default.fileExists(atPath: markerPath) }
    /// What the services logged so far.
    var logText: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// A service reading `api` through `transport`, its cache in this folder; only the start's
    /// sync runs (the refresh is an hour), and that only after `start()`.
    func service(_ api: MetrcAPI, transport: any MetrcTransport = LibcurlMetrcTransport(), lookupTimeout: Double = 3,
                 overlay: Catalog = Catalog(), events: EventLog) -> CatalogService {
        let settings = CatalogService.Settings(api: api, refresh: 3_600, history: CatalogServiceTests.day,
                                               lookupTimeout: lookupTimeout, cachePath: cachePath)
        return CatalogService(settings: settings, overlay: overlay, transport: transport, log: log, clock: clock.clock, events: events.receive)
    }

    /// A service on the Metrc-shaped `server`, with its keys and (unless told) its licence.
    func service(_ server: MetrcTestServer, licence: String? = nil, lookupTimeout: Double = 3, overlay: Catalog = Catalog(),
                 events: EventLog) -> CatalogService {
        service(CatalogServiceTests.api(server, licence: licence), lookupTimeout: lookupTimeout, overlay: overlay, events: events)
    }
}

/// The live catalog: the cache read at start, the sync thread, look-ups of what the cache lacks,
/// and what the service says when Metrc stops and starts answering — against the Metrc-shaped
/// server (Tests/TestSupport/metrc_server.py) through libcurl, and a transport that must not be
/// asked where no request may be sent.
@Suite("Catalog service")
struct CatalogServiceTests {
    static let day = 86_400.0
    /// The facility of the caches written by hand: Metrc's West Virginia server, the test server's licence.
    static let server = "https://api-wv.metrc.com"
    static let licence = MetrcTestServer.Options().licenseNumber
    /// Long enough for the client's retries against a Metrc answering 503 (four tries over about
    /// seven seconds) to end within a look-up, on a loaded machine too: only then does a look-up
    /// know Metrc is down rather than slow.
    static let outlastsRetries = 30.0

    /// The test server's API with its keys; two look-ups at once, so that two tags go in parallel.
    static func api(_ server: MetrcTestServer, licence: String? = nil) -> MetrcAPI {
        MetrcAPI(server: server.url, licenseNumber: licence ?? server.licenseNumber,
                 vendorKey: MetrcTestServer.Options().vendorKey, userKey: MetrcTestServer.Options().userKey, concurrentRequests: 2)
    }

    /// An item and a package in each state, modified an hour ago: within the day the first sync reads.
    static func facility() -> (items: [MetrcItem], packages: [MetrcPackage]) {
        let anHourAgo = Date().addingTimeInterval(-3_600)
        let buds = MetrcItem(id: 1, name: "Blue Dream Buds", categoryName: "Buds", lastModified: anHourAgo)
        let trim = MetrcItem(id: 2, name: "Sour Diesel Trim", categoryName: "Shake/Trim", lastModified: anHourAgo)
        let packages = [
            MetrcPackage(id: 1, label: tag(1), item: buds, state: .active, lastModified: anHourAgo),
            MetrcPackage(id: 2, label: tag(2), item: trim, state: .onHold, lastModified: anHourAgo),
            MetrcPackage(id: 3, label: tag(3), item: buds, state: .inactive, lastModified: anHourAgo),
        ]
        return ([buds, trim], packages)
    }

    /// A package made just now, after any sync: only a look-up of its label finds it.
    static func newPackage(_ number: Int = 50) -> MetrcPackage {
        let item = MetrcItem(id: 9, name: "Gelato Cart", categoryName: "Vape Cartridge", lastModified: Date())
        return MetrcPackage(id: number, label: tag(number), item: item, lastModified: Date())
    }

    /// A transport that must not be asked: it records the URL and answers 500.
    static func unasked() -> AnsweringTransport {
        AnsweringTransport { url in .answered(status: 500, retryAfter: nil, body: Array("this test sends no request: \(url)".utf8)) }
    }

    // MARK: The cache read at start

    @Test func theCacheReadAtStartIsTheCatalogWithTheFilesLaidOverIt() throws {
        let harness = try ServiceHarness()
        var cached = MetrcSnapshot(server: Self.server, licenseNumber: Self.licence)
        cached.learn(items: [itemRecord("Blue Dream Buds", "Buds"), itemRecord("Sour Diesel Trim", "Shake/Trim")], at: 1_796_083_200)
        cached.learn(packages: [packageRecord(tag(1), item: "Blue Dream Buds", category: "Buds"),
                                packageRecord(tag(2), item: "Sour Diesel Trim", category: "Shake/Trim")],
                     from: .activePackages, at: 1_796_083_200)
        cached.markSynced(.activePackages, until: 1_796_083_000, at: 1_796_083_200)
        try MetrcCacheFile.save(cached, to: harness.cachePath)

        let files = Catalog(items: [Catalog.Item(name: "sour diesel trim", category: "Concentrate")],
                            packages: [Catalog.Package(tag: tag(2), item: "House Blend", category: "Concentrate")])
        let transport = Self.unasked()
        let events = EventLog()
        let service = harness.service(MetrcAPI(server: Self.server, licenseNumber: Self.licence, vendorKey: "v", userKey: "u"),
                                      transport: transport, overlay: files, events: events)

        #expect(service.snapshot == cached)
        #expect(service.availability == .unknown, "nothing asked yet")
        let current = service.current
        #expect(current.category(ofItem: "blue dream buds") == "Buds" && current.package(tagged: tag(1))?.category == "Buds")
        // The files name what is local to the facility: their entry wins, whole, for the same name or
        // tag; one that says nothing of stock or state keeps what Metrc says of them.
        #expect(current.category(ofItem: "Sour Diesel Trim") == "Concentrate")
        #expect(current.package(tagged: tag(2)) == Catalog.Package(tag: tag(2), item: "House Blend", category: "Concentrate", isOnHold: false,
                                                                   lastModified: "2026-12-01T10:00:00+00:00"))
        #expect(service.lookUp(CatalogMisses(packages: [tag(1)])) == .answered(current), "a tag the cache holds is not looked up")

        // A reload's files replace the old ones: nothing of them is left.
        service.setOverlay(Catalog(packages: [Catalog.Package(tag: tag(1), item: "Blue Dream Pre-Roll", category: "Pre-Roll")]))
        let reloaded = service.current
        #expect(reloaded.package(tagged: tag(1)) == Catalog.Package(tag: tag(1), item: "Blue Dream Pre-Roll", category: "Pre-Roll", isOnHold: false,
                                                                    lastModified: "2026-12-01T10:00:00+00:00"))
        #expect(reloaded.package(tagged: tag(2))?.category == "Shake/Trim" && reloaded.category(ofItem: "Sour Diesel Trim") == "Shake/Trim")
        #expect(service.snapshot == cached, "the files are laid over the cache, never written into it")

        #expect(transport.urls.isEmpty && events.all.isEmpty)
        #expect(harness.logText.contains("read the Metrc catalog cache \(harness.cachePath): 2 items, 2 packages"))
    }

    @Test func aCacheOfVersion1IsKeptForCategoriesAndEveryPartIsSyncedAfresh() throws {
        let harness = try ServiceHarness()
        try harness.folder.write(#"{"version":1,"server":"\#(Self.server)","licenseNumber":"\#(Self.licence)","#
            + #""parts":{"items":{"syncedUntil":1796083000,"syncedAt":1796083200,"count":1}},"#
            + #""itemFields":["name","category","lastModified","learnedAt"],"items":[["Blue Dream Buds","Buds",null,1796083200]],"#
            + #""packageFields":["tag","item","category","part","lastModified","learnedAt"],"#
            + #""packages":[["\#(tag(1))","Blue Dream Buds","Buds","packages.onhold",null,1796083200]]}"#, to: "metrc.json")
        let service = harness.service(MetrcAPI(server: Self.server, licenseNumber: Self.licence, vendorKey: "v", userKey: "u"),
                                      transport: Self.unasked(), events: EventLog())
        #expect(harness.logText.contains("read the Metrc catalog cache \(harness.cachePath): 1 items, 1 packages"), "\(harness.logText)")
        #expect(harness.logText.contains("the Metrc catalog cache \(harness.cachePath) is a cache of version 1: kept for categories; "
                                         + "a full sync refills quantities and states"), "\(harness.logText)")
        #expect(service.snapshot.parts.isEmpty && service.syncedAt == nil, "the next sync is a first one")
        #expect(service.current.category(ofItem: "blue dream buds") == "Buds")
        #expect(service.current.package(tagged: tag(1)) == Catalog.Package(tag: tag(1), item: "Blue Dream Buds", category: "Buds", isOnHold: true))
    }

    @Test func aCacheOfVersion1IsSavedInThisVersionAfterTheFirstSyncThoughItLearnedNothing() throws {
        // Metrc lists nothing in the history read: no part learns a record, so no part saves.
        let server = try MetrcTestServer()
        let harness = try ServiceHarness()
        try harness.folder.write(#"{"version":1,"server":"\#(server.url)","licenseNumber":"\#(server.licenseNumber)","parts":{},"#
            + #""itemFields":["name","category","lastModified","learnedAt"],"items":[["Blue Dream Buds","Buds",null,1796083200]],"#
            + #""packageFields":["tag","item","category","part","lastModified","learnedAt"],"packages":[]}"#, to: "metrc.json")
        let events = EventLog()
        let service = harness.service(server, events: events)
        service.start()
        defer { service.stop() }
        #expect(eventually(60) { !events.syncs.isEmpty }, "no sync reported: \(harness.logText)")
        #expect(events.syncs.first?.parts.allSatisfy { $0.records == 0 } == true)
        // The next start reads the parts this sync marked, rather than syncing everything again.
        #expect(eventually(30) { (try? MetrcCacheFile.read(harness.cachePath))??.version == 2 }, "\(harness.logText)")
        let saved = try #require(try MetrcCacheFile.read(harness.cachePath))
        #expect(Set(saved.snapshot.parts.keys) == Set(CatalogPart.allCases) && saved.snapshot.item(named: "Blue Dream Buds") != nil)
    }

    @Test(arguments: [("https://api-ca.metrc.com", licence), (server, "SF-SBX-WV-1-9999")])
    func aCacheOfAnotherServerOrLicenceIsNotUsed(cachedServer: String, cachedLicence: String) throws {
        let harness = try ServiceHarness()
        var foreign = MetrcSnapshot(server: cachedServer, licenseNumber: cachedLicence)
        foreign.learn(items: [itemRecord("Blue Dream Buds", "Buds")], at: 1)
        foreign.learn(packages: [packageRecord(tag(1), item: "Blue Dream Buds", category: "Buds")], from: .activePackages, at: 1)
        try MetrcCacheFile.save(foreign, to: harness.cachePath)
        let files = Catalog(items: [Catalog.Item(name: "House Blend", category: "Concentrate")])

        let service = harness.service(MetrcAPI(server: Self.server, licenseNumber: Self.licence, vendorKey: "v", userKey: "u"),
                                      transport: Self.unasked(), overlay: files, events: EventLog())

        // Another facility's records must not decide this one's manifests.
        #expect(service.snapshot == MetrcSnapshot(server: Self.server, licenseNumber: Self.licence))
        #expect(service.current == files)
        #expect(harness.logText.contains("is of \(cachedServer) licence \(cachedLicence), not the configured \(Self.server) licence \(Self.licence)"),
                "\(harness.logText)")
    }

    @Test func aCacheThatCannotBeReadIsLoggedAndTheServiceStartsEmpty() throws {
        let harness = try ServiceHarness()
        try harness.folder.write(#"{"version": 1, "server": "#, to: "metrc.json")
        let service = harness.service(MetrcAPI(server: Self.server, licenseNumber: Self.licence, vendorKey: "v", userKey: "u"),
                                      transport: Self.unasked(), events: EventLog())
        #expect(service.snapshot == MetrcSnapshot(server: Self.server, licenseNumber: Self.licence) && service.current == Catalog())
        #expect(harness.logText.contains("cannot use the Metrc catalog cache: the Metrc catalog cache \(harness.cachePath) is not a cache"),
                "\(harness.logText)")
    }

    // MARK: The sync thread

    @Test func startSyncsEveryPartIntoTheCatalogAndTheCacheFileAndSaysSo() throws {
        let (items, packages) = Self.facility()
        let server = try MetrcTestServer(items: items, packages: packages)
        let harness = try ServiceHarness()
        let events = EventLog()
        let files = Catalog(packages: [Catalog.Package(tag: tag(3), item: "House Blend", category: "Concentrate")])
        let service = harness.service(server, overlay: files, events: events)
        #expect(service.syncedAt == nil, "no part synced yet")
        service.start()
        defer { service.stop() }

        #expect(eventually(60) { !events.syncs.isEmpty }, "no sync reported: \(harness.logText)")
        let report = try #require(events.syncs.first)
        #expect(report.succeeded, "\(String(describing: report.firstError))")
        #expect(report.parts.map(\.part) == CatalogPart.allCases && report.parts.map(\.records) == [2, 1, 1, 1])
        // Marked just after the sync is reported.
        #expect(eventually(30) { service.availability == .available })
        #expect(events.kinds == ["synced"], "Metrc answered from the start: no outage to end")

        let current = service.current
        #expect(current.category(ofItem: "Sour Diesel Trim") == "Shake/Trim")
        let synced = packages[0]
        #expect(current.package(tagged: tag(1)) == Catalog.Package(
            tag: tag(1), item: "Blue Dream Buds", category: "Buds", quantity: 10, unitOfMeasure: "Grams",
            packagedDate: MetrcTestServer.day(synced.lastModified), isOnHold: false, isFinished: false, labTestingState: "TestPassed",
            lastModified: MetrcTestServer.timestamp(synced.lastModified)), "every field Metrc gives; its nested QuantityType, an integer, unread")
        #expect(current.package(tagged: tag(2))?.category == "Shake/Trim" && current.package(tagged: tag(2))?.isOnHold == true, "on hold")
        #expect(current.package(tagged: tag(3))?.category == "Concentrate", "the files still win over what the sync learned")
        #expect(current.package(tagged: tag(3))?.isFinished == true && current.package(tagged: tag(3))?.quantity == 10,
                "the files' entry names no stock or state: Metrc's are kept")
        #expect(service.snapshot.package(tagged: tag(3))?.part == .inactivePackages)
        #expect(Set(service.snapshot.parts.keys) == Set(CatalogPart.allCases))
        // The catalog is as current as its stalest part.
        #expect(service.syncedAt != nil && service.syncedAt == service.snapshot.parts.values.map(\.syncedAt).min())

        // Every part learned a record, so each was saved after it: the file is the snapshot whole.
        #expect(try MetrcCacheFile.load(harness.cachePath) == service.snapshot)
        let requests = try server.requests
        #expect(requests.count == report.requests && requests.allSatisfy { $0.status == 200 })
        #expect(Set(requests.map(\.path)) == ["/items/v2/active", "/packages/v2/active", "/packages/v2/onhold", "/packages/v2/inactive"])
    }

    @Test func anItemNameTheCacheLacksSyncsTheItemsAtMostOnceAMinute() throws {
        let (items, packages) = Self.facility()
        let server = try MetrcTestServer(items: items, packages: packages)
        let harness = try ServiceHarness()
        let events = EventLog()
        // Generous: the items sync runs on the sync thread, which a loaded machine may be slow to wake.
        let service = harness.service(server, lookupTimeout: 20, events: events)
        service.start()
        defer { service.stop() }
        #expect(eventually(60) { !events.syncs.isEmpty }, "no sync reported: \(harness.logText)")
        let afterStart = try server.requests.count

        let gelato = MetrcItem(id: 3, name: "Gelato Cart", categoryName: "Vape Cartridge", lastModified: Date().addingTimeInterval(-30))
        try server.write(items: items + [gelato], packages: packages)

        // Made in Metrc after the start's sync: the name makes an items sync begun after the ask.
        let outcome = service.lookUp(CatalogMisses(items: ["gelato cart"]))
        guard case .answered(let catalog) = outcome else { Issue.record("\(outcome)\n\(harness.logText)"); return }
        #expect(catalog.category(ofItem: "Gelato Cart") == "Vape Cartridge")
        #expect(service.current.category(ofItem: "Gelato Cart") == "Vape Cartridge")
        let asked = try server.requests.dropFirst(afterStart)
        #expect(!asked.isEmpty && asked.allSatisfy { $0.path == "/items/v2/active" }, "only the items: \(asked.map(\.path))")

        // A name Metrc does not have: one more items sync, then answered as unknown.
        let beforeWrong = try server.requests.count
        guard case .answered(let wrong) = service.lookUp(CatalogMisses(items: ["Gelatto Cart"])) else {
            Issue.record("a name Metrc does not have is answered (as unknown) once the items are synced"); return
        }
        #expect(wrong.category(ofItem: "Gelatto Cart") == nil)
        let afterWrong = try server.requests.count
        #expect(afterWrong > beforeWrong)
        // Asked again within the minute (the next manifest with the same typo): no GET.
        #expect(service.lookUp(CatalogMisses(items: ["gelatto cart"])) == .answered(service.current))
        #expect(try server.requests.count == afterWrong)
        // After it, Metrc is asked again: the item may have been made since.
        harness.clock.advance(by: CatalogService.itemRefreshInterval)
        _ = service.lookUp(CatalogMisses(items: ["Gelatto Cart"]))
        #expect(try server.requests.count > afterWrong)
        // The sync thread reports its syncs just after the look-ups have seen them end.
        #expect(eventually(30) { events.syncs.count == 4 }, "\(events.kinds)")
        #expect(events.syncs.dropFirst().allSatisfy { $0.parts.map(\.part) == [.items] })
    }

    @Test func anItemNameLookedUpWhileMetrcIsDownWaitsAndIsNeverAnsweredAsUnknown() throws {
        let (items, packages) = Self.facility()
        let server = try MetrcTestServer(items: items, packages: packages)
        try server.setDown(true)
        let harness = try ServiceHarness()
        let events = EventLog()
        let service = harness.service(server, lookupTimeout: Self.outlastsRetries, events: events)
        service.start()
        defer { service.stop() }
        #expect(eventually(60) { events.kinds == ["synced", "unavailable"] }, "\(events.kinds)")

        // The start's sync did not read the items: a name the cache lacks may well be in Metrc,
        // however lately that sync ran.
        harness.clock.advance(by: CatalogService.probeInterval)
        let down = service.lookUp(CatalogMisses(items: ["Blue Dream Buds"]))
        guard case .unavailable(let reason) = down else { Issue.record("answered while Metrc is down: \(down)"); return }
        #expect(reason.hasPrefix("Metrc did not answer /items/v2/active"), "\(reason)")
        #expect(events.unavailableReasons.count == 1)

        try server.setDown(false)
        harness.clock.advance(by: CatalogService.probeInterval)
        let back = service.lookUp(CatalogMisses(items: ["Blue Dream Buds"]))
        guard case .answered(let catalog) = back else { Issue.record("\(back)\n\(harness.logText)"); return }
        #expect(catalog.category(ofItem: "Blue Dream Buds") == "Buds")
        // The sync that read the items says Metrc is back, just after the look-up has seen it end.
        #expect(eventually(30) { events.availableSince.count == 1 }, "\(events.kinds)")
        #expect(events.unavailableReasons.count == 1 && service.availability == .available)
    }

    @Test func aTagLookedUpDuringASyncIsKeptWhenTheSyncEnds() throws {
        let (items, packages) = Self.facility()
        // Made ten days ago: outside the day the first sync reads, so only its look-up finds it.
        let old = MetrcPackage(id: 60, label: tag(60), item: items[0], lastModified: Date().addingTimeInterval(-10 * Self.day))
        var options = MetrcTestServer.Options()
        // Each GET takes three seconds: the sync's four parts, one after another, outlast a look-up begun after the first.
        options.latency = .seconds(3)
        let server = try MetrcTestServer(options, items: items, packages: packages + [old])
        let harness = try ServiceHarness()
        let events = EventLog()
        let service = harness.service(server, lookupTimeout: 20, events: events)
        service.start()
        defer { service.stop() }

        #expect(eventually(60) { ((try? server.requests) ?? []).contains { $0.path == "/items/v2/active" } })
        let outcome = service.lookUp(CatalogMisses(packages: [old.label]))
        guard case .answered(let catalog) = outcome else { Issue.record("\(outcome)"); return }
        #expect(catalog.package(tagged: old.label) != nil)
        #expect(eventually(60) { !events.syncs.isEmpty }, "no sync reported: \(harness.logText)")

        let requests = try server.requests
        let lookUp = try #require(requests.first { $0.path == "/packages/v2/\(old.label)" })
        let lastOfSync = try #require(requests.first { $0.path == "/packages/v2/inactive" })
        #expect(try #require(lookUp.ended) < lastOfSync.started, "the look-up ended while the sync was still running")
        // The sync worked on its own copy of the snapshot: what the look-up learned meanwhile is not lost with it.
        #expect(service.current.package(tagged: old.label)?.item == "Blue Dream Buds")
        #expect(service.snapshot.package(tagged: old.label)?.part == nil, "learned by its label")
        #expect(eventually(30) { (try? MetrcCacheFile.load(harness.cachePath))??.package(tagged: old.label) != nil })
    }

    // MARK: Look-ups

    @Test func aTagTheCacheLacksIsLookedUpByLabelOnceAndAnUnknownOneIsAnsweredWithout() throws {
        let new = Self.newPackage()
        let unknown = tag(77)
        let server = try MetrcTestServer(packages: [new])
        let harness = try ServiceHarness()
        let events = EventLog()
        let service = harness.service(server, events: events)

        let outcome = service.lookUp(CatalogMisses(packages: [new.label, unknown]))
        guard case .answered(let catalog) = outcome else { Issue.record("\(outcome)"); return }
        #expect(catalog.package(tagged: new.label) == Catalog.Package(
            tag: new.label, item: "Gelato Cart", category: "Vape Cartridge", quantity: 10, unitOfMeasure: "Grams",
            packagedDate: MetrcTestServer.day(new.lastModified), isOnHold: false, isFinished: false, labTestingState: "TestPassed",
            lastModified: MetrcTestServer.timestamp(new.lastModified)))
        #expect(catalog.package(tagged: unknown) == nil, "Metrc answered 404: the manifest is rejected naming it")
        let requests = try server.requests
        #expect(requests.map(\.path).sorted() == ["/packages/v2/\(new.label)", "/packages/v2/\(unknown)"].sorted())
        #expect(requests.map(\.status).sorted { ($0 ?? 0) < ($1 ?? 0) } == [200, 404])
        #expect(service.current == catalog && service.snapshot.package(tagged: new.label)?.part == nil)
        #expect(service.availability == .available && events.all.isEmpty, "\(events.kinds)")

        #expect(service.lookUp(CatalogMisses(packages: [new.label])) == .answered(catalog))
        #expect(try server.requests.count == 2, "a tag learned once costs no GET again")
        #expect(service.lookUp(CatalogMisses(packages: [unknown])) == .answered(catalog))
        #expect(try server.requests.count == 2, "nor does one Metrc said it does not have, for a while")
        harness.clock.advance(by: CatalogService.notFoundInterval)
        _ = service.lookUp(CatalogMisses(packages: [unknown]))
        #expect(try server.requests.count == 3, "after it, Metrc is asked again: the tag may exist now")
    }

    @Test func metrcDownIsAnnouncedOnceHoweverManyLookUpsAndItsReturnOnce() throws {
        let new = Self.newPackage()
        let server = try MetrcTestServer(packages: [new])
        try server.setDown(true)
        let harness = try ServiceHarness()
        let events = EventLog()
        let service = harness.service(server, lookupTimeout: Self.outlastsRetries, events: events)
        let misses = CatalogMisses(packages: [new.label])

        let first = service.lookUp(misses)
        guard case .unavailable(let reason) = first else { Issue.record("\(first)"); return }
        #expect(reason.hasPrefix("Metrc did not answer /packages/v2/\(new.label) after \(CatalogService.retry.attempts) attempts (last: HTTP 503"), "\(reason)")
        #expect(events.unavailableReasons == [reason])
        guard case .unavailable(let since, _) = service.availability else { Issue.record("\(service.availability)"); return }
        // The daemon records the outage once its alert is written.
        #expect(!harness.markerExists)
        service.outageAnnounced(since: since, reason: reason)
        #expect(harness.markerExists, "the next start must know the outage was announced")
        #expect(try server.requests.count == CatalogService.retry.attempts)

        // Within the probe interval every look-up (each batch of waiting manifests) answers at
        // once, from what is known, without asking Metrc.
        for _ in 0..<5 {
            let began = System.monotonicClock()
            #expect(service.lookUp(misses) == .unavailable(reason))
            #expect(System.monotonicClock() - began < 5, "no GET, so no retries to wait for")
        }
        #expect(try server.requests.count == CatalogService.retry.attempts)

        // Once it has passed Metrc is asked again; still down, it is not announced again.
        harness.clock.advance(by: CatalogService.probeInterval)
        guard case .unavailable = service.lookUp(misses) else { Issue.record("Metrc is still down"); return }
        #expect(try server.requests.count == 2 * CatalogService.retry.attempts)
        #expect(events.kinds == ["unavailable"])

        // Back, but asked again only once the interval has passed since the last try.
        try server.setDown(false)
        #expect(service.lookUp(misses) == .unavailable(reason))
        #expect(try server.requests.count == 2 * CatalogService.retry.attempts)
        harness.clock.advance(by: CatalogService.probeInterval)
        let back = service.lookUp(misses)
        guard case .answered(let catalog) = back else { Issue.record("\(back)"); return }
        #expect(catalog.package(tagged: new.label)?.category == "Vape Cartridge")
        #expect(events.kinds == ["unavailable", "available"])
        #expect(events.availableSince == [since])
        service.outageEndAnnounced()
        #expect(service.availability == .available && !harness.markerExists)

        #expect(service.lookUp(CatalogMisses(packages: [tag(78)])) == .answered(catalog))
        #expect(events.kinds == ["unavailable", "available"], "answering on is no news")
    }

    @Test func anOutageSeenByTheLastRunIsNotAnnouncedAgainAndItsEndIs() throws {
        let new = Self.newPackage()
        let server = try MetrcTestServer(packages: [new])
        try server.setDown(true)
        let harness = try ServiceHarness()
        let misses = CatalogMisses(packages: [new.label])

        let before = EventLog()
        let earlier = harness.service(server, lookupTimeout: Self.outlastsRetries, events: before)
        guard case .unavailable(let reason) = earlier.lookUp(misses) else { Issue.record("Metrc is down"); return }
        guard case .unavailable(let since, _) = earlier.availability else { Issue.record("\(earlier.availability)"); return }
        #expect(before.kinds == ["unavailable"])
        earlier.outageAnnounced(since: since, reason: reason)
        #expect(harness.markerExists)

        // A restart: a new service on the same cache.
        let events = EventLog()
        let service = harness.service(server, lookupTimeout: Self.outlastsRetries, events: events)
        #expect(service.availability == .unavailable(since: since, reason: reason))
        #expect(harness.logText.contains("Metrc did not answer when batchgate last ran"))

        // Still down: the last run announced it, so this one does not.
        guard case .unavailable = service.lookUp(misses) else { Issue.record("Metrc is still down"); return }
        #expect(events.all.isEmpty, "\(events.kinds)")
        #expect(harness.markerExists)

        try server.setDown(false)
        harness.clock.advance(by: CatalogService.probeInterval)
        let back = service.lookUp(misses)
        guard case .answered(let catalog) = back else { Issue.record("\(back)"); return }
        #expect(catalog.package(tagged: new.label) != nil)
        #expect(events.kinds == ["available"] && events.availableSince == [since], "the end of the outage the last run announced")
        #expect(harness.markerExists, "until the daemon has announced the end")
        service.outageEndAnnounced()
        #expect(!harness.markerExists)
        #expect(service.availability == .available)
    }

    @Test(arguments: [false, true])
    func aLookUpEndsAtItsTimeWhenMetrcIsSlowOrSilentWithoutAnnouncingAnOutage(hang: Bool) throws {
        let new = Self.newPackage()
        var options = MetrcTestServer.Options()
        if hang { options.hang = true } else { options.latency = .seconds(10) }
        let server = try MetrcTestServer(options, packages: [new])
        let harness = try ServiceHarness()
        let events = EventLog()
        let service = harness.service(server, lookupTimeout: 2, events: events)

        let began = System.monotonicClock()
        let outcome = service.lookUp(CatalogMisses(packages: [new.label]))
        let seconds = System.monotonicClock() - began
        #expect(outcome == .unavailable("Metrc answered 0 of 1 look-up(s) by label within 2s"))
        // Well short of the answer (ten seconds away, or never) and of libcurl's own timeout.
        #expect(seconds >= 1.9 && seconds < 8, "\(seconds) s")
        // Slow is not down: the manifests wait for the next try, and no alert is sent.
        #expect(events.all.isEmpty && service.availability == .unknown && !harness.markerExists)

        if !hang {
            // The request went on after the look-up gave up on it, and its answer is learned.
            #expect(eventually(60) { service.current.package(tagged: new.label) != nil })
        }
    }

    @Test func aLicenceMetrcRefusesIsUnavailableNamingItAndAnnounced() throws {
        let server = try MetrcTestServer(packages: [Self.newPackage()])
        let harness = try ServiceHarness()
        let events = EventLog()
        let service = harness.service(server, licence: "SF-SBX-WV-1-9999", events: events)
        service.start()
        defer { service.stop() }
        // Every part refused: the account cannot be used, which is announced like silence.
        #expect(eventually(60) { events.kinds == ["synced", "unavailable"] }, "\(events.kinds)")
        let reason = try #require(events.unavailableReasons.first)
        #expect(reason.contains("HTTP 401") && reason.contains("the licence SF-SBX-WV-1-9999"), "\(reason)")
        let afterSync = try server.requests.count
        #expect(afterSync == CatalogPart.allCases.count, "a refusal is not tried again")

        // A look-up is refused the same way: the manifest waits, and nothing new is announced.
        let outcome = service.lookUp(CatalogMisses(packages: [Self.newPackage().label]))
        guard case .unavailable(let why) = outcome else { Issue.record("\(outcome)"); return }
        #expect(why.contains("HTTP 401"), "\(why)")
        #expect(events.kinds == ["synced", "unavailable"])
        #expect(try server.requests.count == afterSync + 1)
    }
}
