import Foundation
import Synchronization
import Testing
import TestSupport
import BatchgateCore
import BatchgateMetrc
import BatchgateSystem
@testable import BatchgateCatalog

/// A wall clock the test sets: "now" for the sync's windows.
final class SettableClock: Sendable {
    private let now: Mutex<Double>

    init(_ now: Double) { self.now = Mutex(now) }

    var clock: @Sendable () -> Double { { [self] in now.withLock { $0 } } }

    func set(_ time: Double) { now.withLock { $0 = time } }
}

/// Answers each GET by its URL, for syncs whose failures must fall in one chosen window.
final class AnsweringTransport: MetrcTransport {
    private let answer: @Sendable (String) -> MetrcTransportResult
    private let asked = Mutex<[String]>([])

    init(_ answer: @escaping @Sendable (String) -> MetrcTransportResult) { self.answer = answer }

    var urls: [String] { asked.withLock { $0 } }

    func get(url: String, user: String, password: String) -> MetrcTransportResult {
        asked.withLock { $0.append(url) }
        return answer(url)
    }
}

/// Syncs against the Metrc-shaped server (Tests/TestSupport/metrc_server.py) through libcurl, and
/// against answers chosen per URL where a failure must fall in one window.
@Suite("Catalog sync")
struct CatalogSyncTests {
    /// 2026-12-01T00:00:00Z: the facility's records are modified over the three days after it.
    static let start = 1_796_083_200.0
    static let day = 86_400.0
    /// "Now" for the first sync: the end of the three days.
    static let now = start + 3 * day

    /// `items` items and `packages` packages over the three days; a tenth of the packages on hold,
    /// a tenth inactive.
    static func facility(items itemCount: Int, packages packageCount: Int) -> (items: [MetrcItem], packages: [MetrcPackage]) {
        let categories = ["Buds", "Shake/Trim", "Concentrate", "Vape Cartridge"]
        let items = (0..<itemCount).map { index in
            MetrcItem(id: index + 1, name: "Item \(index)", categoryName: categories[index % categories.count],
                      lastModified: Date(timeIntervalSince1970: start + Double(index) * 3 * day / Double(itemCount)))
        }
        let packages = (0..<packageCount).map { (index: Int) -> MetrcPackage in
            let state: MetrcPackage.State = index % 10 == 0 ? .onHold : index % 10 == 1 ? .inactive : .active
            return MetrcPackage(id: index + 1, label: tag(index), item: items[index % items.count], state: state,
                                lastModified: Date(timeIntervalSince1970: start + 10 + Double(index) * 3 * day / Double(packageCount)))
        }
        return (items, packages)
    }

    static func client(_ server: MetrcTestServer, licence: String? = nil,
                       retry: MetrcClient.Retry = MetrcClient.Retry(attempts: 4, firstDelay: 0.05, maximumDelay: 0.5)) -> MetrcClient {
        let api = MetrcAPI(server: server.url, licenseNumber: licence ?? server.licenseNumber,
                           vendorKey: MetrcTestServer.Options().vendorKey, userKey: MetrcTestServer.Options().userKey)
        return MetrcClient(api: api, transport: LibcurlMetrcTransport(), retry: retry)
    }

    static func emptySnapshot(_ server: MetrcTestServer) -> MetrcSnapshot {
        MetrcSnapshot(server: server.url, licenseNumber: server.licenseNumber)
    }

    /// Metrc's text for a time, as the server's log has it decoded.
    static func text(_ seconds: Double) -> String { MetrcTestServer.timestamp(Date(timeIntervalSince1970: seconds)) }

    // MARK: Against the Metrc-shaped server

    @Test func aFirstSyncReadsEveryPageOfEveryWindowOfEveryPartAndMarksThemSynced() throws {
        let (items, packages) = Self.facility(items: 45, packages: 130)
        let server = try MetrcTestServer(items: items, packages: packages)
        var snapshot = Self.emptySnapshot(server)
        var saved: [Set<CatalogPart>] = []
        let sync = CatalogSync(client: Self.client(server), history: 5 * Self.day, clock: SettableClock(Self.now).clock)
        let report = sync.run(&snapshot) { saved.append(Set($0.parts.keys)) }
        #expect(report.succeeded && !report.unreachable && report.firstError == nil, "\(String(describing: report.firstError))")

        #expect(snapshot.itemCount == 45 && snapshot.packageCount == 130)
        for package in packages {
            let learned = snapshot.package(tagged: package.label)
            let part: CatalogPart = switch package.state {
            case .active: .activePackages
            case .onHold: .onHoldPackages
            case .inactive: .inactivePackages
            }
            // The nested item's ProductCategoryType is the integer 0: the category is read all the same.
            #expect(learned?.entry.item == package.item.name && learned?.entry.category == package.item.categoryName && learned?.part == part)
        }
        #expect(snapshot.catalog.category(ofItem: "item 7") == items[7].categoryName)
        for part in CatalogPart.allCases {
            #expect(snapshot.parts[part]?.syncedUntil == Self.now, "\(part)")
        }
        #expect(snapshot.parts[.activePackages]?.count == 104 && snapshot.parts[.items]?.count == 45)
        #expect(report.parts.map(\.part) == CatalogPart.allCases)
        #expect(report.parts.map(\.records) == [45, 104, 13, 13])
        #expect(saved == [[.items], [.items, .activePackages], [.items, .activePackages, .onHoldPackages], Set(CatalogPart.allCases)],
                "saved after each part, with the parts done so far")

        let requests = try server.requests
        #expect(report.requests == requests.count && requests.allSatisfy { $0.status == 200 })
        for endpoint in ["/items/v2/active", "/packages/v2/active", "/packages/v2/onhold", "/packages/v2/inactive"] {
            let starts = Set(requests.filter { $0.path == endpoint }.compactMap { $0.query["lastModifiedStart"] })
            #expect(starts == Set((0..<5).map { Self.text(Self.now - 5 * Self.day + Double($0) * Self.day) }), "\(endpoint): five days")
        }
        // 104 active packages over three days: 35 a day, two pages each.
        #expect(requests.filter { $0.path == "/packages/v2/active" && $0.query["pageNumber"] == "2" }.count == 3)
    }

    @Test func theNextSyncReadsOnlyFromWhereTheLastEndedLessTheOverlap() throws {
        let (items, packages) = Self.facility(items: 8, packages: 20)
        let server = try MetrcTestServer(items: items, packages: packages)
        var snapshot = Self.emptySnapshot(server)
        let clock = SettableClock(Self.now)
        let sync = CatalogSync(client: Self.client(server), history: 4 * Self.day, overlap: 300, clock: clock.clock)
        #expect(sync.run(&snapshot).succeeded)
        let firstCount = try server.requests.count

        // A package made ten minutes after the sync, found an hour later.
        let new = MetrcPackage(id: 99, label: tag(99), item: items[1], lastModified: Date(timeIntervalSince1970: Self.now + 600))
        try server.write(items: items, packages: packages + [new])
        clock.set(Self.now + 3_600)
        var saves = 0
        let report = sync.run(&snapshot) { _ in saves += 1 }
        #expect(report.succeeded)
        let second = try server.requests.dropFirst(firstCount)
        #expect(second.count == 4, "one window of one page per part")
        #expect(second.allSatisfy { $0.query["lastModifiedStart"] == Self.text(Self.now - 300) && $0.query["lastModifiedEnd"] == Self.text(Self.now + 3_600) })
        #expect(snapshot.package(tagged: new.label)?.entry.category == items[1].categoryName)
        #expect(report.parts.map(\.records) == [0, 1, 0, 0] && saves == 1, "saved once: only active packages learned something")
        #expect(snapshot.parts.values.allSatisfy { $0.syncedUntil == Self.now + 3_600 })
    }

    @Test func onlyTheItemsAreSyncedWhenOnlyTheyAreAskedFor() throws {
        let (items, packages) = Self.facility(items: 3, packages: 3)
        let server = try MetrcTestServer(items: items, packages: packages)
        var snapshot = Self.emptySnapshot(server)
        let report = CatalogSync(client: Self.client(server), history: 3 * Self.day, clock: SettableClock(Self.now).clock)
            .run(&snapshot, parts: [.items])
        #expect(report.parts.map(\.part) == [.items] && snapshot.itemCount == 3 && snapshot.packageCount == 0)
        #expect(try server.requests.allSatisfy { $0.path == "/items/v2/active" })
        #expect(Array(snapshot.parts.keys) == [.items])
    }

    @Test func theFirstSyncOfInactivePackagesGoesBackAMonthAtMost() throws {
        let server = try MetrcTestServer()
        var snapshot = Self.emptySnapshot(server)
        let report = CatalogSync(client: Self.client(server), history: 40 * Self.day, clock: SettableClock(Self.now).clock)
            .run(&snapshot, parts: [.inactivePackages])
        #expect(report.succeeded && report.requests == 30)
        let starts = try server.requests.compactMap { $0.query["lastModifiedStart"] }
        #expect(starts.min() == Self.text(Self.now - CatalogSync.inactiveHistory))
    }

    @Test(arguments: [nil, 1] as [Int?])
    func aBusyMetrcAnswering429IsWaitedFor(retryAfter: Int?) throws {
        var options = MetrcTestServer.Options()
        options.failFirst = 3
        options.failStatus = 429
        options.retryAfterSeconds = retryAfter
        let (items, packages) = Self.facility(items: 4, packages: 10)
        let server = try MetrcTestServer(options, items: items, packages: packages)
        var snapshot = Self.emptySnapshot(server)
        let began = System.monotonicClock()
        let report = CatalogSync(client: Self.client(server), history: 3 * Self.day, clock: SettableClock(Self.now).clock).run(&snapshot)
        let seconds = System.monotonicClock() - began
        #expect(report.succeeded, "\(String(describing: report.firstError))")
        #expect(snapshot.itemCount == 4 && snapshot.packageCount == 10)
        #expect(try server.requests.filter { $0.status == 429 }.count == 3)
        if let retryAfter {
            #expect(seconds >= Double(retryAfter), "Retry-After is honoured: \(seconds) s")
        }
    }

    @Test func aWrongLicenceIsReportedAsSuchAndNotAsMetrcUnreachable() throws {
        let (items, packages) = Self.facility(items: 3, packages: 3)
        let server = try MetrcTestServer(items: items, packages: packages)
        var snapshot = Self.emptySnapshot(server)
        let report = CatalogSync(client: Self.client(server, licence: "SF-SBX-WV-1-9999"), history: 2 * Self.day,
                                 clock: SettableClock(Self.now).clock).run(&snapshot)
        #expect(!report.succeeded && !report.unreachable)
        #expect(report.parts.count == 4, "every part is tried and reported")
        for part in report.parts {
            guard case .metrc(.unauthorized(_, "SF-SBX-WV-1-9999", _))? = part.error else { Issue.record("\(part.part): \(String(describing: part.error))"); continue }
            #expect(part.error?.isTransient == false && part.records == 0)
        }
        #expect(report.firstError?.description.contains("check the vendor key and the user key, and that the licence SF-SBX-WV-1-9999") == true)
        #expect(snapshot.parts.isEmpty && snapshot.packageCount == 0)
    }

    @Test func aMetrcThatIsDownIsUnreachableAndTheSnapshotKeptAsItWas() throws {
        let port = try ClosedPort()
        let api = MetrcAPI(server: "http://127.0.0.1:\(port.number)", licenseNumber: "L", vendorKey: "v", userKey: "u")
        let client = MetrcClient(api: api, transport: LibcurlMetrcTransport(), retry: MetrcClient.Retry(attempts: 2, firstDelay: 0.01, maximumDelay: 0.01))
        var snapshot = MetrcSnapshot(server: api.server, licenseNumber: "L")
        snapshot.learn(items: [itemRecord("A", "Buds")], at: 1)
        snapshot.markSynced(.items, until: Self.now - Self.day, at: Self.now - Self.day)
        let before = snapshot
        var saves = 0
        let report = CatalogSync(client: client, history: 2 * Self.day, clock: SettableClock(Self.now).clock).run(&snapshot) { _ in saves += 1 }
        #expect(report.unreachable && !report.succeeded)
        // The first part's silence ends the sync: the others would only spend retries on it.
        #expect(report.parts.count == 1 && report.parts[0].error?.isUnreachable == true)
        #expect(report.untried == [.activePackages, .onHoldPackages, .inactivePackages])
        #expect(report.firstError?.description.hasPrefix("Metrc did not answer /items/v2/active after 2 attempts") == true)
        #expect(snapshot == before && saves == 0)
    }

    @Test func theGETRateReachedAgainstMetrcsLimitsIsMeasured() throws {
        // A hundred days of empty windows for three parts and thirty for the inactive: 330 GETs as
        // fast as the limits let them go (50 a second, 10 at once). Long enough that the first
        // second's burst (50 at once, as the limit allows) does not make the rate look higher
        // than a first sync of a year (1,125 GETs) reaches.
        let server = try MetrcTestServer()
        var snapshot = Self.emptySnapshot(server)
        let report = CatalogSync(client: Self.client(server), history: 100 * Self.day, clock: SettableClock(Self.now).clock).run(&snapshot)
        #expect(report.succeeded, "\(String(describing: report.firstError))")
        let requests = try server.requests
        #expect(requests.filter { $0.status == 200 }.count == 330)
        #expect(requests.filter { $0.status == 429 }.count <= 1, "\(requests.map { $0.status ?? 0 })")
        let starts = requests.map(\.started).sorted()
        let busiest = starts.map { start in starts.filter { $0 >= start && $0 < start + 1 }.count }.max() ?? 0
        let inFlight = requests.compactMap(\.inFlight).max() ?? 0
        #expect(busiest <= 51 && inFlight <= 10)
        print("Catalog sync: \(report.requests) GETs in \(String(format: "%.2f", report.seconds)) s = "
              + "\(String(format: "%.1f", report.requestsPerSecond)) GETs/s (limit 50/s); at most \(busiest) started in one second, "
              + "at most \(inFlight) in flight (limit 10); per part: "
              + report.parts.map { "\($0.part.rawValue) \($0.requests) in \(String(format: "%.2f", $0.seconds)) s" }.joined(separator: ", "))
    }

    // MARK: Failures in chosen windows

    /// `/items/v2/active` answers one item a day; the window starting `failingDay` days after
    /// `start` answers `failure`. Packages answer nothing.
    static func itemsTransport(failingDay: Int, failure: MetrcTransportResult) -> AnsweringTransport {
        AnsweringTransport { url in
            guard url.contains("/items/") else { return .answered(status: 200, retryAfter: nil, body: Array(#"{"Data":[],"TotalRecords":0,"TotalPages":0,"CurrentPage":1}"#.utf8)) }
            for day in 0..<10 where url.contains("lastModifiedStart=" + text(start + Double(day) * CatalogSyncTests.day).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: "+", with: "%2B")) {
                if day == failingDay { return failure }
                let body = #"{"Data":[{"Name":"Item \#(day)","ProductCategoryName":"Buds","LastModified":"\#(text(start + Double(day) * CatalogSyncTests.day + 60))"}],"#
                    + #""TotalRecords":1,"TotalPages":1,"CurrentPage":1}"#
                return .answered(status: 200, retryAfter: nil, body: Array(body.utf8))
            }
            return .answered(status: 500, retryAfter: nil, body: Array("no such window in the test: \(url)".utf8))
        }
    }

    @Test func aPartThatFailedKeepsItsWholeWindowsAndTheNextSyncResumesAtTheirEnd() {
        let transport = Self.itemsTransport(failingDay: 2, failure: .answered(status: 400, retryAfter: nil, body: Array(#"{"Message":"busy"}"#.utf8)))
        let api = MetrcAPI(server: "https://api-wv.metrc.com", licenseNumber: "L", vendorKey: "v", userKey: "u", concurrentRequests: 1)
        let client = MetrcClient(api: api, transport: transport, sleep: { _ in })
        var snapshot = MetrcSnapshot(server: api.server, licenseNumber: "L")
        let clock = SettableClock(Self.start + 4 * Self.day)
        let sync = CatalogSync(client: client, history: 4 * Self.day, overlap: 300, clock: clock.clock)
        let report = sync.run(&snapshot, parts: [.items])
        guard case .metrc(.refused(_, 400, _))? = report.firstError else { Issue.record("\(String(describing: report.firstError))"); return }
        #expect(!report.unreachable && report.parts[0].records == 2)
        #expect(snapshot.itemCount == 2 && snapshot.parts[.items]?.syncedUntil == Self.start + 2 * Self.day, "the two whole days are kept")

        // The failing day is failing still: the part stays where it was, never moved back by the overlap.
        let again = sync.run(&snapshot, parts: [.items])
        #expect(again.firstError != nil && snapshot.parts[.items]?.syncedUntil == Self.start + 2 * Self.day)
        #expect(transport.urls.last?.contains("lastModifiedStart=" + Self.text(Self.start + 2 * Self.day - 300)
            .replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: "+", with: "%2B")) == true)
    }

    @Test func aRecordThatCannotBeReadIsSkippedAndReportedTheRestLearned() {
        let transport = AnsweringTransport { url in
            let body = url.contains("/items/")
                ? #"{"Data":[{"Name":"Good","ProductCategoryName":"Buds"},{"ProductCategoryName":"Buds"}],"TotalRecords":2,"TotalPages":1,"CurrentPage":1}"#
                : #"{"Data":[],"TotalRecords":0,"TotalPages":0,"CurrentPage":1}"#
            return .answered(status: 200, retryAfter: nil, body: Array(body.utf8))
        }
        let client = MetrcClient(api: MetrcAPI(server: "https://api-wv.metrc.com", licenseNumber: "L", vendorKey: "v", userKey: "u"),
                                 transport: transport, sleep: { _ in })
        var snapshot = MetrcSnapshot(server: "https://api-wv.metrc.com", licenseNumber: "L")
        let report = CatalogSync(client: client, history: 3_600, clock: SettableClock(Self.now).clock).run(&snapshot)
        #expect(report.succeeded)
        #expect(snapshot.item(named: "good") != nil && snapshot.parts[.items]?.syncedUntil == Self.now)
        #expect(report.parts[0].skippedCount == 1)
        #expect(report.parts[0].skipped.first?.hasSuffix("page 1, line 1: Data[1]: an item has no Name") == true, "\(report.parts[0].skipped)")
    }
}
