import Foundation
import Synchronization

/// A `batchgate run` process on a temporary state root, for tests.
final class DaemonProcess: @unchecked Sendable {
    let root: URL
    let process = Process()
    private let errorPipe = Pipe()
    private let output = LockedData()

    var inbox: URL { root.appendingPathComponent("inbox") }

    /// A fresh temporary folder for a state root.
    static func temporaryRoot() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-daemon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A daemon to start with `arguments` (default `run --root ROOT`) and `environment` over this
    /// process's; with `journal`, `JOURNAL_STREAM` names its standard error as systemd's does when
    /// that is the journal, so that it writes journald's priority prefixes.
    init(root: URL, arguments: [String]? = nil, environment: [String: String] = [:], journal: Bool = false) {
        self.root = root
        process.executableURL = Executable.batchgate
        process.arguments = arguments ?? ["run", "--root", root.path]
        var merged = ProcessInfo.processInfo.environment
        merged.removeValue(forKey: "NOTIFY_SOCKET")
        merged.removeValue(forKey: "JOURNAL_STREAM")
        merged.merge(environment) { $1 }
        var info = stat()
        if journal, fstat(errorPipe.fileHandleForWriting.fileDescriptor, &info) == 0 {
            merged["JOURNAL_STREAM"] = "\(info.st_dev):\(info.st_ino)"
        }
        process.environment = merged
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        let sink = output
        errorPipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            sink.append(data)
        }
    }

    /// Starts the process and waits until it logs that it is watching the inbox.
    func start(timeout: Double = 20) throws {
        try process.run()
        let ready = waitUntil(timeout: timeout) { self.log.contains("watching ") || !self.process.isRunning }
        guard ready, process.isRunning else {
            throw DaemonTestError("the daemon did not start:\n\(log)")
        }
    }

    /// Everything the daemon wrote to standard error so far.
    var log: String { String(decoding: output.value, as: UTF8.self) }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// SIGTERM, then waits for the exit; returns the exit status.
    @discardableResult
    func stop(timeout: Double = 10) -> Int32 {
        if process.isRunning { signal(SIGTERM) }
        _ = waitUntil(timeout: timeout) { !self.process.isRunning }
        if process.isRunning { signal(SIGKILL); process.waitUntilExit() }
        return process.terminationStatus
    }

    /// kill -9, and waits for the process to be gone.
    func crash() {
        signal(SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        errorPipe.fileHandleForReading.readabilityHandler = nil
    }

    // MARK: Looking at the state root

    func names(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []).sorted()
    }

    /// Manifests (not reports, not dot-files) in an outcome folder.
    func manifests(in folder: String) -> [String] {
        names(in: folder).filter { !$0.hasPrefix(".") && !$0.hasSuffix(".report.json") && !$0.hasSuffix(".report.txt") }
    }

    /// Manifests routed and done with: in an outcome folder and audited. (A manifest moves first;
    /// its audit line, then its log line, follow within the batch, so counting only the folders
    /// would let a test read the audit log a moment too early; a test that reads the log right
    /// after waits for its line.)
    var routedCount: Int {
        let moved = ["accepted", "needs-batch", "rejected"].reduce(0) { $0 + manifests(in: $1).count }
        return min(moved, auditLineCount)
    }

    /// Lines in `audit.jsonl` and in the file logrotate would have renamed it to.
    private var auditLineCount: Int {
        ["audit.jsonl", "audit.jsonl.1"].reduce(0) { count, name in
            let data = (try? Data(contentsOf: root.appendingPathComponent(name))) ?? Data()
            return count + data.split(separator: UInt8(ascii: "\n")).count
        }
    }

    func auditLines() -> [[String: Any]] {
        guard let data = try? Data(contentsOf: root.appendingPathComponent("audit.jsonl")) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap {
            try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
        }
    }
}

/// Bytes appended from one thread and read from another.
final class LockedData: Sendable {
    private let data = Mutex<Data>(Data())
    func append(_ more: Data) { data.withLock { $0.append(more) } }
    var value: Data { data.withLock { $0 } }
}

struct DaemonTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every `pollEvery` seconds (20 ms) until it holds or `timeout` seconds pass.
@discardableResult
func waitUntil(timeout: Double, pollEvery interval: Double = 0.02, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(useconds_t(interval * 1_000_000))
    }
    return condition()
}

/// The bytes of an example manifest in config/examples.
func example(_ name: String) throws -> Data {
    try Data(contentsOf: Executable.packageRoot.appendingPathComponent("config/examples/" + name))
}

/// A small valid JSON manifest whose package tag ends in `number`; `needsBatch` picks the outcome.
func manifest(_ number: Int, needsBatch: Bool) -> Data {
    let digits = String(number)
    let tag = "1A4FF0300000022" + String(repeating: "0", count: 9 - digits.count) + digits
    let category = needsBatch ? "Concentrate" : "Buds"
    return Data("""
        [{"Tag": "\(tag)", "Item": "Item \(number)", "ItemCategory": "\(category)", "Quantity": 1, "UnitOfMeasure": "Grams",
          "Ingredients": [{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}]
        """.utf8)
}
