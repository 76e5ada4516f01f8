import Foundation
import Testing
@testable import BatchgateDaemon

@Suite("Outbox")
struct OutboxTests {
    final class Fixture {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-outbox-\(UUID().uuidString)")
        let layout: StateLayout
        let outbox: Outbox

        init() throws {
            layout = StateLayout(root: root.path)
            try layout.prepare()
            outbox = try Outbox(layout: layout)
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        func names(_ folder: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []).sorted()
        }
    }

    @Test func savesReadsBackAndRemoves() throws {
        let fixture = try Fixture()
        var first = OutboxEntry(routeID: "00000000000000aa", sink: "compliance slack", createdAt: 100,
                                alert: #"{"decision": "needs-batch", "note": "line\nbreak \"quoted\""}"#)
        let second = OutboxEntry(routeID: "00000000000000bb", sink: "desk", createdAt: 50, alert: "{}")
        try fixture.outbox.save([first, second], sync: true)
        #expect(fixture.names("outbox") == ["00000000000000aa-compliance_slack.json", "00000000000000bb-desk.json", "dead"])
        let (waiting, unreadable) = try fixture.outbox.waiting()
        #expect(waiting == [second, first], "oldest first, every field kept")
        #expect(unreadable.isEmpty)

        first.attempts = 3
        first.nextAttemptAt = 160
        first.lastAnswer = "HTTP 503"
        try fixture.outbox.save([first], sync: true)
        #expect(try fixture.outbox.waiting().entries.last == first, "rewritten in place")

        try fixture.outbox.remove(second)
        try fixture.outbox.remove(second)
        #expect(try fixture.outbox.waiting().entries == [first])
    }

    @Test func buriesAGivenUpEntryWithItsReason() throws {
        let fixture = try Fixture()
        let entry = OutboxEntry(routeID: "00000000000000cc", sink: "hook", createdAt: 1, alert: "{}")
        try fixture.outbox.save([entry], sync: false)
        try fixture.outbox.bury(entry, reason: "the endpoint refused the alert with HTTP 400", sync: true)
        #expect(try fixture.outbox.waiting().entries.isEmpty)
        #expect(fixture.names("outbox/dead") == ["00000000000000cc-hook.json"])
        let dead = try OutboxEntry(decoding: Array(Data(contentsOf: fixture.root.appendingPathComponent("outbox/dead/00000000000000cc-hook.json"))))
        #expect(dead?.lastAnswer == "the endpoint refused the alert with HTTP 400")
    }

    @Test func reportsUnreadableFilesWithoutTouchingThem() throws {
        let fixture = try Fixture()
        try Data("{\"id\": ".utf8).write(to: fixture.root.appendingPathComponent("outbox/torn.json"))
        try Data("half".utf8).write(to: fixture.root.appendingPathComponent("outbox/.x.json.tmp"))
        let (entries, unreadable) = try fixture.outbox.waiting()
        #expect(entries.isEmpty)
        #expect(unreadable == ["torn.json"])
        #expect(fixture.names("outbox").contains("torn.json"))
    }
}
