import Foundation
import Testing
import TestSupport
@testable import BatchgateSystem
@testable import BatchgateHTTP
@testable import BatchgateConfig
@testable import BatchgateAlerts

/// The state machine behind a sink's log lines, fed by hand with outcomes and times.
@Suite("Sink health")
struct SinkHealthTests {
    let refused = "cannot connect to the receiver: is it up? (Couldn't connect to server; curl error 7)"

    @Test func aHealthySinkSaysNothingAboutItsDeliveries() {
        var health = SinkHealth(sink: "desk", folder: "/state/outbox")
        #expect(health.record(.delivered, at: 100, waiting: 3) == nil)
        #expect(health.summary(at: 200, waiting: 3, oldestWaitingSince: 90) == nil)
    }

    @Test func theFirstFailureIsOneWarningAndMoreOfTheSameIsSilent() {
        var health = SinkHealth(sink: "desk", folder: "/state/outbox")
        let first = health.record(.failed(.noConnection, answer: refused, retrying: true), at: 1_000, waiting: 2)
        #expect(first == SinkHealth.Line(level: .warning,
                                         text: "desk cannot deliver: \(refused); 2 alert(s) wait in /state/outbox, retried with backoff"))
        for second in 1...20 {
            #expect(health.record(.failed(.noConnection, answer: refused, retrying: true), at: 1_000 + Double(second), waiting: 2) == nil)
        }
        #expect(health.failure?.since == 1_000, "failing since the first failure")
    }

    @Test func aChangeOfKindIsLoggedOnceAndAnotherStatusOfTheSameKindIsNot() {
        var health = SinkHealth(sink: "desk", folder: "/state/outbox")
        _ = health.record(.failed(.receiverError, answer: "HTTP 502: the receiver has a problem; nothing to fix here", retrying: true), at: 0, waiting: 1)
        #expect(health.record(.failed(.receiverError, answer: "HTTP 503: the receiver has a problem; nothing to fix here", retrying: true),
                              at: 5, waiting: 1) == nil, "502 then 503: the same cause to look for")
        let changed = health.record(.failed(.credentials, answer: "HTTP 401: the receiver refused the credential", retrying: false), at: 60, waiting: 1)
        #expect(changed?.level == .warning)
        #expect(changed?.text == "desk still cannot deliver, now for another reason: HTTP 401: the receiver refused the credential; failing since 1970-01-01T00:00:00.000Z, 1 alert(s) wait in /state/outbox, those it refuses so are given up into /state/outbox/dead")
        #expect(health.record(.failed(.credentials, answer: "HTTP 401: again", retrying: false), at: 61, waiting: 1) == nil)
        #expect(health.failure?.since == 0, "a change of kind is not a new outage")
    }

    @Test func deliveringAgainIsOneNoticeWithHowLongAndHowMany() {
        var health = SinkHealth(sink: "chat", folder: "/state/outbox")
        _ = health.record(.failed(.hostNotFound, answer: "cannot resolve the host name", retrying: true), at: 1_000, waiting: 4)
        let back = health.record(.delivered, at: 1_000 + 3_725, waiting: 9)
        #expect(back == SinkHealth.Line(level: .notice, text: "chat delivers again after 1h 2m failing; 9 alert(s) had waited"))
        #expect(health.failure == nil)
        #expect(health.record(.delivered, at: 5_000, waiting: 8) == nil, "said once")
        // A new outage starts a new count.
        let again = health.record(.failed(.timeout, answer: "no answer", retrying: true), at: 6_000, waiting: 1)
        #expect(again?.text.hasPrefix("chat cannot deliver: no answer;") == true)
        #expect(health.failure?.since == 6_000)
    }

    @Test func theSummarySaysSinceWhenHowManyWaitAndTheLastAnswer() {
        var health = SinkHealth(sink: "desk", folder: "/state/outbox")
        _ = health.record(.failed(.noConnection, answer: "first", retrying: true), at: 1_800_000_000, waiting: 3)
        _ = health.record(.failed(.noConnection, answer: "latest", retrying: true), at: 1_800_000_500, waiting: 3)
        let summary = health.summary(at: 1_800_000_600, waiting: 3, oldestWaitingSince: 1_799_999_990)
        #expect(summary == SinkHealth.Line(level: .warning,
                                           text: "desk still failing since 2027-01-15T08:00:00.000Z (10m): 3 waiting, oldest 10m 10s, last answer: latest"))
        #expect(health.summary(at: 1_800_000_600, waiting: 0, oldestWaitingSince: nil) == nil, "nothing waits: no attempt, nothing new")
    }
}

/// The senders' log while a sink fails: what the state machine says, at the levels it says it.
extension AlertSenderTests {
    /// The lines of the log at `level` (the log's `<time> <level>: ` prefix).
    static func lines(_ text: String, _ level: LogLevel) -> [Substring] {
        text.split(separator: "\n").filter { $0.contains(" \(level.rawValue): ") }
    }

    static let noConnection = AlertAttemptResult(attempt: .failed("cannot connect"), answer: "cannot connect to the receiver (curl error 7)",
                                                 problem: .noConnection)

    @Test func aFailingSinkIsOneWarningEachRetryIsDebugAndItsRecoveryOneNotice() throws {
        let fixture = try Fixture()
        fixture.transport.script(Array(repeating: Self.noConnection, count: 3))
        let entries = try fixture.publish(1, sink: "desk")
        fixture.dispatcher([Self.sink()]).add(entries)
        #expect(eventually { fixture.names("outbox") == ["dead"] && fixture.logText.contains("delivers again") }, "\(fixture.logText)")
        let log = fixture.logText
        #expect(Self.lines(log, .warning) == Self.lines(log, .warning).filter { $0.contains("desk cannot deliver: cannot connect to the receiver (curl error 7); 1 alert(s) wait in \(fixture.root.path)/outbox, retried with backoff") })
        #expect(Self.lines(log, .warning).count == 1, "\(log)")
        #expect(Self.lines(log, .debug).filter { $0.contains("could not deliver alert \(entries[0].id) to desk (attempt") }.count == 3)
        #expect(Self.lines(log, .notice).filter { $0.contains("desk delivers again after ") && $0.hasSuffix("failing; 1 alert(s) had waited") }.count == 1)
        #expect(Self.lines(log, .error).isEmpty)
    }

    @Test func aFailingSinkIsSummedUpWhileAlertsWaitForIt() throws {
        let fixture = try Fixture()
        fixture.transport.script(Array(repeating: Self.noConnection, count: 50))
        let entries = try fixture.publish(2, sink: "desk")
        fixture.dispatcher([Self.sink()], summaryInterval: 0.3).add(entries)
        #expect(eventually { Self.lines(fixture.logText, .warning).filter { $0.contains("desk still failing since ") }.count >= 2 }, "\(fixture.logText)")
        let summary = try #require(Self.lines(fixture.logText, .warning).first { $0.contains("still failing") })
        #expect(summary.contains("): 2 waiting, oldest ") && summary.hasSuffix(", last answer: cannot connect to the receiver (curl error 7)"), "\(summary)")
    }

    @Test func aRefusedCredentialIsTheSinksTroubleAndItsLetterDiesForTheConfiguration() throws {
        let fixture = try Fixture()
        let refusal = AlertAttemptResult(attempt: .answered(status: 401, retryAfter: nil), answer: "HTTP 401: check the sink's token (bad token)")
        fixture.transport.script([refusal, refusal])
        let entries = try fixture.publish(1, sink: "desk", withFallback: true)
        fixture.dispatcher([Self.sink()]).add(entries)
        #expect(eventually { fixture.names("outbox/dead") == [entries[0].fileName] && !Self.lines(fixture.logText, .error).isEmpty })
        let log = fixture.logText
        #expect(Self.lines(log, .warning).count == 1 && Self.lines(log, .warning)[0].contains("desk cannot deliver: HTTP 401: check the sink's token (bad token)"), "\(log)")
        #expect(Self.lines(log, .info).contains { $0.contains("desk refused alert \(entries[0].id): HTTP 401") }, "the step to the minimal version is detail")
        #expect(Self.lines(log, .error).count == 1)
        let dead = try #require(OutboxEntry(decoding: Array(try Data(contentsOf: fixture.root.appendingPathComponent("outbox/dead/\(entries[0].fileName)")))))
        #expect(dead.buriedFor == .configuration)
        #expect(dead.lastAnswer == "HTTP 401: check the sink's token (bad token); its full and minimal versions were both refused")
    }

    @Test func anEntryFromAStaleListingThatWasDeliveredSinceIsNotSentAgain() throws {
        let fixture = try Fixture()
        let entries = try fixture.publish(1, sink: "desk")
        let listing = try fixture.outbox.waiting().entries
        let dispatcher = fixture.dispatcher([Self.sink()])
        dispatcher.add(entries)
        try #require(eventually { fixture.names("outbox") == ["dead"] && fixture.transport.sent.count == 1 })
        // The listing was made before the delivery: as a rescan's, its entries are read again first.
        dispatcher.add(listing, fromListing: true)
        // A barrier: the sender's queue has run the hand-over (a taken entry would wait there now).
        #expect(dispatcher.waitingCounts == ["desk": 0], "delivered and removed since the listing: not taken again")
        #expect(fixture.transport.sent.count == 1, "delivered and removed since the listing: not sent twice")
        // Handed over as new (the router's way), the same entry would go again.
        dispatcher.add(listing)
        #expect(eventually { fixture.transport.sent.count == 2 })
    }

    @Test func aRescanTakesWhatWasPutBackAndCountsTheDeadLettersAgain() throws {
        let fixture = try Fixture()
        let dispatcher = fixture.dispatcher([Self.sink()])
        dispatcher.resume()
        _ = dispatcher.waitingCounts  // a barrier: the sender has counted at its start
        let entries = try fixture.publish(2, sink: "desk")
        try fixture.outbox.bury(entries[1], reason: "HTTP 500; still failing", cause: .delivery, sync: true)
        #expect(dispatcher.statistics().first?.deadLetters == 0, "counted at start, before the letter died")
        dispatcher.rescan()
        #expect(eventually { fixture.transport.sent.map(\.delivery.id) == [entries[0].id] && fixture.names("outbox") == ["dead"] })
        _ = dispatcher.waitingCounts
        #expect(dispatcher.statistics().first?.deadLetters == 1)
        #expect(fixture.logText.contains("looked at \(fixture.root.path)/outbox again: 1 alert(s) there"))
    }
}
