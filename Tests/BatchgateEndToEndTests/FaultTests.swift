import Foundation
import Testing
import TestSupport

/// Faults around the daemon binary (docs/reliability.md, "Fault tests"): kill -9 at random moments,
/// a webhook down, failing or hanging, a full filesystem, a file it may not read, links leading out
/// of the inbox, FIFOs, sockets and folders dropped in it, and hostile file names. Each test checks
/// the same four things: nothing lost (every dropped file in exactly one outcome folder, or left
/// alone where it must be), nothing twice (one report pair and one audit line each), the daemon
/// alive (it still routes a fresh file, and stops cleanly), and a log line that says what happened.
@Suite("Faults", .serialized)
struct FaultTests {
    let fileManager = FileManager.default
    static let outcomes = ["accepted", "needs-batch", "rejected"]

    // MARK: kill -9

    @Test func killMinusNineAtRandomMomentsOfABurstLosesAndRepeatsNothing() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let staging = root.appendingPathComponent("staging")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        // 8 rounds of 300 files, a few with hostile names, so recovery reads them back from journals.
        var expected: [String: String] = [:]
        var rounds: [[String]] = []
        for round in 0..<8 {
            var names: [String] = []
            for index in 0..<300 {
                let number = round * 300 + index
                let name = index % 25 == 0 ? "round \(round) \"\(index)\"\nit's.json" : "burst-\(number).json"
                let kind = number % 10
                let bytes = kind == 9 ? Data("garbage".utf8) : manifest(number, needsBatch: kind < 4)
                try bytes.write(to: staging.appendingPathComponent(name))
                // Older than the settle time, so a start-up scan takes them at once.
                try fileManager.setAttributes([.modificationDate: Date().addingTimeInterval(-60)],
                                              ofItemAtPath: staging.appendingPathComponent(name).path)
                expected[name] = kind == 9 ? "rejected" : kind < 4 ? "needs-batch" : "accepted"
                names.append(name)
            }
            rounds.append(names)
        }
        var generator = SystemRandomNumberGenerator()
        var daemon = DaemonProcess(root: root)
        try daemon.start()
        var interrupted = 0
        var summary: [String] = []
        for (round, names) in rounds.enumerated() {
            let before = daemon.routedCount
            for name in names {
                #expect(rename(staging.appendingPathComponent(name).path, daemon.inbox.appendingPathComponent(name).path) == 0)
            }
            // A random moment of the burst, which the debug build routes in about 60 ms: before
            // the first claim, while reports are written or manifests moved, or just after.
            let delay = UInt32.random(in: 0...60_000, using: &generator)
            usleep(delay)
            daemon.crash()
            let leftInProcessing = daemon.names(in: "processing")
            let hadJournal = leftInProcessing.contains { $0.hasPrefix(".journal-") }
            let hadClaims = leftInProcessing.contains { !$0.hasPrefix(".") }
            if hadJournal || hadClaims { interrupted += 1 }
            summary.append("round \(round): killed after \(delay / 1000) ms at \(daemon.routedCount - before)/\(names.count) routed, journal \(hadJournal), claimed \(leftInProcessing.filter { !$0.hasPrefix(".") }.count)")
            daemon = DaemonProcess(root: root)
            try daemon.start()
            // The restart says what it finishes: a journal replayed, or claimed files routed.
            if hadJournal {
                #expect(daemon.log.contains("replaying the journal .journal-"), "round \(round):\n\(daemon.log)")
            } else if hadClaims {
                #expect(daemon.log.contains("manifest(s) left in processing/ by an earlier run"), "round \(round):\n\(daemon.log)")
            }
        }
        print("kill -9 rounds:\n" + summary.joined(separator: "\n"))
        #expect(interrupted >= 1, "at least one kill caught a batch in flight: \(summary)")
        #expect(waitUntil(timeout: 60) { daemon.routedCount >= expected.count }, "routed \(daemon.routedCount) of \(expected.count)")
        expected[try expectStillRouting(daemon)] = "accepted"
        expectRoutedOnce(daemon, expected)
        #expect(daemon.names(in: "inbox").isEmpty)
        #expect(daemon.stop() == 0)
    }

    // MARK: Webhook faults

    @Test func aWebhookDownForAMinuteGetsEveryAlertOnceWhenItIsBack() throws {
        // A port that was listened on and no longer is: connections are refused, as by a
        // receiver that is down. The receiver comes back on the same port a minute later.
        let gone = try LoopbackHTTPServer()
        let port = gone.port
        gone.stop()
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", try webhookConfig(root: root, port: port)])
        try daemon.start()
        let dropped = Date()
        var expected = try dropMixed(12, into: daemon, prefix: "outage")
        #expect(waitUntil(timeout: 10) { daemon.routedCount == expected.count }, "routing does not wait for the webhook")
        let alerting = expected.values.filter { $0 != "accepted" }.count
        #expect(waitUntil(timeout: 10) { waiting(daemon).count == alerting }, "each alert waits in outbox/")
        #expect(waitUntil(timeout: 10) { daemon.log.contains("warning: desk cannot deliver: ") }, "\(daemon.log)")
        let refusal = daemon.log.split(separator: "\n").first { $0.contains("desk cannot deliver") }
        #expect(refusal?.contains("desk cannot deliver: cannot connect to the receiver: is it up?") == true && refusal?.contains("; curl error 7); ") == true
                && refusal?.hasSuffix(", retried with backoff") == true, "what to check, libcurl's words kept: \(refusal ?? "")")

        // Down for a minute: the daemon keeps trying, gives nothing up, and goes on routing.
        Thread.sleep(until: dropped.addingTimeInterval(60))
        #expect(daemon.process.isRunning)
        #expect(waiting(daemon).count == alerting)
        #expect(daemon.names(in: "outbox/dead").isEmpty, "nothing given up during the outage")
        let attempts = waiting(daemon).compactMap { name -> Int? in
            let data = try? Data(contentsOf: daemon.root.appendingPathComponent("outbox/" + name))
            return (data.flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any])?["attempts"] as? Int
        }
        #expect(attempts.count == alerting && attempts.allSatisfy { $0 >= 3 }, "each retried with backoff: \(attempts)")
        // A minute of retries of every alert is one warning: the sink's state, not each attempt.
        let warnings = daemon.log.split(separator: "\n").filter { $0.contains(" warning: ") }
        #expect(warnings.count == 1, "\(warnings)")

        let back = try LoopbackHTTPServer(port: port)
        // The longest backoff a minute in can reach is about 64 s: all are sent by then.
        #expect(waitUntil(timeout: 90) { waiting(daemon).isEmpty }, "delivered once the webhook is back:\n\(daemon.log.suffix(3000))")
        let keys = back.requests.compactMap { $0.headers["idempotency-key"] }
        #expect(keys.count == alerting && Set(keys).count == alerting, "each alert exactly once: \(keys)")
        let alerted = Set(daemon.auditLines().filter { $0["folder"] as? String != "accepted" }.compactMap { $0["id"] as? String })
        #expect(Set(keys.map { String($0.prefix { $0 != "-" }) }) == alerted, "one key per needs-batch or rejected manifest")
        #expect(daemon.names(in: "outbox/dead").isEmpty)
        #expect(daemon.log.contains("delivered alert "))
        #expect(daemon.log.split(separator: "\n").filter { $0.contains("notice: desk delivers again after ") }.count == 1, "\(daemon.log)")

        // Back to normal: a new alert goes out at once, not after some leftover backoff.
        let fresh = "after-outage.json"
        try manifest(9_000, needsBatch: true).write(to: daemon.inbox.appendingPathComponent(fresh))
        #expect(waitUntil(timeout: 5) { back.requests.count == alerting + 1 }, "a new alert is sent at once")
        expected[fresh] = "needs-batch"
        expected[try expectStillRouting(daemon)] = "accepted"
        expectRoutedOnce(daemon, expected)
        #expect(daemon.stop() == 0)
    }

    /// How a webhook fails before it recovers.
    enum WebhookFailure: String, CaseIterable, CustomTestStringConvertible {
        case tooManyRequests, serverError, hang
        var testDescription: String { rawValue }
    }

    @Test(arguments: WebhookFailure.allCases)
    func aFailingWebhookGetsEachAlertOnceAfterItRecovers(_ failure: WebhookFailure) throws {
        let server = try LoopbackHTTPServer()
        let failures: [LoopbackHTTPServer.Reply]
        switch failure {
        case .tooManyRequests:
            failures = Array(repeating: .answer(status: 429, headers: [("Retry-After", "2")], body: "slow down"), count: 3)
        case .serverError:
            failures = Array(repeating: .answer(status: 500, body: "boom"), count: 3)
        case .hang:
            // Each hung request takes the 2 s timeout; the sender sends one at a time.
            failures = [.hang, .hang]
        }
        server.script(failures)
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root, arguments: ["run", "--config", try webhookConfig(root: root, port: server.port)])
        try daemon.start()
        var expected = try dropMixed(6, into: daemon, prefix: "first", needsBatchOnly: true)
        #expect(waitUntil(timeout: 10) { daemon.routedCount == 6 })
        #expect(waitUntil(timeout: 5) { server.requests.count >= 1 }, "the first alert is being sent")
        // While the endpoint fails or hangs, a second group is routed at once.
        let started = Date()
        expected.merge(try dropMixed(6, into: daemon, prefix: "second", needsBatchOnly: true)) { $1 }
        #expect(waitUntil(timeout: 10) { daemon.routedCount == 12 })
        #expect(Date().timeIntervalSince(started) < 1.5, "routing is not held up by the \(failure) endpoint")

        // An alert waiting out a Retry-After is not always a visible outbox entry: wait for the
        // deliveries themselves too, then check below that there was no more than one of each.
        #expect(waitUntil(timeout: 40) {
            waiting(daemon).isEmpty
                && Set(server.requests.dropFirst(failures.count).compactMap { $0.headers["idempotency-key"] }).count >= 12
        }, "delivered after the endpoint recovered:\n\(daemon.log.suffix(3000))")
        let requests = server.requests
        let failed = requests.prefix(failures.count)
        let delivered = requests.dropFirst(failures.count)
        let keys = delivered.compactMap { $0.headers["idempotency-key"] }
        #expect(keys.count == 12 && Set(keys).count == 12, "each alert delivered exactly once: \(keys)")
        let ids = Set(daemon.auditLines().compactMap { $0["id"] as? String })
        #expect(Set(keys.map { String($0.prefix { $0 != "-" }) }) == ids)
        for request in failed {
            let key = request.headers["idempotency-key"]
            let retry = delivered.first { $0.headers["idempotency-key"] == key }
            #expect(retry != nil, "\(key ?? "?") was sent again after failing")
            if failure == .tooManyRequests, let retry {
                #expect(retry.at.timeIntervalSince(request.at) >= 1.9, "Retry-After: 2 honoured")
            }
        }
        #expect(daemon.names(in: "outbox/dead").isEmpty, "nothing given up")
        let expectedLine: String
        switch failure {
        case .tooManyRequests: expectedLine = "warning: desk cannot deliver: HTTP 429: the receiver asks for fewer messages: batchgate waits as long as it says; a slower rateLimit on the sink avoids it (slow down); "
        case .serverError: expectedLine = "warning: desk cannot deliver: HTTP 500: the receiver has a problem; nothing to fix here (boom); "
        case .hang: expectedLine = "warning: desk cannot deliver: the receiver did not answer within 2s (alerts.timeout; connecting: 2s)"
        }
        #expect(daemon.log.contains(expectedLine), "\(daemon.log)")
        #expect(daemon.log.contains("notice: desk delivers again after "), "\(daemon.log)")
        expected[try expectStillRouting(daemon)] = "accepted"
        expectRoutedOnce(daemon, expected)
        #expect(daemon.stop() == 0)
    }

    // MARK: The state root's filesystem full

    /// `freePages` 0: not a page left, so not even the journal can be written; 40: room for the
    /// journal and some reports, so the filesystem fills up in the middle of a batch (and, now
    /// and then, of an audit append).
    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs as the state root needs root"), arguments: [0, 40])
    func aFullFilesystemLosesNothingAndRoutesEverythingOnceThereIsRoom(freePages: Int) throws {
        let mountPoint = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: mountPoint) }
        guard mount("tmpfs", mountPoint.path, "tmpfs", 0, "size=2m,mode=0755") == 0 else {
            let reason = "skipped: cannot mount a tmpfs here (\(String(cString: strerror(errno))))"
            print("FaultTests: \(reason)")
            try Test.cancel(Comment(rawValue: reason))
        }
        defer { umount2(mountPoint.path, Int32(MNT_DETACH)) }
        let config = mountPoint.appendingPathComponent("batchgate.yaml")
        try Data("stateRoot: state\nrescanInterval: 1s\nquietPeriod: 500ms\n".utf8).write(to: config)
        let daemon = DaemonProcess(root: mountPoint.appendingPathComponent("state"), arguments: ["run", "--config", config.path])
        try daemon.start()
        var expected: [String: String] = [:]
        expected[try expectStillRouting(daemon)] = "accepted"

        // 100 manifests staged on the same filesystem, then the filesystem filled to the last page
        // (and `freePages` given back).
        let staging = mountPoint.appendingPathComponent("staging")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        for number in 1...100 {
            let name = "full-\(number).json"
            try (number % 5 == 0 ? Data("{".utf8) : manifest(number, needsBatch: number % 2 == 0)).write(to: staging.appendingPathComponent(name))
            expected[name] = number % 5 == 0 ? "rejected" : number % 2 == 0 ? "needs-batch" : "accepted"
        }
        let filler = mountPoint.appendingPathComponent("filler")
        try fill(filler)
        let filled = try fileManager.attributesOfItem(atPath: filler.path)[.size] as? Int ?? 0
        #expect(truncate(filler.path, off_t(max(0, filled - freePages * 4096))) == 0)

        // Dropped (renamed in, which needs no room) while little or nothing can be written.
        let dropped = expected.keys.filter { $0.hasPrefix("full-") }
        for name in dropped {
            #expect(rename(staging.appendingPathComponent(name).path, daemon.inbox.appendingPathComponent(name).path) == 0)
        }
        #expect(waitUntil(timeout: 10) { daemon.log.contains("No space left on device") }, "\(daemon.log)")
        usleep(3_000_000)  // a few rescans, each trying again
        #expect(daemon.process.isRunning)
        let errors = daemon.log.split(separator: "\n").filter { $0.contains(" error: ") }
        #expect(!errors.isEmpty && errors.allSatisfy { $0.contains("No space left on device") }, "\(errors)")
        #expect(errors.contains { $0.contains("tried again") || $0.contains("to try again") }, "the log says it will try again")
        // Nothing lost meanwhile: each file in exactly one place.
        for name in dropped {
            let places = (["inbox", "processing"] + Self.outcomes).filter { daemon.names(in: $0).contains(name) }
            #expect(places.count == 1, "\(name) is in \(places)")
        }

        // Room again: the periodic rescan finishes everything.
        try fileManager.removeItem(at: filler)
        #expect(waitUntil(timeout: 30) { daemon.routedCount == expected.count }, "routed \(daemon.routedCount) of \(expected.count):\n\(daemon.log.suffix(3000))")
        usleep(1_500_000)  // one more rescan: nothing is routed twice
        expected[try expectStillRouting(daemon)] = "accepted"
        expectRoutedOnce(daemon, expected)
        #expect(waitUntil(timeout: 10) { daemon.names(in: "processing").isEmpty }, "no journal left: \(daemon.names(in: "processing"))")
        #expect(daemon.names(in: "inbox").isEmpty)
        #expect(daemon.stop() == 0)
    }

    // MARK: A file the daemon may not read

    @Test(.enabled(if: getuid() == 0, "running the daemon as another user needs root"))
    func aFileTheDaemonMayNotReadIsRejectedOnceWithTheReason() throws {
        // Root reads everything, so the daemon runs as nobody (65534) on a state root it owns.
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        #expect(chown(root.path, 65534, 65534) == 0)
        let daemon = DaemonProcess(root: root)
        daemon.process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        daemon.process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", Executable.batchgate.path, "run", "--root", root.path]
        try daemon.start()

        // Written by root with mode 000: the daemon may move it (it owns the inbox) but not read it.
        let secret = daemon.inbox.appendingPathComponent("secret.json")
        let contents = manifest(1, needsBatch: true)
        let fd = open(secret.path, O_WRONLY | O_CREAT | O_EXCL, 0)
        #expect(fd >= 0)
        _ = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        #expect(waitUntil(timeout: 10) { daemon.routedCount == 1 }, "\(daemon.log)")
        var expected = ["secret.json": "rejected"]
        let report = try String(contentsOf: root.appendingPathComponent("rejected/secret.json.report.txt"), encoding: .utf8)
        #expect(report.contains("the file could not be opened: Permission denied"), "\(report)")
        // The log line follows the move and the audit line.
        #expect(waitUntil(timeout: 5) { daemon.log.contains("routed secret.json to rejected/: rejected: the file could not be opened: Permission denied") },
                "\(daemon.log)")
        // The manifest is moved as it was: still root's, mode 000, the same bytes.
        let moved = try fileManager.attributesOfItem(atPath: root.appendingPathComponent("rejected/secret.json").path)
        #expect((moved[.posixPermissions] as? Int) == 0 && (moved[.ownerAccountID] as? Int) == 0)
        #expect(try Data(contentsOf: root.appendingPathComponent("rejected/secret.json")) == contents)

        // Rejected once, never retried: a rescan later it is still one line in the log.
        usleep(1_000_000)
        expected[try expectStillRouting(daemon)] = "accepted"
        #expect(daemon.log.components(separatedBy: "routed secret.json").count == 2)
        expectRoutedOnce(daemon, expected)
        #expect(daemon.stop() == 0)
    }

    // MARK: Links, FIFOs, sockets and folders in the inbox

    @Test func linksOutOfTheInboxFifosSocketsAndFoldersNeverLeadAnywhere() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        // A manifest and a folder outside the state root, which links will point at.
        let outside = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: outside) }
        let target = outside.appendingPathComponent("target.json")
        let targetBytes = manifest(7, needsBatch: false)
        try targetBytes.write(to: target)
        try fileManager.createDirectory(at: outside.appendingPathComponent("folder"), withIntermediateDirectories: true)
        try Data("kept".utf8).write(to: outside.appendingPathComponent("folder/inner.txt"))
        let before = try fileManager.attributesOfItem(atPath: target.path)

        let config = root.appendingPathComponent("batchgate.yaml")
        try Data("stateRoot: state\nrescanInterval: 1s\nquietPeriod: 500ms\n".utf8).write(to: config)
        let daemon = DaemonProcess(root: root.appendingPathComponent("state"), arguments: ["run", "--config", config.path])
        try daemon.start()
        let inbox = daemon.inbox
        let links = [
            "to-outside.json": target.path,                                  // absolute, to a valid manifest
            "relative-out.json": "../../../" + outside.lastPathComponent + "/target.json",
            "to-folder.json": outside.appendingPathComponent("folder").path,
            "to-root": "/",
            "dangling.json": "/nonexistent/batchgate/x.json",
            "loop.json": "loop.json",
            "to-own-report.json": "../accepted/anything.json",
        ]
        for (name, destination) in links {
            try fileManager.createSymbolicLink(atPath: inbox.appendingPathComponent(name).path, withDestinationPath: destination)
        }
        #expect(mkfifo(inbox.appendingPathComponent("pipe.json").path, 0o644) == 0)
        let socketFD = try bindUnixSocket(at: inbox.appendingPathComponent("socket.json").path)
        defer { close(socketFD) }
        // Folders: made in place, named like a manifest, and moved in with contents.
        try fileManager.createDirectory(at: inbox.appendingPathComponent("made-here"), withIntermediateDirectories: false)
        try manifest(8, needsBatch: true).write(to: inbox.appendingPathComponent("made-here/inner.json"))
        try fileManager.createDirectory(at: inbox.appendingPathComponent("folder.json"), withIntermediateDirectories: false)
        let staging = root.appendingPathComponent("staging/moved-in")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        try manifest(9, needsBatch: false).write(to: staging.appendingPathComponent("inner.csv"))
        try fileManager.moveItem(at: staging, to: inbox.appendingPathComponent("moved-in"))

        var expected: [String: String] = [:]
        for name in links.keys + ["pipe.json", "socket.json"] { expected[name] = "rejected" }
        #expect(waitUntil(timeout: 10) { daemon.routedCount == expected.count }, "routed \(daemon.routedCount):\n\(daemon.log)")
        usleep(2_500_000)  // two rescans: the folders are still left alone

        let rejected = root.appendingPathComponent("state/rejected")
        for (name, destination) in links {
            let moved = rejected.appendingPathComponent(name).path
            #expect((try? fileManager.destinationOfSymbolicLink(atPath: moved)) == destination, "\(name) moved as the link it was")
            let report = try String(contentsOf: rejected.appendingPathComponent(name + ".report.txt"), encoding: .utf8)
            #expect(report.contains("symbolic link"), "\(name): \(report)")
        }
        let pipeReport = try String(contentsOf: rejected.appendingPathComponent("pipe.json.report.txt"), encoding: .utf8)
        #expect(pipeReport.contains("named pipe (FIFO)"))
        let socketReport = try String(contentsOf: rejected.appendingPathComponent("socket.json.report.txt"), encoding: .utf8)
        #expect(socketReport.contains("not a regular file"))
        #expect(daemon.log.contains("routed to-outside.json to rejected/: rejected: the file is a symbolic link"))
        // Nothing outside was read, moved or changed.
        let after = try fileManager.attributesOfItem(atPath: target.path)
        #expect(try Data(contentsOf: target) == targetBytes)
        #expect(after[.systemFileNumber] as? Int == before[.systemFileNumber] as? Int)
        #expect(after[.modificationDate] as? Date == before[.modificationDate] as? Date)
        #expect(try fileManager.contentsOfDirectory(atPath: outside.path).sorted() == ["folder", "target.json"])
        #expect(try fileManager.contentsOfDirectory(atPath: outside.appendingPathComponent("folder").path) == ["inner.txt"])
        // The folders stay where they were, contents untouched, and nothing reports on them.
        #expect(daemon.names(in: "inbox") == ["folder.json", "made-here", "moved-in"])
        #expect(daemon.names(in: "inbox/made-here") == ["inner.json"])
        #expect(daemon.names(in: "inbox/moved-in") == ["inner.csv"])
        #expect(!daemon.log.contains("routed made-here") && !daemon.log.contains("routed moved-in") && !daemon.log.contains("routed folder.json"))

        expected[try expectStillRouting(daemon)] = "accepted"
        expectRoutedOnce(daemon, expected)
        #expect(daemon.stop() == 0)
    }

    // MARK: Hostile file names

    @Test func namesWithSpacesQuotesNewlinesAndBadBytesAreEachRoutedOnce() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root)
        try daemon.start()
        let valid = [
            "with space.json", "  leading and trailing  .json", "it's \"quoted\".json", "back\\slash.json",
            "line\nbreak.json", "\nstarts with a newline.json", "tab\there.json", "carriage\rreturn.json",
            "$(touch pwned) `id`; rm -rf x.json", "-starts-with-a-dash.json", "percent %41 100%.json",
            "ümlaut 名前.json", "emoji 🚀.json", "caf%E9.json",
        ]
        // Names that are not UTF-8, and the name each gets in its place (`%XX` for each bad byte).
        let invalid: [([UInt8], String)] = [
            (Array("bad".utf8) + [0xFF, 0xFE] + Array(" name.json".utf8), "bad%FF%FE name.json"),
            (Array("latin".utf8) + [0xE9] + Array("\n\"quoted\" 50%.json".utf8), "latin%E9\n\"quoted\" 50%25.json"),
            (Array("truncated ".utf8) + [0xE2, 0x82] + Array(".json".utf8), "truncated %E2%82.json"),
            // Renamed to the name of a valid file dropped beside it: one of them becomes .2.
            (Array("caf".utf8) + [0xE9] + Array(".json".utf8), "caf%E9.2.json"),
        ]
        var expected: [String: String] = [:]
        for (index, name) in valid.enumerated() {
            try dropFile(Array(name.utf8), contents: manifest(index, needsBatch: false), into: daemon.inbox)
            expected[name] = "accepted"
        }
        for (index, (bytes, routedAs)) in invalid.enumerated() {
            try dropFile(bytes, contents: manifest(100 + index, needsBatch: false), into: daemon.inbox)
            expected[routedAs] = "accepted"
        }
        #expect(waitUntil(timeout: 15) { daemon.routedCount == expected.count }, "routed \(daemon.routedCount) of \(expected.count):\n\(daemon.log)")
        expected[try expectStillRouting(daemon)] = "accepted"
        expectRoutedOnce(daemon, expected)

        // Each report names the file as it was dropped (or renamed to).
        for name in valid where name != "caf%E9.json" {
            let data = try Data(contentsOf: root.appendingPathComponent("accepted").appendingPathComponent(name + ".report.json"))
            let report = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            #expect(report?["originalName"] as? String == name)
        }
        // Every log line is one event: a newline in a name is written as \n, never a line break.
        let lines = daemon.log.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.allSatisfy { $0.hasPrefix("20") && $0.contains("Z ") }, "\(lines)")
        #expect(waitUntil(timeout: 5) { daemon.log.contains("routed line\\nbreak.json to accepted/") })
        #expect(daemon.log.components(separatedBy: "its name was not UTF-8").count - 1 == invalid.count)
        #expect(!fileManager.fileExists(atPath: "pwned") && !fileManager.fileExists(atPath: root.appendingPathComponent("pwned").path))
        #expect(daemon.stop() == 0)
    }

    @Test func namesTooLongForTheirReportsAreStillRoutedOnce() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let daemon = DaemonProcess(root: root)
        try daemon.start()
        // NAME_MAX is 255 bytes: a manifest of 250 bytes is a valid name, but `<name>.report.json`
        // is not; at 240 the report fits but its draft `.<name>.report.json.tmp` does not; 90 bytes
        // that are not UTF-8 become 270 once written as %XX.
        let names: [[UInt8]] = [
            Array((String(repeating: "a", count: 245) + ".json").utf8),
            Array((String(repeating: "b", count: 235) + ".json").utf8),
            Array(repeating: 0xFF, count: 90) + Array(".json".utf8),
        ]
        for (index, name) in names.enumerated() {
            try dropFile(name, contents: manifest(index, needsBatch: false), into: daemon.inbox)
        }
        #expect(waitUntil(timeout: 8) { daemon.routedCount == names.count }, "routed \(daemon.routedCount) of \(names.count)")
        // The journal goes right after the audit lines are written.
        #expect(waitUntil(timeout: 2) { daemon.names(in: "processing").isEmpty && daemon.names(in: "inbox").isEmpty },
                "left: \(daemon.names(in: "processing")) \(daemon.names(in: "inbox"))")
        let fresh = "fresh.json"
        try manifest(99, needsBatch: false).write(to: daemon.inbox.appendingPathComponent(fresh))
        #expect(waitUntil(timeout: 10) { daemon.manifests(in: "accepted").contains(fresh) }, "the daemon still routes")
        // Shortened to fit: `<stem>~<8 hex>.json`, with both reports beside each.
        let accepted = daemon.manifests(in: "accepted")
        #expect(accepted.allSatisfy { $0.utf8.count <= 238 }, "\(accepted)")
        #expect(accepted.filter { $0.contains("~") }.count == 3, "\(accepted)")
        for name in accepted {
            #expect(daemon.names(in: "accepted").contains(name + ".report.json") && daemon.names(in: "accepted").contains(name + ".report.txt"))
        }
        #expect(daemon.stop(timeout: 5) == 0, "stops on SIGTERM")
        if daemon.process.isRunning { daemon.crash() }
    }

    // MARK: Helpers

    /// A config on `root` with one webhook sink on 127.0.0.1:`port` hearing every decision but
    /// accepted, and short timeouts.
    func webhookConfig(root: URL, port: UInt16) throws -> String {
        let path = root.appendingPathComponent("batchgate.yaml").path
        try """
            stateRoot: \(root.path)
            alerts:
              connectTimeout: 2s
              timeout: 2s
              sinks:
                - name: desk
                  type: webhook
                  url: http://127.0.0.1:\(port)/desk
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Drops `count` manifests by rename (a third needs a batch, a third accepted, a third
    /// malformed, unless `needsBatchOnly`); returns name → expected folder.
    func dropMixed(_ count: Int, into daemon: DaemonProcess, prefix: String, needsBatchOnly: Bool = false) throws -> [String: String] {
        let staging = daemon.root.appendingPathComponent("staging")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        var expected: [String: String] = [:]
        for number in 1...count {
            let name = "\(prefix)-\(number).json"
            let kind = needsBatchOnly ? 0 : number % 3
            try (kind == 2 ? Data("[{".utf8) : manifest(number, needsBatch: kind == 0)).write(to: staging.appendingPathComponent(name))
            #expect(rename(staging.appendingPathComponent(name).path, daemon.inbox.appendingPathComponent(name).path) == 0)
            expected[name] = ["needs-batch", "accepted", "rejected"][kind]
        }
        return expected
    }

    /// Alert files waiting in outbox/ (not dead/, not drafts).
    func waiting(_ daemon: DaemonProcess) -> [String] {
        daemon.names(in: "outbox").filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
    }

    /// Writes a file whose name is any bytes (not necessarily UTF-8) into `folder`.
    func dropFile(_ name: [UInt8], contents: Data, into folder: URL) throws {
        let path = Array(folder.path.utf8) + [UInt8(ascii: "/")] + name + [0]
        let fd = path.withUnsafeBufferPointer {
            $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT | O_EXCL, 0o644) }
        }
        guard fd >= 0 else { throw DaemonTestError("cannot create \(String(decoding: name, as: UTF8.self)): errno \(errno)") }
        _ = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// Writes into `file` until the filesystem has no page left (ENOSPC).
    func fill(_ file: URL) throws {
        let fd = open(file.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw DaemonTestError("cannot create \(file.path): errno \(errno)") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x20, count: 4096)
        while true {
            let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                guard errno == ENOSPC else { throw DaemonTestError("filling \(file.path): errno \(errno)") }
                return
            }
        }
    }

    /// A listening Unix socket at `path` (a socket file in the inbox).
    func bindUnixSocket(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { close(fd); throw DaemonTestError("cannot bind \(path): errno \(errno)") }
        return fd
    }

    /// Checks the daemon still runs and routes a fresh file; returns its name (accepted).
    func expectStillRouting(_ daemon: DaemonProcess, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        #expect(daemon.process.isRunning, "the daemon is alive:\n\(daemon.log.suffix(2000))", sourceLocation: sourceLocation)
        let name = "fresh-\(UUID().uuidString.prefix(8)).json"
        try manifest(4_242, needsBatch: false).write(to: daemon.inbox.appendingPathComponent(name))
        #expect(waitUntil(timeout: 10) { daemon.manifests(in: "accepted").contains(name) }, "a fresh file is routed",
                sourceLocation: sourceLocation)
        // Its audit line follows the move.
        #expect(waitUntil(timeout: 5) { daemon.auditLines().contains { $0["file"] as? String == name } },
                "a fresh file is audited", sourceLocation: sourceLocation)
        return name
    }

    /// Every name in `expected` (final name → folder) is in that folder and no other, with its two
    /// reports and one audit line, and nothing else was routed: nothing lost, nothing twice.
    func expectRoutedOnce(_ daemon: DaemonProcess, _ expected: [String: String], sourceLocation: SourceLocation = #_sourceLocation) {
        var found: [String: [String]] = [:]
        for folder in Self.outcomes {
            let names = Set(daemon.names(in: folder))
            #expect(!names.contains { $0.hasPrefix(".") }, "no draft left in \(folder)/: \(names.filter { $0.hasPrefix(".") })",
                    sourceLocation: sourceLocation)
            for manifest in daemon.manifests(in: folder) {
                found[manifest, default: []].append(folder)
                #expect(names.contains(manifest + ".report.json") && names.contains(manifest + ".report.txt"),
                        "\(folder)/\(manifest) has both reports", sourceLocation: sourceLocation)
            }
            let reports = names.filter { $0.hasSuffix(".report.json") || $0.hasSuffix(".report.txt") }
            #expect(reports.count == 2 * daemon.manifests(in: folder).count, "one report pair per manifest in \(folder)/",
                    sourceLocation: sourceLocation)
        }
        let unexpected = found.keys.filter { expected[$0] == nil }.sorted()
        #expect(unexpected.isEmpty, "routed but never dropped (a second copy?): \(unexpected)", sourceLocation: sourceLocation)
        for (name, folder) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(found[name] == [folder], "\(name.debugDescription) is in \(found[name] ?? []), expected \(folder)/",
                    sourceLocation: sourceLocation)
        }
        let raw = (try? Data(contentsOf: daemon.root.appendingPathComponent("audit.jsonl"))) ?? Data()
        let audit = daemon.auditLines()
        #expect(raw.split(separator: UInt8(ascii: "\n")).count == audit.count, "every audit line is whole JSON",
                sourceLocation: sourceLocation)
        let audited = audit.compactMap { line in (line["file"] as? String).map { ($0, line["folder"] as? String ?? "") } }
        #expect(audited.count == expected.count && Set(audited.map(\.0)) == Set(expected.keys),
                "one audit line each: \(audited.count) lines for \(expected.count) manifests", sourceLocation: sourceLocation)
        for (file, folder) in audited where expected[file] != folder {
            Issue.record("audit line for \(file.debugDescription) says \(folder)", sourceLocation: sourceLocation)
        }
        #expect(daemon.names(in: "processing").filter { !$0.hasPrefix(".journal-") }.isEmpty, "nothing left in processing/",
                sourceLocation: sourceLocation)
    }
}
