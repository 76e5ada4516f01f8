import Foundation
import Testing
import TestSupport
import BatchgateCore
@testable import BatchgateMetrc

/// The client and its pulls against the Metrc-shaped server (Tests/TestSupport/metrc_server.py),
/// through libcurl: Basic auth, v2 envelopes and pages, day-long windows, the rate limits.
@Suite("Metrc pulls")
struct MetrcPullTests {
    /// 2026-12-01T00:00:00Z: the facility's records are modified over the three days after it.
    static let start = 1_796_083_200.0
    static let day = 86_400.0

    static func facility(items itemCount: Int, packages packageCount: Int) -> (items: [MetrcItem], packages: [MetrcPackage]) {
        let categories = ["Buds", "Shake/Trim", "Concentrate", "Vape Cartridge"]
        let items = (0..<itemCount).map { index in
            MetrcItem(id: index + 1, name: "Item \(index)", categoryName: categories[index % categories.count],
                      lastModified: Date(timeIntervalSince1970: start + Double(index) * 3 * day / Double(max(itemCount, 1))))
        }
        let spacing: Double = 3 * day / Double(max(packageCount, 1))
        let packages = (0..<packageCount).map { (index: Int) -> MetrcPackage in
            let state: MetrcPackage.State = index % 10 == 0 ? .onHold : .active
            let modified = Date(timeIntervalSince1970: start + 10 + Double(index) * spacing)
            return MetrcPackage(id: index + 1, label: String(format: "1A4FF01000000220000%05d", index), item: items[index % items.count],
                                state: state, lastModified: modified)
        }
        return (items, packages)
    }

    static func client(_ server: MetrcTestServer, userKey: String = MetrcTestServer.Options().userKey, perSecond: Int = 50,
                       concurrent: Int = 10, retry: MetrcClient.Retry = MetrcClient.Retry(attempts: 4, firstDelay: 0.05, maximumDelay: 0.5))
        -> MetrcClient {
        let api = MetrcAPI(server: server.url, licenseNumber: server.licenseNumber, vendorKey: MetrcTestServer.Options().vendorKey,
                           userKey: userKey, requestsPerSecond: perSecond, concurrentRequests: concurrent)
        return MetrcClient(api: api, transport: LibcurlMetrcTransport(), retry: retry)
    }

    @Test func everyPageOfEveryWindowIsRead() throws {
        let (items, packages) = Self.facility(items: 45, packages: 130)
        let server = try MetrcTestServer(items: items, packages: packages)
        let client = Self.client(server)
        let pulledItems = client.pullItems(from: Self.start, to: Self.start + 3 * Self.day)
        #expect(pulledItems.error == nil, "\(String(describing: pulledItems.error))")
        #expect(Set(pulledItems.records.map(\.entry.name)) == Set(items.map(\.name)))
        #expect(pulledItems.completeUntil == Self.start + 3 * Self.day)
        #expect(pulledItems.records.allSatisfy { $0.lastModified?.hasSuffix("+00:00") == true }, "LastModified kept as Metrc wrote it")

        let active = client.pullPackages(.active, from: Self.start, to: Self.start + 3 * Self.day)
        #expect(active.error == nil)
        let expected = packages.filter { $0.state == .active }
        #expect(active.records.map(\.entry.tag).sorted() == expected.map(\.label).sorted())
        // The nested item's ProductCategoryType is an integer in Metrc's packages: the category is read all the same.
        let first = try #require(active.records.first { $0.entry.tag == expected[0].label })
        #expect(first.entry.item == expected[0].item.name && first.entry.category == expected[0].item.categoryName)

        let requests = try server.requests.filter { $0.path == "/packages/v2/active" }
        #expect(requests.allSatisfy { $0.status == 200 && $0.rawQuery.contains("%2B00%3A00") })
        #expect(requests.compactMap { Int($0.query["pageSize"] ?? "") }.allSatisfy { $0 == 20 })
        #expect(active.requests == requests.count, "\(active.requests) counted, \(requests.count) served")
        // 117 active packages over three days: 39 a day, two pages each.
        #expect(requests.count == 6)
    }

    @Test func theSyncStaysUnderMetrcsRateLimitsAndSaysHowFastItWent() throws {
        // Sixty days of windows with nothing in them: 60 GETs as fast as the client may go.
        let server = try MetrcTestServer(items: [], packages: [])
        let client = Self.client(server)
        let begun = Date()
        let pull = client.pullPackages(.inactive, from: Self.start - 60 * Self.day, to: Self.start)
        let seconds = Date().timeIntervalSince(begun)
        #expect(pull.error == nil, "\(String(describing: pull.error))")
        let requests = try server.requests
        #expect(requests.filter { $0.status == 200 }.count == 60)
        // A 429 would be retried and the pull still whole; more than one would mean the pacing is off.
        #expect(requests.filter { $0.status == 429 }.count <= 1, "\(requests.map { $0.status ?? 0 })")
        let starts = requests.map(\.started).sorted()
        let busiest = starts.map { start in starts.filter { $0 >= start && $0 < start + 1 }.count }.max() ?? 0
        let inFlight = requests.compactMap(\.inFlight).max() ?? 0
        #expect(busiest <= 51 && inFlight <= 10)
        print("Metrc pull: 60 GETs in \(String(format: "%.2f", seconds)) s; at most \(busiest) started in one second (limit 50), "
              + "at most \(inFlight) in flight (limit 10)")
    }

    @Test func aLowerLimitIsKeptToo() throws {
        var options = MetrcTestServer.Options()
        options.maxPerSecond = 5
        options.maxConcurrent = 2
        options.latency = .milliseconds(50)
        let server = try MetrcTestServer(options, items: [], packages: [])
        let pull = Self.client(server, perSecond: 5, concurrent: 2).pullItems(from: Self.start - 12 * Self.day, to: Self.start)
        #expect(pull.error == nil)
        #expect(try server.requests.filter { $0.status == 429 }.count <= 1, "a server at 5 a second and 2 at once hardly had to refuse")
    }

    @Test func aBusyMetrcIsWaitedForAndTheRecordsStillCome() throws {
        var options = MetrcTestServer.Options()
        options.failFirst = 3
        options.failStatus = 429
        options.retryAfterSeconds = 0
        let (items, packages) = Self.facility(items: 4, packages: 10)
        let server = try MetrcTestServer(options, items: items, packages: packages)
        let pull = Self.client(server, concurrent: 1).pullItems(from: Self.start, to: Self.start + 3 * Self.day)
        #expect(pull.error == nil)
        #expect(pull.records.count == 4)
        #expect(try server.requests.filter { $0.status == 429 }.count == 3)
    }

    @Test func windowsGoOnThreadsOfTheirOwnUpToTheConcurrencyLimit() throws {
        var options = MetrcTestServer.Options()
        options.latency = .milliseconds(300)
        let server = try MetrcTestServer(options, items: [], packages: [])
        let pull = Self.client(server, concurrent: 6).pullItems(from: Self.start - 12 * Self.day, to: Self.start)
        #expect(pull.error == nil)
        let inFlight = try server.requests.compactMap(\.inFlight).max() ?? 0
        #expect(inFlight >= 4 && inFlight <= 6, "at most 6 at once, and near it: \(inFlight)")
    }

    @Test func aServerThatIgnoresThePageAskedForIsNotReadForEver() {
        // Every answer says page 1 of 3: the second GET shows the server does not page.
        let time = VirtualTime()
        let transport = ScriptedMetrc(time: time, Array(repeating: MetrcClientTests.answer(200, #"{"Data":[],"CurrentPage":1,"TotalPages":3}"#), count: 5))
        let client = MetrcClient(api: MetrcClientTests.api, transport: transport, clock: time.clock, sleep: time.sleep)
        let pull = client.pullItems(from: 0, to: 1)
        #expect(pull.error == .paging(endpoint: "/items/v2/active", asked: 2, answered: 1, total: 3))
        #expect(transport.asked.count == 2)
        #expect(pull.completeUntil == 0 && pull.requests == 2)
    }

    @Test func aFailedLaterWindowKeepsTheWholeOnesBeforeIt() {
        let time = VirtualTime()
        let page = #"{"Data":[{"Name":"Buds A","ProductCategoryName":"Buds","LastModified":"2026-12-01T00:00:00+00:00"}],"CurrentPage":1,"TotalPages":1}"#
        let transport = ScriptedMetrc(time: time, [MetrcClientTests.answer(200, page), MetrcClientTests.answer(200, page),
                                                   MetrcClientTests.answer(400, #"{"Message":"no"}"#)])
        var api = MetrcClientTests.api
        api.concurrentRequests = 1
        let client = MetrcClient(api: api, transport: transport, clock: time.clock, sleep: time.sleep)
        let pull = client.pullItems(from: 0, to: 4 * Self.day)
        #expect(pull.completeUntil == 2 * Self.day)
        #expect(pull.records.count == 2)
        guard case .metrc(.refused(_, 400, _))? = pull.error else { Issue.record("\(String(describing: pull.error))"); return }
        #expect(transport.asked.count == 3, "no window after the failed one is started")
    }

    // MARK: Records moving while a window is paged

    /// A page of items `names` as Metrc's v2 envelope writes it.
    static func itemPage(_ names: [String?], page: Int, totalPages: Int, totalRecords: Int) -> MetrcTransportResult {
        let records = names.map { name in
            (name.map { #""Name":"\#($0)","# } ?? "") + #""ProductCategoryName":"Buds","LastModified":"1970-01-01T00:00:00+00:00""#
        }
        return MetrcClientTests.answer(200, #"{"Data":[{\#(records.joined(separator: "},{"))}],"TotalRecords":\#(totalRecords),"# +
                                       #""TotalPages":\#(totalPages),"CurrentPage":\#(page)}"#)
    }

    static func scriptedClient(_ script: [MetrcTransportResult]) -> (MetrcClient, ScriptedMetrc) {
        let time = VirtualTime()
        let transport = ScriptedMetrc(time: time, script)
        return (MetrcClient(api: MetrcClientTests.api, transport: transport, clock: time.clock, sleep: time.sleep, jitter: { 0 }), transport)
    }

    @Test func aWindowWhoseRecordsMovedWhilePagedIsReadAgainFromItsFirstPage() {
        let firstPage = (0..<20).map { "Item \($0)" }
        let (client, transport) = Self.scriptedClient([
            Self.itemPage(firstPage, page: 1, totalPages: 2, totalRecords: 21),
            // Item 0 was modified meanwhile and left the window: Item 20 moved onto page 1, unseen.
            Self.itemPage([], page: 2, totalPages: 1, totalRecords: 20),
            Self.itemPage((1..<20).map { "Item \($0)" } + ["Item 20"], page: 1, totalPages: 1, totalRecords: 20),
        ])
        let pull = client.pullItems(from: 0, to: 1)
        #expect(pull.error == nil, "\(String(describing: pull.error))")
        #expect(pull.records.map(\.entry.name) == (1...20).map { "Item \($0)" }, "the second reading's records alone")
        #expect(transport.asked.map { $0.url.contains("pageNumber=1&") } == [true, false, true])
        #expect(pull.requests == 3 && pull.completeUntil == 1)
    }

    @Test func aWindowWhoseRecordsKeepMovingFailsAfterThreeMoreReadings() {
        // Every reading sees one record fewer on its second page than on its first.
        let script = (0..<4).flatMap { reading in
            [Self.itemPage(["A"], page: 1, totalPages: 2, totalRecords: 40 - reading), Self.itemPage(["B"], page: 2, totalPages: 2, totalRecords: 39 - reading)]
        }
        let (client, transport) = Self.scriptedClient(script)
        let pull = client.pullItems(from: 0, to: 1)
        #expect(pull.error == .recordsMoved(endpoint: "/items/v2/active", window: SyncWindow(start: 0, end: 1), reads: 4, firstTotal: 37, lastTotal: 36))
        #expect(pull.error?.description == "/items/v2/active, window 1970-01-01T00:00:00+00:00 to 1970-01-01T00:00:01+00:00: records were "
                + "modified while the window was read page by page, on each of 4 reads (the last saw 37 records on its first page and 36 "
                + "on a later one); the window is read again at the next sync")
        #expect(pull.error?.isTransient == true && pull.error?.isUnreachable == false)
        #expect(transport.asked.count == 8 && pull.records.isEmpty && pull.completeUntil == 0)
    }

    @Test func aPackageModifiedWhileItsWindowIsPagedDoesNotHideAnother() throws {
        // 45 packages in one day: three pages. The first leaves the day when page 2 is asked for.
        let item = MetrcItem(id: 1, name: "Buds A", lastModified: Date(timeIntervalSince1970: Self.start))
        let packages = (0..<45).map { index in
            MetrcPackage(id: index + 1, label: String(format: "1A4FF01000000220000%05d", index), item: item,
                         lastModified: Date(timeIntervalSince1970: Self.start + 60 + Double(index) * 60))
        }
        var options = MetrcTestServer.Options()
        options.movedWhilePaging = [packages[0].label: Date(timeIntervalSince1970: Self.start + 5 * Self.day)]
        let server = try MetrcTestServer(options, items: [item], packages: packages)
        let pull = Self.client(server, concurrent: 1).pullPackages(.active, from: Self.start, to: Self.start + Self.day)
        #expect(pull.error == nil, "\(String(describing: pull.error))")
        // The one that moved is the next pull's (its LastModified is past this one's span); not one other is lost.
        #expect(Set(pull.records.map(\.entry.tag)) == Set(packages.dropFirst().map(\.label)))
        let pages = try server.requests.compactMap { $0.query["pageNumber"] }
        #expect(pages == ["1", "2", "1", "2", "3"], "read again from page 1 once page 2 showed the move")
    }

    // MARK: Records that cannot be read

    @Test func aBadRecordIsSkippedAndNamedTheRestOfTheWindowKept() {
        let (client, _) = Self.scriptedClient([Self.itemPage(["Item 0", nil, "Item 2"], page: 1, totalPages: 1, totalRecords: 3)])
        let pull = client.pullItems(from: 0, to: 1)
        #expect(pull.error == nil)
        #expect(pull.records.map(\.entry.name) == ["Item 0", "Item 2"])
        #expect(pull.skipped == ["/items/v2/active, window 1970-01-01T00:00:00+00:00 to 1970-01-01T00:00:01+00:00, page 1, line 1: "
                                 + "Data[1]: an item has no Name"])
        #expect(pull.skippedCount == 1 && pull.completeUntil == 1)
    }

    @Test func skippedRecordsAreListedUpToACapAndCountedBeyondIt() {
        let (client, _) = Self.scriptedClient([
            Self.itemPage(Array(repeating: nil, count: 20), page: 1, totalPages: 4, totalRecords: 70),
            Self.itemPage(Array(repeating: nil, count: 20), page: 2, totalPages: 4, totalRecords: 70),
            Self.itemPage(Array(repeating: nil, count: 20), page: 3, totalPages: 4, totalRecords: 70),
            Self.itemPage(["Item 69"] + Array(repeating: nil, count: 9), page: 4, totalPages: 4, totalRecords: 70),
        ])
        let pull = client.pullItems(from: 0, to: 1)
        #expect(pull.records.map(\.entry.name) == ["Item 69"])
        #expect(pull.skipped.count == MetrcPull<Catalog.Item>.skippedListedAtMost && pull.skippedCount == 69)
        #expect(pull.skipped.last?.contains("page 3, line 1: Data[9]") == true)
    }

    @Test func anAnswerThatIsNotAPageStillFailsItsWindow() {
        let (client, _) = Self.scriptedClient([MetrcClientTests.answer(200, #"{"Data":{"Name":"x"},"TotalPages":1,"CurrentPage":1}"#)])
        let pull = client.pullItems(from: 0, to: 1)
        guard case .page(let error)? = pull.error else { Issue.record("\(String(describing: pull.error))"); return }
        #expect(error.problem == .dataNotAList(found: "an object"))
        #expect(pull.completeUntil == 0 && pull.skippedCount == 0)
    }

    @Test func theKeysAreNeverShownAndNeverSentInTheClearAcrossANetwork() {
        let api = MetrcAPI(server: "http://metrc.example.com", licenseNumber: "L", vendorKey: "VENDOR-SECRET", userKey: "USER-SECRET")
        var dumped = ""
        dump(api, to: &dumped)
        for text in ["\(api)", String(describing: api), String(reflecting: api), dumped] {
            #expect(!text.contains("SECRET"), "\(text)")
        }
        let time = VirtualTime()
        let transport = ScriptedMetrc(time: time)
        let client = MetrcClient(api: api, transport: transport, clock: time.clock, sleep: time.sleep)
        #expect(throws: MetrcError.insecure(server: "http://metrc.example.com")) { try client.get(.activeItems) }
        #expect(transport.asked.isEmpty)
        #expect(MetrcAPI(server: "http://127.0.0.1:8080", licenseNumber: "L", vendorKey: "v", userKey: "u").isLoopback)
        #expect(MetrcAPI(server: "http://localhost", licenseNumber: "L", vendorKey: "v", userKey: "u").isLoopback)
        #expect(MetrcAPI(server: "http://[::1]:9", licenseNumber: "L", vendorKey: "v", userKey: "u").isLoopback)
        #expect(!MetrcAPI(server: "http://127.example.com", licenseNumber: "L", vendorKey: "v", userKey: "u").isLoopback,
                "a name that starts with 127. is a name")
        #expect(!MetrcAPI(server: "https://api-wv.metrc.com", licenseNumber: "L", vendorKey: "v", userKey: "u").isLoopback)
    }

    @Test func refusedKeysStopThePullAndSaySo() throws {
        let server = try MetrcTestServer(items: [], packages: [])
        let pull = Self.client(server, userKey: "wrong").pullItems(from: Self.start, to: Self.start + 2 * Self.day)
        guard case .metrc(.unauthorized(let endpoint, let licence, _))? = pull.error else {
            Issue.record("\(String(describing: pull.error))")
            return
        }
        #expect(endpoint == "/items/v2/active" && licence == server.licenseNumber)
        #expect(pull.completeUntil == Self.start && pull.records.isEmpty)
        #expect(pull.error?.isTransient == false)
    }

    @Test func aMetrcThatIsDownIsTransientAndNothingCountsAsSynced() throws {
        let port = try ClosedPort()
        let api = MetrcAPI(server: "http://127.0.0.1:\(port.number)", licenseNumber: "L", vendorKey: "v", userKey: "u")
        let client = MetrcClient(api: api, transport: LibcurlMetrcTransport(), retry: MetrcClient.Retry(attempts: 2, firstDelay: 0.01, maximumDelay: 0.01))
        let pull = client.pullPackages(.active, from: Self.start, to: Self.start + Self.day)
        #expect(pull.error?.isTransient == true, "\(String(describing: pull.error))")
        #expect(pull.completeUntil == Self.start)
        #expect(pull.error?.description.hasPrefix("Metrc did not answer /packages/v2/active after 2 attempts") == true)
    }

    @Test func aPackageCreatedAfterThePullIsFoundByItsLabel() throws {
        let (items, packages) = Self.facility(items: 2, packages: 3)
        let server = try MetrcTestServer(items: items, packages: packages)
        let client = Self.client(server)
        let label = "1A4FF0100000022000099999"
        #expect(try client.get(.package(label: label)).status == 404, "not there yet")
        let new = MetrcPackage(id: 99, label: label, item: items[1], lastModified: Date())
        try server.write(items: items, packages: packages + [new])
        let answer = try client.get(.package(label: label))
        #expect(answer.status == 200)
        let page = try CatalogReader.readPackagePage(answer.body, endpoint: "/packages/v2/\(label)")
        #expect(page.entries == [Catalog.Package(tag: label, item: items[1].name, category: items[1].categoryName, quantity: 10,
                                                 unitOfMeasure: "Grams", packagedDate: MetrcTestServer.day(new.lastModified),
                                                 isOnHold: false, isFinished: false, labTestingState: "TestPassed",
                                                 lastModified: MetrcTestServer.timestamp(new.lastModified))])
    }
}
