import Foundation
import Testing
@testable import BatchgateSystem
@testable import BatchgateConfig
@testable import BatchgateAlerts

/// What someone with write access to the outbox could plant there never holds the reader: a FIFO
/// opened for reading waits for a writer, and the daemon's queue (its signals with it) or
/// `alert retry` would wait for ever.
@Suite("Outbox: planted files")
struct OutboxPlantedFilesTests {
    @Test func aFIFOInTheOutboxOrAmongTheDeadLettersIsUnreadableNotAWait() throws {
        let fixture = try OutboxTests.Fixture()
        let outbox = fixture.outbox
        let waitingFIFO = fixture.root.appendingPathComponent("outbox/00000000000000f1-desk.json").path
        let deadFIFO = fixture.root.appendingPathComponent("outbox/dead/00000000000000f2-desk.json").path
        #expect(mkfifo(waitingFIFO, 0o666) == 0 && mkfifo(deadFIFO, 0o666) == 0)
        // On a thread of its own, so that a regression fails the test instead of hanging the run.
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var unreadable: [String] = []
        nonisolated(unsafe) var deadUnreadable: [String] = []
        let reader = Thread {
            unreadable = (try? outbox.waiting().unreadable) ?? []
            deadUnreadable = (try? outbox.deadLetters().unreadable) ?? []
            done.signal()
        }
        reader.start()
        guard done.wait(timeout: .now() + 60) == .success else {
            Issue.record("reading the outbox waited on a FIFO")
            // Release the reader: a writer on each FIFO lets its open return.
            for path in [waitingFIFO, deadFIFO] { close(open(path, O_WRONLY | O_NONBLOCK)) }
            return
        }
        #expect(unreadable == ["00000000000000f1-desk.json"])
        #expect(deadUnreadable == ["00000000000000f2-desk.json"])
    }
}
