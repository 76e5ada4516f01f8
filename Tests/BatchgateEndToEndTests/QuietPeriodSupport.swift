import Foundation
import Testing

// Helpers for WriterTests and StateFolderTests: configs, writer subprocesses, and a
// manifest whose decision shows how much of it was read.

/// The config key of the quiet period (`settleTime` in earlier versions, still read): one place to
/// change, so these tests could be run against an earlier binary to see them fail.
let quietPeriodKey = "quietPeriod"

/// A CSV manifest whose decision changes with how much of it is read: the header alone is
/// rejected (no package), the header with any of the first five rows is accepted (plain
/// repackaging), the whole file needs a batch (row 6 is an extraction, Buds into Concentrate), and
/// a row cut in the middle is rejected (too few cells).
enum SplitManifest {
    static let header = "Tag,Item,Category,Quantity,Unit of Measure,Production Batch,Production Batch Number,Date,Process,Source Package,Source Item,Source Category,Source Quantity,Source Unit of Measure\n"
    static let rows: [String] = (1...5).map {
        "1A4FF030000002200000810\($0),Blue Dream Buds,Buds,28,Grams,no,,2025-03-11,Repackage,1A4FF0100000022000000801,Blue Dream Buds,Buds,28,Grams\n"
    } + ["1A4FF0300000022000008106,Blue Dream Live Resin,Concentrate,10,Grams,no,,2025-03-11,Extraction,1A4FF0100000022000000802,Blue Dream Buds,Buds,500,Grams\n"]
    /// Header and the five plain rows: accepted when read alone.
    static var plainPart: String { header + rows.dropLast().joined() }
    /// The row that needs a production batch.
    static var batchRow: String { rows.last! }
    static var whole: String { header + rows.joined() }
    static var wholeData: Data { Data(whole.utf8) }
}

/// A daemon on `root/state` with a config file setting the quiet period and the rescan interval.
func daemonWithConfig(root: URL, quietPeriod: String, rescanInterval: String) throws -> DaemonProcess {
    let config = root.appendingPathComponent("batchgate.yaml")
    try Data("stateRoot: state\nrescanInterval: \(rescanInterval)\n\(quietPeriodKey): \(quietPeriod)\n".utf8).write(to: config)
    return DaemonProcess(root: root.appendingPathComponent("state"), arguments: ["run", "--config", config.path])
}

/// Starts `/usr/bin/env <arguments>` (a writer: bash, python3, cp, mv...), its output discarded.
func spawnWriter(_ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}

/// Runs `/usr/bin/env <arguments>` to its end (bounded: killed after `timeout`); returns its status.
@discardableResult
func runWriter(_ arguments: [String], timeout: Double = 20) throws -> Int32 {
    let process = try spawnWriter(arguments)
    guard process.waitForExit(timeout: timeout) else {
        process.terminate()
        process.waitUntilExit()
        throw DaemonTestError("\(arguments) did not finish within \(timeout) s")
    }
    return process.terminationStatus
}

extension Process {
    /// Polls until the process has exited; false when `timeout` passed first.
    func waitForExit(timeout: Double) -> Bool {
        waitUntil(timeout: timeout) { !self.isRunning }
    }

    /// Kills a process still running (a writer or daemon a failed test left) and reaps it.
    func killIfRunning() {
        guard isRunning else { return }
        kill(processIdentifier, SIGKILL)
        waitUntilExit()
    }
}

extension DaemonProcess {
    /// Starts the process without waiting for it to watch (for a daemon expected to refuse).
    func launch() throws { try process.run() }

    /// The log lines that say `name` was routed ("routed <name> to <folder>/...").
    func routedLines(_ name: String) -> [Substring] {
        log.split(separator: "\n").filter { $0.contains("routed \(name) to ") }
    }

    /// Waits until the log says each name was routed: the routed line comes after the manifest's
    /// move and its audit line, so everything about it can be looked at then.
    @discardableResult
    func waitForRouted(_ names: [String], timeout: Double = 20) -> Bool {
        waitUntil(timeout: timeout) { names.allSatisfy { !self.routedLines($0).isEmpty } }
    }

    /// The bytes of a file under the state root, nil when absent.
    func contents(_ relativePath: String) -> Data? {
        try? Data(contentsOf: root.appendingPathComponent(relativePath))
    }

    /// The decision a report JSON beside a routed manifest states.
    func reportDecision(_ folder: String, _ name: String) -> String? {
        guard let data = contents("\(folder)/\(name).report.json"),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["decision"] as? String
    }

    /// Manifests in every outcome folder, as "folder/name".
    var routedEverywhere: [String] {
        ["accepted", "needs-batch", "rejected"].flatMap { folder in manifests(in: folder).map { "\(folder)/\($0)" } }
    }
}
