import Foundation
import Testing
import BatchgateCore
@testable import BatchgateDaemon
@testable import BatchgateAlerts

/// The router hands a batch's published alerts to the senders itself (``Router/alertsPublished``),
/// as soon as the outbox is flushed: each published entry exactly once, from a batch and from a
/// recovery alike, and nothing that was not published.
@Suite("Alerts handed to the senders")
struct AlertHandOffTests {
    /// An alert's identity: one route's alert to one sink.
    static func key(_ entry: OutboxEntry) -> String { "\(entry.id)-\(entry.sink)" }

    /// Collects what the router hands over, in order.
    final class Received: @unchecked Sendable {
        var entries: [OutboxEntry] = []
    }

    @Test func aBatchHandsOverEachPublishedAlertOnce() throws {
        let fixture = try AlertRoutingTests.Fixture()
        let received = Received()
        fixture.router.alertsPublished = { received.entries += $0 }
        try fixture.drop("a.json", AlertRoutingTests.needsBatch, into: "inbox")
        try fixture.drop("b.json", AlertRoutingTests.accepted, into: "inbox")
        let result = fixture.router.route(["a.json", "b.json"])
        let published = result.outcomes.flatMap(\.alerts)
        // needs-batch: the chat and desk sinks; accepted: the desk sink, which hears of every decision.
        #expect(published.count == 3)
        #expect(received.entries.map(Self.key) == published.map(Self.key))
        #expect(Set(received.entries.map(Self.key)).count == 3, "none twice")
        let waiting = try fixture.outbox.waiting().entries.map(Self.key)
        #expect(Set(waiting) == Set(received.entries.map(Self.key)), "each handed over is in the outbox")
    }

    @Test func aRecoveryHandsOverWhatItPublishes() throws {
        let fixture = try AlertRoutingTests.Fixture()
        let received = Received()
        fixture.router.alertsPublished = { received.entries += $0 }
        let route = JournalEntry(id: "00000000000000aa", name: "m.json", decision: .needsBatch, finalName: "m.json",
                                 receivedAt: "2026-11-27T00:00:00.000Z", routedAt: "2026-11-27T00:00:01.000Z")
        // A crash after the move, before the drafts were published.
        try fixture.journal(route)
        try fixture.drop("m.json", AlertRoutingTests.needsBatch, into: "needs-batch")
        for entry in fixture.planned(route) { try fixture.outbox.writeDraft(entry) }
        let outcomes = fixture.router.recover()
        #expect(received.entries.map(\.sink).sorted() == ["chat", "desk"])
        #expect(received.entries.map(Self.key) == outcomes.flatMap(\.alerts).map(Self.key))
        // Recovered again: nothing left to publish, nothing handed over twice.
        _ = fixture.router.recover()
        #expect(received.entries.count == 2)
    }
}
