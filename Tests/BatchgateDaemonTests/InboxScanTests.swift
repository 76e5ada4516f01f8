import Foundation
import Testing
@testable import BatchgateDaemon
#if canImport(Glibc)
import Glibc
#endif
@testable import BatchgateSystem

/// What a scan of the inbox looks at, renames and leaves for later: listings given as values,
/// nothing on disk, no clock.
@Suite struct InboxScanTests {
    /// One entry of a listing: its raw name and what its look-up finds.
    struct Listed {
        var bytes: [UInt8]
        var entry: InboxScan.Entry

        static func file(_ name: String, size: Int64 = 10, time: Int64 = 1) -> Listed {
            Listed(bytes: Array(name.utf8), entry: .file(.init(size: size, modified: time, changed: time)))
        }
        static func folder(_ name: String) -> Listed { Listed(bytes: Array(name.utf8), entry: .folder) }
        static func vanished(_ name: String) -> Listed { Listed(bytes: Array(name.utf8), entry: .vanished) }
        static func misnamed(_ bytes: [UInt8]) -> Listed { Listed(bytes: bytes, entry: .file(.init(size: 1, modified: 1, changed: 1))) }
    }

    /// What the daemon's scan does with a listing: each entry considered as it is read, looked up
    /// only when the scan asks, the listing stopped when the scan says so.
    struct Run {
        var scan: InboxScan
        /// Names looked up (the system calls the daemon would make).
        var lookedUp: [String] = []
        /// Entries read from the listing before it stopped.
        var read = 0
    }

    static func run(_ listing: [Listed], queued: [String] = [], limit: Int = InboxScan.limit) -> Run {
        var run = Run(scan: InboxScan(queued: Set(queued), queuedCount: queued.count, limit: limit))
        for listed in listing {
            run.read += 1
            guard let name = run.scan.consider(name: String(validating: listed.bytes, as: UTF8.self), bytes: listed.bytes) else { continue }
            run.lookedUp.append(name)
            if !run.scan.record(name, listed.entry) { break }
        }
        return run
    }

    static func names(_ count: Int) -> [String] {
        (0..<count).map { "m\(String(10_000 + $0)).json" }
    }

    @Test func theLimitIsFourThousandNinetySixNames() {
        #expect(InboxScan.limit == 4_096)
    }

    @Test func anInboxBelowTheLimitIsListedWhole() {
        let names = Self.names(4_095)
        let run = Self.run(names.map { .file($0) })
        #expect(run.read == 4_095)
        #expect(run.scan.observations.map(\.name) == names)
        #expect(run.scan.isComplete, "a name this scan did not see is gone")
    }

    /// The count reaches the limit on the last name, before the listing could say whether more
    /// follow: the scan counts as cut, and the inbox is listed again once the queue has drained.
    @Test func anInboxOfExactlyTheLimitCountsAsCut() {
        let names = Self.names(4_096)
        let run = Self.run(names.map { .file($0) })
        #expect(run.scan.observations.map(\.name) == names)
        #expect(run.scan.isCut)
        #expect(!run.scan.isComplete)
    }

    @Test func anInboxOverTheLimitStopsAtItAndTheRestComesNextTime() {
        let names = Self.names(4_097)
        let first = Self.run(names.map { .file($0) })
        #expect(first.read == 4_096, "the listing stops at the limit: the rest is not even read")
        #expect(first.lookedUp == Array(names.prefix(4_096)))
        #expect(first.scan.observations.map(\.name) == Array(names.prefix(4_096)))
        #expect(first.scan.isCut)

        // A cut scan forgets nothing the tracker follows, though it did not list it.
        var tracker = IntakeTracker(quietPeriod: 1)
        tracker.look([.init(name: names[4_096], size: 1, modified: 1, changed: 1)], now: 0, complete: true)
        tracker.look(first.scan.observations, now: 0.5, complete: first.scan.isComplete)
        #expect(tracker.isTracking(names[4_096]))

        // Once the queue has drained (the first names routed, so gone from the inbox), the next
        // scan lists the rest, whole.
        let second = Self.run([.file(names[4_096])])
        #expect(second.scan.observations.map(\.name) == [names[4_096]])
        #expect(second.scan.isComplete)
    }

    /// Names queued for routing count against the limit and are not looked up again.
    @Test func queuedNamesCountAgainstTheLimitAndAreNotLookedUp() {
        let run = Self.run([.file("a.json"), .file("b.json"), .file("c.json"), .file("d.json")],
                           queued: ["a.json", "x.json"], limit: 4)
        #expect(run.lookedUp == ["b.json", "c.json"])
        #expect(run.scan.observations.map(\.name) == ["b.json", "c.json"])
        #expect(run.scan.isCut, "two queued plus two looked at reach the limit")
        #expect(run.read == 3)

        // A full queue: the first name looked at already reaches the limit.
        let full = Self.run(Self.names(3).map { .file($0) }, queued: Self.names(4_096).map { "q" + $0 })
        #expect(full.scan.observations.count == 1)
        #expect(full.scan.isCut)
    }

    @Test func foldersVanishedAndIgnoredNamesAreNeitherKeptNorCounted() {
        let run = Self.run([.folder("sub"), .vanished("gone.json"), .file(".hidden.json"), .file("a.json.part"),
                            .file("b.csv"), .file("c.json")], limit: 2)
        #expect(run.lookedUp == ["sub", "gone.json", "b.csv", "c.json"], "ignored names are never looked up")
        #expect(run.scan.observations.map(\.name) == ["b.csv", "c.json"])
        #expect(run.scan.isCut)
    }

    @Test func namesThatAreNotUTF8AreKeptForRenamingNotLookedUpNorCounted() {
        let latin1: [UInt8] = Array("caf".utf8) + [0xE9] + Array(".json".utf8)
        let hiddenLatin1: [UInt8] = Array(".caf".utf8) + [0xE9]
        let partLatin1: [UInt8] = [0xFF] + Array(".tmp".utf8)
        let run = Self.run([.misnamed(latin1), .misnamed(hiddenLatin1), .misnamed(partLatin1), .file("a.json"), .misnamed([0xC3, 0x28])],
                           limit: 1)
        #expect(run.scan.misnamed == [latin1], "listed before the limit; ignored names (hidden, partial) are left alone")
        #expect(run.lookedUp == ["a.json"])
        #expect(run.scan.isCut)
        #expect(run.read == 4, "the name after the limit is not read")

        let whole = Self.run([.misnamed(latin1), .misnamed([0xC3, 0x28])], limit: 1)
        #expect(whole.scan.misnamed == [latin1, [0xC3, 0x28]])
        #expect(whole.scan.isComplete, "names to rename do not count against the limit")
    }

    /// A file that only scans see is claimed once two scans a quiet period apart saw it
    /// unchanged; one that changed between them waits again.
    @Test func aScannedFileIsReadyAfterTwoLooksAQuietPeriodApart() {
        var tracker = IntakeTracker(quietPeriod: 2)
        let first = Self.run([.file("a.json", size: 10, time: 1), .file("b.json", size: 5, time: 1)])
        tracker.look(first.scan.observations, now: 0, complete: first.scan.isComplete)
        #expect(tracker.takeReady(now: 2) == [], "one look only")
        #expect(tracker.needsLook(now: 2))
        let second = Self.run([.file("a.json", size: 10, time: 1), .file("b.json", size: 9, time: 3)])
        tracker.look(second.scan.observations, now: 2, complete: second.scan.isComplete)
        #expect(tracker.takeReady(now: 2) == ["a.json"])
        #expect(tracker.takeReady(now: 3.9) == [], "b.json changed between the looks: it waits again")
        let third = Self.run([.file("b.json", size: 9, time: 3)])
        tracker.look(third.scan.observations, now: 4, complete: third.scan.isComplete)
        #expect(tracker.takeReady(now: 4) == ["b.json"])
    }
}

/// Files whose name is not UTF-8: when they are renamed, and to what.
@Suite struct MisnamedFileTests {
    static let second: Int64 = 1_000_000_000

    @Test func aFileIsRenamedOnlyOnceItsTimesAreAQuietPeriodOld() {
        let stamp = IntakeTracker.Stamp(size: 1, modified: 100 * Self.second, changed: 101 * Self.second)
        #expect(MisnamedFile.decide(.file(stamp), now: 102.9, quietPeriod: 2) == .wait, "changed 1.9 s ago")
        #expect(MisnamedFile.decide(.file(stamp), now: 103, quietPeriod: 2) == .rename)
        #expect(MisnamedFile.decide(.folder, now: 1_000, quietPeriod: 2) == .leave)
        #expect(MisnamedFile.decide(.vanished, now: 1_000, quietPeriod: 2) == .leave)
    }

    @Test func theNamesTriedAreTheEncodedNameThenNumberedUpToAHundred() {
        let file = MisnamedFile(Array("caf".utf8) + [0xE9] + Array(".json".utf8))
        #expect(file.readable == "caf%E9.json")
        let candidates = Array(file.candidates)
        #expect(candidates.count == MisnamedFile.attempts)
        #expect(MisnamedFile.attempts == 100)
        #expect(candidates.first == "caf%E9.json")
        #expect(candidates[1] == "caf%E9.2.json")
        #expect(candidates.last == "caf%E9.100.json")
    }

    /// When every name tried is taken the file stays under its name (the daemon logs it once);
    /// a name freed later is used at the next try.
    @Test func aFileWhoseEveryNameIsTakenStaysAsItIs() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-misnamed-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let bytes: [UInt8] = Array("caf".utf8) + [0xE9] + Array(".json".utf8)
        let path = Array(folder.utf8) + [UInt8(ascii: "/")] + bytes + [0]
        let created = path.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { Glibc.open($0.baseAddress!, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640) }
        }
        #expect(created >= 0)
        System.close(created)
        let file = MisnamedFile(bytes)
        for name in file.candidates {
            #expect(FileManager.default.createFile(atPath: folder + "/" + name, contents: Data()))
        }
        let inboxFD = try System.openDirectory(folder, followingLinks: false)
        defer { System.close(inboxFD) }
        #expect(file.rename(in: inboxFD, inboxPath: folder, quietPeriod: 3_600) == .changing, "written moments ago")
        #expect(file.rename(in: inboxFD, inboxPath: folder, quietPeriod: 0) == .everyNameTaken)
        #expect(file.rename(in: inboxFD, inboxPath: folder, quietPeriod: 0) == .everyNameTaken, "tried again, same outcome")
        try FileManager.default.removeItem(atPath: folder + "/caf%E9.37.json")
        #expect(file.rename(in: inboxFD, inboxPath: folder, quietPeriod: 0) == .renamed("caf%E9.37.json"))
        #expect(file.rename(in: inboxFD, inboxPath: folder, quietPeriod: 0) == .left, "gone from its old name")
        #expect(file.rename(in: inboxFD, inboxPath: folder, quietPeriod: 3_600) == .left)
    }
}
