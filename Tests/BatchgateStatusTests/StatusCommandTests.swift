import Foundation
import Testing
import Synchronization

/// `batchgate status` as a person or a script runs it: the built binary, its output and its exit
/// status.
@Suite(.serialized) struct StatusCommandTests {
    struct Result {
        var status: Int32
        var output: String
        var error: String
    }

    /// The built `batchgate`, beside the test bundle as SwiftPM puts it.
    static let batchgate: URL = {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: folder.appendingPathComponent("batchgate").path), folder.path != "/" {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("batchgate")
    }()

    func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = Self.batchgate
        process.arguments = arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Both pipes read before the wait, so a large output cannot block the child.
        let errorData = Mutex(Data())
        let reader = Thread { errorData.withLock { $0 = error.fileHandleForReading.readDataToEndOfFile() } }
        reader.start()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return Result(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                      error: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
    }

    @Test func runningIsZeroAndTheJSONParsesBack() throws {
        let root = try StateRoot()
        defer { root.remove() }
        let now = Date().timeIntervalSince1970
        try root.write("audit.jsonl", [StateRoot.auditLine(at: now - 7200, .rejected), StateRoot.auditLine(at: now - 20, .needsBatch),
                                       StateRoot.auditLine(at: now - 10, .accepted)].joined(separator: "\n") + "\n")
        try root.write("inbox/m.json", "{}")
        let holder = try LockHolder(folder: root.path)
        defer { holder.stop() }
        #expect(holder.waitUntilHeld(root.path))
        try root.write(".batchgate.lock", "\(holder.pid)\n")

        let json = try run(["status", "--root", root.path, "--format", "json"])
        #expect(json.status == 0, "\(json.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let daemon = try #require(object["daemon"] as? [String: Any])
        #expect(daemon["running"] as? Bool == true && daemon["pid"] as? Int == Int(holder.pid))
        let startedAt = try #require(daemon["startedAt"] as? String)
        let sinceStart = try #require((object["manifests"] as? [String: Any])?["sinceStart"] as? [String: Any])
        #expect(sinceStart["since"] as? String == startedAt)
        let day = try #require((object["manifests"] as? [String: Any])?["lastDay"] as? [String: Any])
        #expect(day["accepted"] as? Int == 1 && day["needs-batch"] as? Int == 1 && day["rejected"] as? Int == 1)
        let waiting = try #require(object["waiting"] as? [[String: Any]])
        #expect(waiting.first?["files"] as? Int == 1)

        let text = try run(["status", "--root", root.path])
        #expect(text.status == 0)
        #expect(text.output.hasPrefix("batchgate is running, pid \(holder.pid), started "))
        #expect(text.output.contains("\n  inbox "))
    }

    @Test func notRunningIsThree() throws {
        let root = try StateRoot()
        defer { root.remove() }
        let result = try run(["status", "--root", root.path])
        #expect(result.status == 3, "\(result.error)")
        #expect(result.output.hasPrefix("batchgate is not running\n"))
        #expect(result.error.isEmpty)
    }

    @Test func aStateRootThatIsNotThereIsStatusUnknown() throws {
        let result = try run(["status", "--root", "/nonexistent/batchgate-\(UUID().uuidString)"])
        #expect(result.status == 4, "LSB's status unknown, not 3: nothing says no daemon runs there")
        #expect(result.error.contains("cannot open the state root /nonexistent/batchgate-"))
        #expect(result.output.isEmpty)
    }

    @Test func aConfigThatCannotBeReadIs78() throws {
        let root = try StateRoot()
        defer { root.remove() }
        try root.write("batchgate.yaml", "stateRoot: \(root.path)\nnoSuchKey: 1\n")
        let result = try run(["status", "--config", root.path + "/batchgate.yaml"])
        #expect(result.status == 78)
        #expect(result.error.contains("noSuchKey"))
        let both = try run(["status", "--config", root.path + "/batchgate.yaml", "--root", root.path])
        #expect(both.status == 64)
    }
}
