import Foundation
import Synchronization
import Testing
import TestSupport
import BatchgateCore
import BatchgateMetrc
@testable import BatchgateCatalog
@testable import BatchgateDaemon
@testable import BatchgateSystem

/// A journal replayed with the live catalog: a route journaled with what Metrc answered in the
/// run that crashed is looked up again before it is read again, and waits while Metrc is silent.
/// The catalog service is the real one, asking the Metrc-shaped server (metrc_server.py) through
/// libcurl, its cache empty as a crash before the cache was saved leaves it.
@Suite("Replay with Metrc", .serialized)
struct ReplayLookUpTests {
    /// A source package made in Metrc after the last sync: only a look-up by its label finds it.
    static let sourceTag = "1A4FF0100000022000000801"
    static let buds = MetrcItem(id: 1, name: "Blue Dream Buds", categoryName: "Buds", lastModified: Date().addingTimeInterval(-3_600))
    static let source = MetrcPackage(id: 801, label: sourceTag, item: buds, quantity: 1360.8, lastModified: Date().addingTimeInterval(-1_800))

    /// A repackage of that source, as a Metrc request: accepted once Metrc has the source.
    let repackage = """
        [{"Tag": "1A4FF0300000022000009101", "Item": "Blue Dream Buds", "Quantity": 28, "UnitOfMeasure": "Grams", "IsProductionBatch": false,
          "Ingredients": [{"Package": "\(sourceTag)", "Item": "Blue Dream Buds", "Quantity": 28, "UnitOfMeasure": "Grams"}]}]
        """

    /// The route the crashed run journaled, after Metrc had answered its look-up.
    let journaled = JournalEntry(id: "00000000000000ac", name: "m.json", decision: .accepted, finalName: "m.json",
                                 receivedAt: "2026-11-27T00:00:00.000Z", routedAt: "2026-11-27T00:00:01.000Z")

    /// The monotonic clock plus what the test adds, so that the service's wait before asking a
    /// silent Metrc again passes at once.
    final class Clock: Sendable {
        private let advance = Mutex<Double>(0)
        var read: @Sendable () -> Double { { [self] in System.monotonicClock() + advance.withLock { $0 } } }
        func advance(by seconds: Double) { advance.withLock { $0 += seconds } }
    }

    /// The restarted router of `fixture` with a live catalog as the daemon sets it up: the
    /// service on `server` (never started: no sync, so the empty cache stays as the crash left it),
    /// the items file as its overlay, and every source one Metrc must have.
    func restart(_ fixture: RouterTests.Fixture, on server: MetrcTestServer, clock: Clock, lookupTimeout: Double) -> CatalogService {
        let api = MetrcAPI(server: server.url, licenseNumber: server.licenseNumber,
                           vendorKey: MetrcTestServer.Options().vendorKey, userKey: MetrcTestServer.Options().userKey)
        let settings = CatalogService.Settings(api: api, refresh: 3_600, history: 86_400, lookupTimeout: lookupTimeout,
                                               cachePath: fixture.root.appendingPathComponent("metrc.json").path)
        let quiet = Logger(level: .error, fd: open("/dev/null", O_WRONLY))
        let service = CatalogService(settings: settings, overlay: Catalog(items: [Catalog.Item(name: "Blue Dream Buds", category: "Buds")]),
                                     log: quiet, clock: clock.read, events: { _ in })
        fixture.router.catalogSource = service
        fixture.router.checker.sourcesMustBeKnown = true
        return service
    }

    func labelLookUps(_ server: MetrcTestServer) throws -> [MetrcTestServer.Request] {
        try server.requests.filter { $0.path.hasSuffix("/\(Self.sourceTag)") }
    }

    @Test func aSourceOnlyMetrcKnowsIsLookedUpBeforeTheJournalIsReplayed() throws {
        let server = try MetrcTestServer(items: [Self.buds], packages: [Self.source])
        let fixture = try RouterTests.Fixture()
        // The crash came after the journal line, before the reports and before the cache was saved.
        try fixture.drop("m.json", repackage, into: "processing")
        try fixture.journal(journaled)
        let service = restart(fixture, on: server, clock: Clock(), lookupTimeout: 10)
        #expect(service.current.package(tagged: Self.sourceTag) == nil, "the cache lacks the source")

        let outcomes = fixture.router.recover()
        #expect(outcomes.map(\.entry.decision) == [.accepted])
        #expect(outcomes.map(\.report.decision) == [.accepted], "\(outcomes.map(\.report.text))")
        #expect(fixture.names("accepted") == ["m.json", "m.json.report.json", "m.json.report.txt"])
        #expect(fixture.names("rejected").isEmpty)
        #expect(fixture.names("processing").isEmpty)
        #expect(fixture.auditCount() == 1)
        #expect(try labelLookUps(server).map(\.status) == [200], "exactly one look-up, answered")
        #expect(try server.requests.count == 1, "nothing else asked")
        #expect(fixture.router.waitingCount == 0 && !fixture.router.needsRecovery)
    }

    @Test func whileMetrcIsSilentTheRouteWaitsAndIsDecidedOnceItAnswers() throws {
        let server = try MetrcTestServer(items: [Self.buds], packages: [Self.source])
        try server.setDown(true)
        let fixture = try RouterTests.Fixture()
        try fixture.drop("m.json", repackage, into: "processing")
        try fixture.journal(journaled)
        let clock = Clock()
        // Long enough for the client's retries against a 503 (about seven seconds) to run out within
        // the look-up: then none is still in flight when Metrc answers again.
        _ = restart(fixture, on: server, clock: clock, lookupTimeout: 30)

        #expect(fixture.router.recover().isEmpty)
        #expect(fixture.names("processing") == [".journal-1-1.jsonl", "m.json"], "the manifest and its journal wait")
        #expect(fixture.names("rejected").isEmpty && fixture.names("accepted").isEmpty, "nothing decided, no report")
        #expect(fixture.auditCount() == 0)
        #expect(fixture.router.waitingCount == 1 && fixture.router.needsRecovery)
        #expect(try labelLookUps(server).allSatisfy { $0.status == 503 })

        // Metrc answers again; the service's wait before asking it again has passed.
        try server.setDown(false)
        clock.advance(by: CatalogService.probeInterval)
        let outcomes = fixture.router.recover()
        #expect(outcomes.map(\.entry.decision) == [.accepted], "\(outcomes.map(\.report.text))")
        #expect(fixture.names("accepted") == ["m.json", "m.json.report.json", "m.json.report.txt"])
        #expect(fixture.names("rejected").isEmpty && fixture.names("processing").isEmpty)
        #expect(fixture.auditCount() == 1)
        #expect(try labelLookUps(server).filter { $0.status == 200 }.count == 1)
        #expect(fixture.router.waitingCount == 0 && !fixture.router.needsRecovery)
    }
}
