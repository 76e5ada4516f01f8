import Foundation
import Synchronization
import Testing
import TestSupport
@testable import BatchgateSystem
@testable import BatchgateConfig
@testable import BatchgateAlerts

/// What the senders' statistics say (the `STATUS=` line and the metrics read them): dead letters
/// as `outbox/dead/` holds them now, ages from the start `maxAge` counts from, and a word to the
/// daemon at each change of what the status line shows.
extension AlertSenderTests {
    /// Moves an entry of `sink` (of `kind`) straight into `outbox/dead/`, as a sender would.
    func deadLetter(_ fixture: Fixture, route: String, sink: String, kind: DaemonConfig.AlertSink.SinkType = .webhook) throws {
        let entry = OutboxEntry(routeID: route, sink: sink, kind: kind, createdAt: System.wallClock(), alert: "{}")
        try fixture.outbox.writeDraft(entry)
        try fixture.outbox.publish(entry)
        try fixture.outbox.bury(entry, reason: "HTTP 500; still failing", cause: .delivery, sync: true)
    }

    @Test func deadLettersAreCountedAfterTheBurialsOfAStartAndEachSinkOnlyItsOwn() throws {
        let fixture = try Fixture()
        try deadLetter(fixture, route: "00000000000000d1", sink: "desk")
        // `-desk.json` ends this one's name too: it is team-desk's, not desk's.
        try deadLetter(fixture, route: "00000000000000d2", sink: "team-desk")
        // Written for a Slack sink of that name; desk is a webhook now, so the start buries it.
        let stale = OutboxEntry(routeID: "00000000000000e1", sink: "desk", kind: .slack, createdAt: System.wallClock(), alert: "{}")
        try fixture.outbox.writeDraft(stale)
        try fixture.outbox.publish(stale)
        let dispatcher = fixture.dispatcher([Self.sink("desk"), Self.sink("team-desk")])
        _ = dispatcher.waitingCounts  // a barrier: each sender has counted at its start
        #expect(dispatcher.statistics().map(\.deadLetters) == [1, 1])
        dispatcher.resume()
        #expect(fixture.names("outbox/dead").contains(stale.fileName))
        _ = dispatcher.waitingCounts  // a barrier: each sender has run what was queued before
        #expect(dispatcher.statistics().map(\.deadLetters) == [2, 1], "the stale one counts: listed after its burial")
        #expect(fixture.transport.sent.isEmpty)
    }

    @Test func aLetterTakenAwayByHandLeavesTheCountAtTheNextListing() throws {
        let fixture = try Fixture()
        try deadLetter(fixture, route: "00000000000000d1", sink: "desk")
        try deadLetter(fixture, route: "00000000000000d2", sink: "desk")
        let dispatcher = fixture.dispatcher([Self.sink()], deadLetterRecountInterval: 0.1)
        dispatcher.resume()
        #expect(eventually { dispatcher.statistics().first?.deadLetters == 2 })
        // Removed by a person, or moved back by `alert retry` whose signal never came: no rescan.
        try FileManager.default.removeItem(at: fixture.root.appendingPathComponent("outbox/dead/00000000000000d1-desk.json"))
        #expect(eventually { dispatcher.statistics().first?.deadLetters == 1 }, "listed again on its own")
    }

    @Test func eachChangeOfTheCountsWaitingOrDeadIsToldAndNothingElse() throws {
        let fixture = try Fixture()
        let told = Mutex<[Int]>([])
        fixture.transport.script([AlertAttemptResult(attempt: .answered(status: 400, retryAfter: nil), answer: "HTTP 400: bad payload")])
        let entries = try fixture.publish(3, sink: "desk")
        nonisolated(unsafe) var running: AlertDispatcher?
        let dispatcher = fixture.dispatcher([Self.sink()]) {
            // Called on the sender's queue: what the status line would read then.
            let statistics = running?.statistics().first
            told.withLock { $0.append((statistics?.waiting ?? -1) * 10 + (statistics?.deadLetters ?? -1)) }
        }
        running = dispatcher
        dispatcher.add(entries)
        #expect(eventually { fixture.names("outbox") == ["dead"] && fixture.transport.sent.count == 3 })
        _ = dispatcher.waitingCounts
        let changes = told.withLock { $0 }
        #expect(changes.last == 0 * 10 + 1, "the last word is what is now: none waits, one dead: \(changes)")
        #expect(changes.contains(3 * 10 + 0) || changes.contains(3 * 10 + 1), "three waiting was told: \(changes)")
        // A listing that finds what was counted changes nothing, and says nothing.
        dispatcher.recountDeadLetters()
        _ = dispatcher.waitingCounts
        #expect(told.withLock { $0.count } == changes.count)
    }

    @Test func anAlertSentBackIsAsOldAsItsReturn() throws {
        let fixture = try Fixture()
        let now = System.wallClock()
        fixture.transport.script(Array(repeating: .status(503), count: 20))
        var retried = OutboxEntry(routeID: "00000000000000a1", sink: "desk", createdAt: now - 10_000, alert: "{}")
        retried.retriedAt = now - 5
        let fresh = OutboxEntry(routeID: "00000000000000a2", sink: "desk", createdAt: now - 60, alert: "{}")
        for entry in [retried, fresh] {
            try fixture.outbox.writeDraft(entry)
            try fixture.outbox.publish(entry)
        }
        let dispatcher = fixture.dispatcher([Self.sink()])
        dispatcher.resume()
        #expect(eventually { fixture.transport.sent.count >= 1 })
        let statistics = try #require(dispatcher.statistics().first)
        #expect(statistics.waiting == 2)
        #expect(statistics.oldestWaitingSince == now - 60, "the one written a minute ago; the other waits since its return")
        #expect(fixture.transport.sent.first?.delivery.id == fresh.id, "nearest its maxAge, so first")
    }
}
