import Foundation
import Testing

/// A file whose evaluation takes the daemon down must not keep it down (docs/reliability.md,
/// the row of `.batchgate.evaluating`). The daemon is killed (kill -9, as the kernel's OOM killer or systemd's watchdog
/// would) while it evaluates one large manifest, twice: the third start sets the file aside instead
/// of evaluating it again, and comes up.
@Suite("A file that takes the daemon down", .serialized)
struct CrashLoopTests {
    let fileManager = FileManager.default

    /// A manifest of 10,000 packages (the most one may hold): long enough to evaluate that the
    /// test sees the daemon at it.
    func largeManifest() -> Data {
        var text = "["
        for number in 0..<10_000 {
            if number > 0 { text += "," }
            let tag = String(format: "1A4FF03000000220%08d", number)
            text += """
                {"Tag": "\(tag)", "Item": "Resin", "ItemCategory": "Concentrate", "Quantity": 1, "UnitOfMeasure": "Grams",
                 "Ingredients": [{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}
                """
        }
        return Data((text + "]").utf8)
    }

    /// Waits until the daemon's marker of files in hand names `name` with `attempt`, then kills
    /// the daemon; false when it never did within the time.
    func killWhileEvaluating(_ process: Process, root: URL, name: String, attempt: Int) -> Bool {
        let marker = root.appendingPathComponent(".batchgate.evaluating")
        let seen = waitUntil(timeout: 60, pollEvery: 0.002) {
            guard let text = try? String(contentsOf: marker, encoding: .utf8) else { return false }
            // Claimed (in processing/) and named in the marker: in the middle of its evaluation.
            return text.contains("\"attempt\":\(attempt)") && text.contains(name)
                && FileManager.default.fileExists(atPath: root.appendingPathComponent("processing/" + name).path)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return seen
    }

    func runDaemon(root: URL) throws -> Process {
        let process = Process()
        process.executableURL = Executable.batchgate
        process.arguments = ["run", "--root", root.path]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test func aFileInHandTwiceWhenTheDaemonDiedIsSetAsideAndTheDaemonComesUp() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let first = try runDaemon(root: root)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        #expect(waitUntil(timeout: 20) { fileManager.fileExists(atPath: root.appendingPathComponent("inbox").path) })
        // Written beside the inbox and moved in: taken at once.
        let staged = root.appendingPathComponent("big.json")
        try largeManifest().write(to: staged)
        #expect(rename(staged.path, root.appendingPathComponent("inbox/big.json").path) == 0)
        #expect(killWhileEvaluating(first, root: root, name: "big.json", attempt: 1), "killed while evaluating it in a batch")

        // The second start evaluates it again, alone, before it is ready: killed there too.
        let second = try runDaemon(root: root)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        #expect(killWhileEvaluating(second, root: root, name: "big.json", attempt: 2), "killed while evaluating it alone")
        #expect(fileManager.fileExists(atPath: root.appendingPathComponent("processing/big.json").path))

        // The third start rejects it unread, says why, and comes up.
        let third = DaemonProcess(root: root)
        try third.start()
        defer { third.stop() }
        #expect(third.manifests(in: "rejected") == ["big.json"])
        let report = try String(contentsOf: root.appendingPathComponent("rejected/big.json.report.txt"), encoding: .utf8)
        #expect(report.contains("stopped twice while evaluating this file"), "\(report)")
        #expect(third.log.contains("big.json was being evaluated each of the last two times batchgate stopped unexpectedly"))
        #expect(third.auditLines().count == 1)
        // The manifest itself is moved as it was.
        #expect(try Data(contentsOf: root.appendingPathComponent("rejected/big.json")) == largeManifest())
    }

    @Test func hostileFilesNeitherStarveTheWatchdogNorTakeMemoryBeyondBounds() throws {
        // Twelve files of 16 MB of `[0,0,…]` (before the caps, 4.4 GB and 23 s each): the
        // daemon routes them all to rejected/, keeps sending WATCHDOG=1 as it works through
        // them, and its peak memory stays far from what a memory limit would kill.
        let root = try DaemonProcess.temporaryRoot()
        defer { try? fileManager.removeItem(at: root) }
        let socket = try NotifySocket(path: root.appendingPathComponent("notify.sock").path)
        // WatchdogSec=6s: a ping at least every 3 s is what systemd would want.
        let daemon = DaemonProcess(root: root.appendingPathComponent("state"),
                                   environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "6000000"])
        try daemon.start()
        let zeros = Data(("[" + String(repeating: "0,", count: 8_000_000) + "0]").utf8)
        let staging = root.appendingPathComponent("staging")
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        let names = (1...12).map { "zeros-\($0).json" }
        for name in names { try zeros.write(to: staging.appendingPathComponent(name)) }
        let started = Date()
        for name in names {
            #expect(rename(staging.appendingPathComponent(name).path, daemon.inbox.appendingPathComponent(name).path) == 0)
        }
        _ = socket.receive(until: { _ in daemon.manifests(in: "rejected").count == names.count }, timeout: 120)
        let finished = Date()
        #expect(daemon.manifests(in: "rejected").sorted() == names.sorted())
        let report = try String(contentsOf: daemon.root.appendingPathComponent("rejected/zeros-1.json.report.txt"), encoding: .utf8)
        #expect(report.contains("2,000,000 values"), "\(report.prefix(600))")
        // Every gap between pings while the files were routed, from the drop to the last move.
        let pings = [started] + socket.arrivals.filter { $0.message == "WATCHDOG=1" && $0.at > started }.map(\.at) + [finished]
        let longest = zip(pings, pings.dropFirst()).map { $1.timeIntervalSince($0) }.max() ?? 0
        #expect(longest < 4.5, "the longest silence of the watchdog was \(longest) s over \(finished.timeIntervalSince(started)) s")
        let status = (try? String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
        #expect(peak > 0 && peak < 1_000_000, "peak resident memory \(peak) kB")
        daemon.stop()
    }
}
