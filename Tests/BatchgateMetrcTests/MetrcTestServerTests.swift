import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import Testing
import BatchgateHTTP
import TestSupport

/// metrc_server.py, driven over real HTTP with URLSession: the tests of the catalog sync will
/// trust that it refuses what Metrc refuses and answers in Metrc's shapes, so that is checked here.
@Suite("Metrc test server")
struct MetrcTestServerTests {
    /// Midnight UTC on a fixed day: the records' times and the windows are built from it.
    static let day = Date(timeIntervalSince1970: 1_772_409_600)  // 2026-03-02T00:00:00Z
    static let buds = MetrcItem(id: 101, name: "Blue Dream Buds", strainName: "Blue Dream", lastModified: day.addingTimeInterval(3_600))

    @Test func refusesMissingAndWrongKeysAsPlainText401() async throws {
        let server = try MetrcTestServer(items: [Self.buds])
        let options = MetrcTestServer.Options()
        for (keys, expected) in [(nil, 401), (("wrong", options.userKey), 401), ((options.vendorKey, "wrong"), 401),
                                 ((options.vendorKey, options.userKey), 200)] as [((String, String)?, Int)] {
            let answer = try await Client.get(server, "/items/v2/active", Self.window(), keys: keys)
            #expect(answer.status == expected, "keys \(String(describing: keys)): \(answer.text)")
            if expected == 401 { #expect(answer.contentType.hasPrefix("text/plain"), "\(answer.contentType)") }
        }
    }

    @Test func anotherFacilitysLicenceIs401() async throws {
        let package = MetrcPackage(id: 1, label: Self.tag(1), item: Self.buds, lastModified: Self.day)
        let server = try MetrcTestServer(packages: [package])
        let list = try await Client.get(server, "/packages/v2/active", Self.window(), licence: "SF-SBX-WV-1-9999")
        #expect(list.status == 401)
        #expect(list.contentType.hasPrefix("text/plain"))
        let one = try await Client.get(server, "/packages/v2/\(package.label)", [], licence: "SF-SBX-WV-1-9999")
        #expect(one.status == 401, "a package asked for under another licence")
        #expect(try await Client.get(server, "/packages/v2/\(package.label)", []).status == 200)
    }

    @Test func aForbiddenPathIs403() async throws {
        var options = MetrcTestServer.Options()
        options.forbiddenPaths = ["/packages/"]
        let server = try MetrcTestServer(options, items: [Self.buds])
        #expect(try await Client.get(server, "/packages/v2/active", Self.window()).status == 403)
        #expect(try await Client.get(server, "/items/v2/active", Self.window()).status == 200)
    }

    @Test func pagesV2InMetrcsEnvelopeAndV1AsABareArray() async throws {
        let packages = (1...45).map { MetrcPackage(id: $0, label: Self.tag($0), item: Self.buds, lastModified: Self.day.addingTimeInterval(Double($0) * 60)) }
            + [MetrcPackage(id: 99, label: Self.tag(99), item: Self.buds, state: .inactive, lastModified: Self.day)]
        let server = try MetrcTestServer(packages: packages)
        var labels: [String] = []
        for (pageNumber, rows) in [(1, 20), (2, 20), (3, 5), (4, 0)] {
            let answer = try await Client.get(server, "/packages/v2/active", Self.window() + [("pageNumber", "\(pageNumber)"), ("pageSize", "20")])
            let envelope = try #require(answer.json as? [String: Any], "\(answer.text)")
            let data = try #require(envelope["Data"] as? [[String: Any]])
            #expect(data.count == rows)
            #expect(envelope["RecordsOnPage"] as? Int == rows)
            #expect(envelope["Total"] as? Int == 45)
            #expect(envelope["TotalRecords"] as? Int == 45)
            #expect(envelope["PageSize"] as? Int == 20)
            #expect(envelope["Page"] as? Int == pageNumber)
            #expect(envelope["CurrentPage"] as? Int == pageNumber)
            #expect(envelope["TotalPages"] as? Int == 3)
            labels += data.compactMap { $0["Label"] as? String }
        }
        #expect(labels == (1...45).map(Self.tag), "every active package once, in order, none inactive")

        let v1 = try await Client.get(server, "/packages/v1/active", Self.window())
        let array = try #require(v1.json as? [[String: Any]], "v1 answers a bare array: \(v1.text)")
        #expect(array.count == 45)
        let inactive = try #require(try await Client.get(server, "/packages/v1/inactive", Self.window()).json as? [[String: Any]])
        #expect(inactive.compactMap { $0["Label"] as? String } == [Self.tag(99)])
        #expect(inactive.first?["IsFinished"] as? Bool == true)
    }

    @Test func aPageSizeOver20IsRefusedWithAMessage() async throws {
        let server = try MetrcTestServer(items: [Self.buds])
        let refused = try await Client.get(server, "/items/v2/active", Self.window() + [("pageNumber", "1"), ("pageSize", "21")])
        #expect(refused.status == 400)
        let message = try #require((refused.json as? [String: Any])?["Message"] as? String, "\(refused.text)")
        #expect(message.contains("pageSize"))
        #expect(try await Client.get(server, "/items/v2/active", Self.window() + [("pageNumber", "1"), ("pageSize", "20")]).status == 200)
    }

    @Test func windowsAreRequiredAtMost24HoursAndHalfOpen() async throws {
        let start = Self.day
        let end = start.addingTimeInterval(24 * 3_600)
        let items = [
            MetrcItem(id: 1, name: "Before", lastModified: start.addingTimeInterval(-1)),
            MetrcItem(id: 2, name: "AtStart", lastModified: start),
            MetrcItem(id: 3, name: "Inside", lastModified: start.addingTimeInterval(3_600)),
            MetrcItem(id: 4, name: "AtEnd", lastModified: end),
        ]
        let server = try MetrcTestServer(items: items)
        let day = try await Client.get(server, "/items/v2/active", Self.window(from: start, to: end))
        let names = ((day.json as? [String: Any])?["Data"] as? [[String: Any]])?.compactMap { $0["Name"] as? String }
        #expect(names == ["AtStart", "Inside"], "[start, end): \(day.text)")

        let wide = try await Client.get(server, "/items/v2/active", Self.window(from: start, to: end.addingTimeInterval(1)))
        #expect(wide.status == 400)
        #expect((wide.json as? [String: Any])?["Message"] is String, "\(wide.text)")
        #expect(try await Client.get(server, "/items/v1/active", Self.window(from: start, to: end.addingTimeInterval(1))).status == 400)
        #expect(try await Client.get(server, "/items/v2/active", []).status == 400, "no window")
        let bare = try await Client.get(server, "/items/v2/active", [], rawQuery: "lastModifiedStart=2026-03-02T00:00:00+00:00"
                                        + "&lastModifiedEnd=2026-03-02T12:00:00+00:00")
        #expect(bare.status == 400, "an offset's + sent unencoded arrives as a space: \(bare.text)")
    }

    @Test func aPackagesNestedCategoryTypeIsTheInteger0WhereTheItemsEndpointSaysBuds() async throws {
        let package = MetrcPackage(id: 7, label: Self.tag(7), item: Self.buds, sourcePackageLabels: [Self.tag(3)], lastModified: Self.day)
        let server = try MetrcTestServer(items: [Self.buds], packages: [package])
        let answer = try await Client.get(server, "/packages/v2/\(package.label)", [])
        let record = try #require(answer.json as? [String: Any], "a single object: \(answer.text)")
        #expect(record["state"] == nil, "the data file's own field stays out")
        #expect(record["Label"] as? String == package.label)
        #expect(record["SourcePackageLabels"] as? String == Self.tag(3))
        let nested = try #require(record["Item"] as? [String: Any])
        #expect(nested["Name"] as? String == "Blue Dream Buds")
        #expect(nested["ProductCategoryName"] as? String == "Buds")
        #expect(nested["ProductCategoryType"] as? Int == 0 && !(nested["ProductCategoryType"] is String))
        #expect(nested["QuantityType"] as? Int == 0)

        let items = try await Client.get(server, "/items/v2/active", Self.window())
        let item = try #require(((items.json as? [String: Any])?["Data"] as? [[String: Any]])?.first)
        #expect(item["ProductCategoryType"] as? String == "Buds")
        #expect(item["QuantityType"] as? String == "WeightBased")

        let unknown = try await Client.get(server, "/packages/v2/\(Self.tag(8))", [])
        #expect(unknown.status == 404)
    }

    @Test(arguments: [nil, 7] as [Int?])
    func overTheRateLimitIs429WithRetryAfterOnlyWhenTold(retryAfter: Int?) async throws {
        var options = MetrcTestServer.Options()
        options.maxPerSecond = 5
        options.retryAfterSeconds = retryAfter
        let server = try MetrcTestServer(options, items: [Self.buds])
        var answers: [Client.Answer] = []
        for _ in 0..<10 { answers.append(try await Client.get(server, "/items/v2/active", Self.window())) }
        let refused = answers.filter { $0.status == 429 }
        #expect(!refused.isEmpty, "10 GETs back to back, limit 5 a second: \(answers.map(\.status))")
        #expect(answers.prefix(5).allSatisfy { $0.status == 200 })
        for answer in refused { #expect(answer.header("Retry-After") == retryAfter.map(String.init)) }

        // By the server's own clock: each 429 came when 5 had been let through in the second
        // before it, and no 200 did.
        let log = try server.requests
        for (index, request) in log.enumerated() {
            let admittedBefore = log[..<index].filter { $0.status == 200 && $0.started > request.started - 1 }.count
            #expect((request.status == 429) == (admittedBefore >= 5), "request \(index): \(request)")
        }
    }

    @Test func moreAtOnceThanTheConcurrencyLimitIs429() async throws {
        var options = MetrcTestServer.Options()
        options.maxConcurrent = 2
        // Long enough that all five overlap even on a loaded machine.
        options.latency = .milliseconds(1_500)
        let server = try MetrcTestServer(options, items: [Self.buds])
        // Five threads of their own, started together (libcurl blocks, Swift's pool has one thread
        // a core, and GCD starts threads for blocked work one at a time).
        let collected = Mutex<[Int]>([])
        let done = DispatchSemaphore(value: 0)
        let threads = (0..<5).map { _ in
            Thread {
                let status = (try? Client.blockingGet(server, "/items/v2/active", Self.window()).status) ?? -1
                collected.withLock { $0.append(status) }
                done.signal()
            }
        }
        threads.forEach { $0.start() }
        for _ in threads { done.wait() }
        let statuses = collected.withLock { $0 }
        #expect(statuses.contains(429), "\(statuses)")
        #expect(statuses.filter { $0 == 200 }.count <= 2, "\(statuses)")
        let log = try server.requests
        #expect(log.count == 5)
        for request in log { #expect((request.status == 429) == ((request.inFlight ?? 0) > 2), "\(request)") }
    }

    @Test func theFirstRequestsFailAsScripted() async throws {
        var options = MetrcTestServer.Options()
        options.failFirst = 2
        options.failStatus = 503
        options.retryAfterSeconds = 3
        let server = try MetrcTestServer(options, items: [Self.buds])
        var answers: [Client.Answer] = []
        for _ in 0..<3 { answers.append(try await Client.get(server, "/items/v2/active", Self.window())) }
        #expect(answers.map(\.status) == [503, 503, 200])
        #expect(answers[0].header("Retry-After") == "3")
        #expect(answers[2].header("Retry-After") == nil)
    }

    @Test func aPackageWrittenWhileItRunsIsFoundByLabel() async throws {
        let first = MetrcPackage(id: 1, label: Self.tag(1), item: Self.buds, lastModified: Self.day)
        let server = try MetrcTestServer(items: [Self.buds], packages: [first])
        let later = MetrcPackage(id: 2, label: Self.tag(2), item: Self.buds, quantity: 3.5, lastModified: Self.day.addingTimeInterval(60))
        #expect(try await Client.get(server, "/packages/v2/\(later.label)", []).status == 404)
        try server.write(items: [Self.buds], packages: [first, later])
        let found = try await Client.get(server, "/packages/v2/\(later.label)", [])
        #expect(found.status == 200)
        #expect((found.json as? [String: Any])?["Quantity"] as? Double == 3.5)
    }

    @Test func aRecordWithoutLastModifiedIs500NamingTheDataFile() async throws {
        let server = try MetrcTestServer()
        try server.write(document: ["licenseNumber": server.licenseNumber, "items": [["Id": 1, "Name": "Undated"]], "packages": []])
        let answer = try await Client.get(server, "/items/v2/active", Self.window())
        #expect(answer.status == 500)
        #expect(answer.text.contains("facility.json") && answer.text.contains("'Undated'"), "\(answer.text)")
    }

    @Test func logsEachRequestWithItsTimesAndTheRequestsInFlight() async throws {
        var options = MetrcTestServer.Options()
        options.latency = .milliseconds(50)
        let server = try MetrcTestServer(options, items: [Self.buds])
        for _ in 0..<3 { _ = try await Client.get(server, "/items/v2/active", Self.window() + [("pageNumber", "1"), ("pageSize", "20")]) }
        let log = try server.requests
        #expect(log.count == 3)
        for (index, request) in log.enumerated() {
            #expect(request.method == "GET")
            #expect(request.path == "/items/v2/active")
            #expect(request.status == 200)
            #expect(request.inFlight == 1, "one after another")
            #expect(request.query["pageSize"] == "20")
            #expect(request.query["licenseNumber"] == server.licenseNumber)
            #expect(request.query["lastModifiedStart"] == "2026-03-02T00:00:00+00:00", "decoded")
            #expect(request.rawQuery.contains("2026-03-02T00%3A00%3A00%2B00%3A00"), "as sent: \(request.rawQuery)")
            let ended = try #require(request.ended)
            #expect(ended - request.started >= 0.05, "the latency is inside the request's span")
            if index > 0 { #expect(request.started >= log[index - 1].ended ?? .infinity) }
        }
    }

    @Test func aHangingServerTakesTheRequestAndAnswersNothing() throws {
        var options = MetrcTestServer.Options()
        options.hang = true
        let server = try MetrcTestServer(options)
        // A socket rather than URLSession: the request is surely sent whole before the wait, and
        // the wait is a poll of the socket, not a client's timer (which swift-corelibs-foundation
        // spins on while it waits).
        let port = try #require(URL(string: server.url)?.port)
        let connection = try RawConnection(port: port)
        try connection.send("GET /items/v2/active?licenseNumber=\(server.licenseNumber) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(connection.bytesArriving(within: .milliseconds(300)) == 0)
        // The server logs a hung request once its thread has read it.
        #expect(eventually(5) { ((try? server.requests) ?? []).count == 1 })
        let request = try #require(try server.requests.first)
        #expect(request.path == "/items/v2/active")
        #expect(request.status == nil)
        #expect(request.ended == nil)
    }

    /// A 24-character tag whose last 8 digits are `sequence`.
    static func tag(_ sequence: Int) -> String {
        "1A4FF0100000022" + "0" + String(format: "%08d", sequence)
    }

    /// The window from `start` to `end`, or for 24 hours, in Metrc's date-times.
    static func window(from start: Date = day, to end: Date? = nil) -> [(String, String)] {
        [("lastModifiedStart", MetrcTestServer.timestamp(start)),
         ("lastModifiedEnd", MetrcTestServer.timestamp(end ?? start.addingTimeInterval(24 * 3_600)))]
    }
}

/// GETs as a catalog client sends them, through URLSession.
enum Client {
    /// One answer, read whole.
    struct Answer: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var contentType: String { header("Content-Type") ?? "" }
        var json: Any? { try? JSONSerialization.jsonObject(with: body) }

        /// A header by name in any case.
        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    /// Query values as Metrc wants them: everything but unreserved characters percent-encoded, so
    /// an offset's `+` goes as `%2B`.
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// The timeout of every request but those that ask for another.
    static let defaultTimeout: TimeInterval = 5

    /// GETs `path` with `licenseNumber` (the server's unless told) and `query`, or with
    /// `rawQuery` appended as it is, with Basic `keys` (the defaults unless told; nil for none).
    /// Through libcurl (BatchgateHTTP), as the client under test goes: Foundation's URLSession on
    /// Linux spins while it waits, and under a loaded machine took seconds a request.
    static func get(_ server: MetrcTestServer, _ path: String, _ query: [(String, String)], licence: String? = nil,
                    keys: (String, String)? = (MetrcTestServer.Options().vendorKey, MetrcTestServer.Options().userKey),
                    rawQuery: String? = nil, timeout: TimeInterval = defaultTimeout) async throws -> Answer {
        try blockingGet(server, path, query, licence: licence, keys: keys, rawQuery: rawQuery, timeout: timeout)
    }

    /// ``get(_:_:_:licence:keys:rawQuery:timeout:)`` on the calling thread.
    static func blockingGet(_ server: MetrcTestServer, _ path: String, _ query: [(String, String)], licence: String? = nil,
                            keys: (String, String)? = (MetrcTestServer.Options().vendorKey, MetrcTestServer.Options().userKey),
                            rawQuery: String? = nil, timeout: TimeInterval = defaultTimeout) throws -> Answer {
        let pairs = [("licenseNumber", licence ?? server.licenseNumber)] + query
        var encoded = pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: unreserved) ?? $0.1)" }.joined(separator: "&")
        if let rawQuery { encoded += "&" + rawQuery }
        let options = TransferOptions(connectTimeout: .seconds(timeout), timeout: .milliseconds(Int(timeout * 1000)))
        let answer = try HTTPTransfer.get(url: "\(server.url)\(path)?\(encoded)", basicAuth: keys.map { (user: $0.0, password: $0.1) },
                                          options: options, maximumBodyBytes: 64 << 20)
        var headers: [String: String] = [:]
        if let type = answer.contentType { headers["Content-Type"] = type }
        if let after = answer.retryAfter { headers["Retry-After"] = String(Int(after.rounded())) }
        return Answer(status: answer.status, headers: headers, body: Data(answer.body))
    }
}

/// A TCP connection to 127.0.0.1, for what an HTTP client hides: whether any byte comes back.
final class RawConnection {
    private let socketDescriptor: Int32

    /// Connects to `port` of 127.0.0.1.
    init(port: Int) throws {
        socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socketDescriptor)
            throw RawConnectionError(description: "cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(socketDescriptor) }

    /// Writes `text` whole.
    func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(socketDescriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { throw RawConnectionError(description: "cannot write: \(String(cString: strerror(errno)))") }
            bytes = bytes.dropFirst(written)
        }
    }

    /// How many bytes arrive within `duration` (0 when none, or when the peer closed).
    func bytesArriving(within duration: Duration) -> Int {
        var descriptor = pollfd(fd: socketDescriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&descriptor, 1, milliseconds) == 1 else { return 0 }
        var buffer = [UInt8](repeating: 0, count: 4_096)
        return max(0, read(socketDescriptor, &buffer, buffer.count))
    }
}

/// A socket call that failed, with what was attempted.
struct RawConnectionError: Error, CustomStringConvertible {
    var description: String
}
