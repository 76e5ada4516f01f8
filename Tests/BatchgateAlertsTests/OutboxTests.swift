import Foundation
import Testing
@testable import BatchgateSystem
@testable import BatchgateConfig
@testable import BatchgateAlerts

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
        first.event = "manifest.needs-batch"
        first.fallback = #"{"minimal": true}"#
        first.refusal = "the endpoint refused the alert with HTTP 400: HTTP 400: invalid_blocks"
        try fixture.outbox.save([first], sync: true)
        #expect(try fixture.outbox.waiting().entries.last == first, "rewritten in place, its minimal version and refusal kept")
        #expect(first.body == #"{"minimal": true}"#, "once refused, the minimal version is what goes")

        try fixture.outbox.remove(second)
        try fixture.outbox.remove(second)
        #expect(try fixture.outbox.waiting().entries == [first])
    }

    @Test func buriesAGivenUpEntryWithItsReason() throws {
        let fixture = try Fixture()
        let entry = OutboxEntry(routeID: "00000000000000cc", sink: "hook", createdAt: 1, alert: "{}")
        try fixture.outbox.save([entry], sync: false)
        try fixture.outbox.bury(entry, reason: "HTTP 400: bad; it has no minimal version to send instead", cause: .content, sync: true)
        #expect(try fixture.outbox.waiting().entries.isEmpty)
        #expect(fixture.names("outbox/dead") == ["00000000000000cc-hook.json"])
        let dead = try OutboxEntry(decoding: Array(Data(contentsOf: fixture.root.appendingPathComponent("outbox/dead/00000000000000cc-hook.json"))))
        #expect(dead?.lastAnswer == "HTTP 400: bad; it has no minimal version to send instead")
        #expect(dead?.buriedFor == .content, "why it died is kept on the letter")
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

    @Test func aDraftIsInvisibleToTheSendersUntilPublished() throws {
        let fixture = try Fixture()
        let entry = OutboxEntry(routeID: "00000000000000dd", sink: "desk", createdAt: 1, alert: "{}")
        try fixture.outbox.writeDraft(entry)
        #expect(fixture.names("outbox") == [".00000000000000dd-desk.json.draft", "dead"])
        #expect(try fixture.outbox.waiting().entries.isEmpty)
        #expect(try fixture.outbox.isWaiting(entry) == false)
        #expect(try fixture.outbox.drafts(ofRoute: "00000000000000dd") == [entry])
        #expect(try fixture.outbox.drafts(ofRoute: "00000000000000ee").isEmpty)

        #expect(try fixture.outbox.publish(entry))
        #expect(try fixture.outbox.isWaiting(entry))
        #expect(try fixture.outbox.waiting().entries == [entry])
        #expect(try fixture.outbox.drafts(ofRoute: "00000000000000dd").isEmpty)
        #expect(try fixture.outbox.publish(entry) == false, "published already: no error")

        try fixture.outbox.writeDraft(entry)
        try fixture.outbox.dropDraft(entry)
        try fixture.outbox.dropDraft(entry)
        #expect(fixture.names("outbox") == ["00000000000000dd-desk.json", "dead"], "a dropped draft is gone; dropping twice is no error")
    }

    @Test func aTornDraftIsLeftOutAndATemporaryFileLeftByACrashIsReplaced() throws {
        let fixture = try Fixture()
        let entry = OutboxEntry(routeID: "00000000000000ff", sink: "desk", createdAt: 1, alert: "{}")
        try Data("{\"id\": ".utf8).write(to: fixture.root.appendingPathComponent("outbox/.00000000000000ff-chat.json.draft"))
        try Data("half".utf8).write(to: fixture.root.appendingPathComponent("outbox/.00000000000000ff-desk.json.tmp"))
        #expect(try fixture.outbox.drafts(ofRoute: "00000000000000ff").isEmpty, "never flushed, so never promised")
        try fixture.outbox.save([entry], sync: true)
        #expect(fixture.names("outbox") == [".00000000000000ff-chat.json.draft", "00000000000000ff-desk.json", "dead"])
        #expect(try fixture.outbox.waiting().entries == [entry])
    }

    /// A name the system cannot look at (here one too long for the filesystem) is an error, never
    /// taken for an absent file: recovery would otherwise drop or rewrite alerts it cannot see.
    @Test func aFileThatCannotBeLookedAtIsAnErrorNotAnAbsence() throws {
        let fixture = try Fixture()
        let unnamable = OutboxEntry(routeID: String(repeating: "a", count: 300), sink: "desk", createdAt: 1, alert: "{}")
        #expect(throws: SystemError.self) { try fixture.outbox.isWaiting(unnamable) }
        #expect(throws: SystemError.self) { try fixture.outbox.dropDraft(unnamable) }
        #expect(throws: SystemError.self) { try fixture.outbox.remove(unnamable) }

        try FileManager.default.removeItem(at: fixture.root.appendingPathComponent("outbox"))
        #expect(throws: SystemError.self, "a folder that cannot be listed is not a folder without drafts") {
            try fixture.outbox.drafts(ofRoute: "00000000000000aa")
        }
    }
}
