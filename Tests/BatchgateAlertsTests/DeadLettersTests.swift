import Foundation
import Testing
@testable import BatchgateSystem
@testable import BatchgateConfig
@testable import BatchgateAlerts

/// `batchgate alert retry`'s move, on real folders: whole, or cut short where a crash would cut it
/// and then done again.
@Suite("Dead letters")
struct DeadLettersTests {
    typealias Fixture = OutboxTests.Fixture

    /// An entry given up for `cause` after three attempts, its full version refused.
    static func bury(_ fixture: Fixture, route: String = "00000000000000d1", sink: String = "desk",
                     cause: BuriedFor = .content) throws -> OutboxEntry {
        var entry = OutboxEntry(routeID: route, sink: sink, createdAt: 1_000, alert: #"{"full": true}"#, fallback: #"{"minimal": true}"#)
        entry.attempts = 3
        entry.refusal = "HTTP 400: invalid_blocks"
        entry.digestID = "digest-0123456789abcdef01234567"
        try fixture.outbox.save([entry], sync: true)
        try fixture.outbox.bury(entry, reason: "HTTP 400: still no; its minimal version was refused too", cause: cause, sync: true)
        return entry
    }

    func read(_ fixture: Fixture, _ path: String) throws -> OutboxEntry {
        try #require(OutboxEntry(decoding: Array(try Data(contentsOf: fixture.root.appendingPathComponent(path)))))
    }

    @Test func aLetterGoesBackResetWithItsHistoryKept() throws {
        let fixture = try Fixture()
        let buried = try Self.bury(fixture)
        let letter = try #require(try fixture.outbox.deadLetter(id: buried.id))
        #expect(letter.buriedFor == .content && letter.sink == "desk" && letter.lastAnswer == "HTTP 400: still no; its minimal version was refused too")
        #expect(try fixture.outbox.requeue(letter, at: 5_000) == .moved)
        #expect(fixture.names("outbox/dead").isEmpty, "nothing left behind, not even a temporary file")
        #expect(fixture.names("outbox") == [buried.fileName, "dead"])
        let back = try read(fixture, "outbox/\(buried.fileName)")
        #expect(back.attempts == 0 && back.nextAttemptAt == 5_000 && back.retriedAt == 5_000)
        #expect(back.refusal == nil && back.digestID == nil, "in full, on its own or in a new digest")
        #expect(back.ageStart == 5_000, "its maximum age counts from now")
        #expect(back.createdAt == 1_000 && back.alert == buried.alert && back.fallback == buried.fallback)
        #expect(back.lastAnswer == "HTTP 400: still no; its minimal version was refused too", "kept as history")
        #expect(try fixture.outbox.waiting().entries.map(\.id) == [buried.id], "a waiting alert the senders read")
    }

    @Test func anIdIsTakenWithOrWithoutItsSuffixAndNeverAsAPath() throws {
        let fixture = try Fixture()
        let buried = try Self.bury(fixture)
        #expect(try fixture.outbox.deadLetter(id: buried.id)?.id == buried.id)
        #expect(try fixture.outbox.deadLetter(id: buried.fileName)?.id == buried.id)
        #expect(try fixture.outbox.deadLetter(id: "00000000000000d2-desk") == nil)
        #expect(try fixture.outbox.deadLetter(id: "../dead/\(buried.fileName)") == nil)
        #expect(try fixture.outbox.deadLetter(id: ".json") == nil)
    }

    @Test func aLetterThatDoesNotDecodeIsReportedAndLeftAlone() throws {
        let fixture = try Fixture()
        let buried = try Self.bury(fixture)
        let torn = fixture.root.appendingPathComponent("outbox/dead/0000000000000bad-desk.json")
        try Data("{\"id\": ".utf8).write(to: torn)
        #expect(throws: DeadLetterError.self) { try fixture.outbox.deadLetter(id: "0000000000000bad-desk") }
        let all = try fixture.outbox.deadLetters()
        #expect(all.letters.map(\.id) == [buried.id])
        #expect(all.unreadable == ["0000000000000bad-desk.json"])
        #expect(try Data(contentsOf: torn) == Data("{\"id\": ".utf8))
    }

    @Test func aLetterWithoutACauseReadsAsUnknown() throws {
        let fixture = try Fixture()
        let buried = try Self.bury(fixture)
        // As an older version wrote it: no buriedFor member.
        let path = fixture.root.appendingPathComponent("outbox/dead/\(buried.fileName)")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as? [String: Any])
        object["buriedFor"] = nil
        try JSONSerialization.data(withJSONObject: object).write(to: path)
        #expect(try fixture.outbox.deadLetter(id: buried.id)?.buriedFor == .unknown)
    }

    @Test func aCrashAfterTheRewriteLeavesADeadLetterThatTheNextRetryMoves() throws {
        let fixture = try Fixture()
        let buried = try Self.bury(fixture)
        let letter = try #require(try fixture.outbox.deadLetter(id: buried.id))
        try fixture.outbox.rewriteForRetry(letter, at: 5_000)
        // Crashed here: still dead (once), reset, and not waiting.
        #expect(fixture.names("outbox/dead") == [buried.fileName])
        #expect(try fixture.outbox.waiting().entries.isEmpty)
        let half = try #require(try fixture.outbox.deadLetter(id: buried.id))
        #expect(half.buriedFor == .content && half.entry.attempts == 0, "its cause is kept for the next try")
        #expect(try fixture.outbox.requeue(half, at: 6_000) == .moved)
        #expect(fixture.names("outbox/dead").isEmpty)
        #expect(try read(fixture, "outbox/\(buried.fileName)").nextAttemptAt == 6_000)
    }

    @Test func aTemporaryFileACrashLeftIsReplaced() throws {
        let fixture = try Fixture()
        let buried = try Self.bury(fixture)
        try Data("half a letter".utf8).write(to: fixture.root.appendingPathComponent("outbox/dead/." + buried.fileName + ".retry"))
        #expect(try fixture.outbox.deadLetters().letters.map(\.id) == [buried.id], "a temporary file is not a letter")
        let letter = try #require(try fixture.outbox.deadLetter(id: buried.id))
        #expect(try fixture.outbox.requeue(letter, at: 5_000) == .moved)
        #expect(fixture.names("outbox/dead").isEmpty)
        #expect(try read(fixture, "outbox/\(buried.fileName)").alert == buried.alert)
    }

    @Test func aLetterAlreadyWaitingIsNotReplacedAndTheDeadOneGoes() throws {
        let fixture = try Fixture()
        let buried = try Self.bury(fixture)
        // Copied back by hand (cp, not mv), and already tried twice since.
        var waiting = buried
        waiting.attempts = 2
        waiting.refusal = nil
        waiting.digestID = nil
        try fixture.outbox.save([waiting], sync: true)
        let letter = try #require(try fixture.outbox.deadLetter(id: buried.id))
        #expect(try fixture.outbox.requeue(letter, at: 5_000) == .alreadyWaiting)
        #expect(fixture.names("outbox/dead").isEmpty)
        #expect(try read(fixture, "outbox/\(buried.fileName)").attempts == 2, "the waiting one is left as it is")
    }

    /// Two retries of one letter at once: the second waits for the first, then finds the letter
    /// gone, even when the daemon has delivered it meanwhile; it never makes the letter anew (which
    /// would send it twice). The first retry is played here by a lock held on the folder while the
    /// letter moves back and is delivered.
    @Test func aSecondRetryWaitsForTheFirstAndNeverMakesTheLetterAnew() throws {
        let fixture = try Fixture()
        let buried = try Self.bury(fixture, cause: .delivery)
        let letter = try #require(try fixture.outbox.deadLetter(id: buried.id))
        let dead = fixture.root.appendingPathComponent("outbox/dead").path
        let first = open(dead, O_RDONLY | O_DIRECTORY)
        defer { close(first) }
        #expect(flock(first, LOCK_EX) == 0)
        // Another Outbox: its own descriptor of the folder, as another process would have.
        let second = try Outbox(layout: fixture.layout)
        let finished = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<Outbox.RequeueOutcome, DeadLetterError>?
        Thread {
            outcome = Result { () throws(DeadLetterError) -> Outbox.RequeueOutcome in try second.requeue(letter, at: 6_000) }
            finished.signal()
        }.start()
        #expect(finished.wait(timeout: .now() + 0.5) == .timedOut, "the second retry went on while the first held the lock")
        // The first retry moves it back, and the daemon delivers it (removes it).
        let waiting = fixture.root.appendingPathComponent("outbox/\(buried.fileName)").path
        #expect(rename(dead + "/" + buried.fileName, waiting) == 0 && unlink(waiting) == 0)
        #expect(flock(first, LOCK_UN) == 0)
        #expect(finished.wait(timeout: .now() + 60) == .success)
        #expect(throws: DeadLetterError.self) { try outcome?.get() }
        #expect(fixture.names("outbox") == ["dead"], "nothing made anew to be sent twice")
        #expect(fixture.names("outbox/dead").filter { !$0.hasPrefix(".") }.isEmpty)
    }

    @Test func aLetterMovedAwayMeanwhileIsAnErrorThatLosesNothing() throws {
        let fixture = try Fixture()
        let buried = try Self.bury(fixture)
        let letter = try #require(try fixture.outbox.deadLetter(id: buried.id))
        // Another retry took it between this one's read and its move.
        #expect(try fixture.outbox.requeue(letter, at: 5_000) == .moved)
        #expect(throws: DeadLetterError.self) { try fixture.outbox.requeue(letter, at: 6_000) }
        #expect(fixture.names("outbox") == [buried.fileName, "dead"])
        #expect(try read(fixture, "outbox/\(buried.fileName)").nextAttemptAt == 5_000, "the first move stands")
    }

    @Test(.enabled(if: getuid() == 0, "giving a file to another user needs root"))
    func asRootTheLetterGoesBackOwnedByTheDaemonsUser() throws {
        let fixture = try Fixture()
        let buried = try Self.bury(fixture)
        // The state root as the service has it: owned by its user (here: nobody).
        for folder in ["outbox", "outbox/dead"] {
            #expect(chown(fixture.root.appendingPathComponent(folder).path, 65_534, 65_534) == 0)
        }
        let letter = try #require(try fixture.outbox.deadLetter(id: buried.id))
        #expect(try fixture.outbox.requeue(letter, at: 5_000) == .moved)
        let owner = try FileManager.default.attributesOfItem(atPath: fixture.root.appendingPathComponent("outbox/\(buried.fileName)").path)
        #expect(owner[.ownerAccountID] as? Int == 65_534 && owner[.groupOwnerAccountID] as? Int == 65_534,
                "readable by the daemon at mode 0640: \(owner)")
    }
}
