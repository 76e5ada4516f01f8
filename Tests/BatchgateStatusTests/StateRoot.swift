import Foundation
import BatchgateCore
import BatchgateSystem

/// A state root in a fresh temporary folder, with helpers to lay down what a daemon leaves there.
struct StateRoot {
    let url: URL
    var path: String { url.path }

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-status-\(UUID().uuidString)")
        for folder in ["inbox", "processing", "accepted", "needs-batch", "rejected", "outbox/dead"] {
            try FileManager.default.createDirectory(at: url.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
    }

    func remove() {
        // Folders a test made unreadable must be readable again to be removed.
        _ = try? FileManager.default.subpathsOfDirectory(atPath: path).forEach {
            chmod(url.appendingPathComponent($0).path, 0o755)
        }
        try? FileManager.default.removeItem(at: url)
    }

    /// Writes `text` at `relative`, with its modification time set to `modified` when given.
    func write(_ relative: String, _ text: String, modified: Double? = nil) throws {
        let file = url.appendingPathComponent(relative)
        try Data(text.utf8).write(to: file)
        if let modified {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: modified)], ofItemAtPath: file.path)
        }
    }

    /// An audit line as `AuditLog.line(for:report:)` writes it.
    static func auditLine(at time: Double, _ decision: Decision, id: String = UUID().uuidString) -> String {
        var json = JSONWriter()
        json.beginObject()
        json.key("time"); json.string(Timestamp.iso8601(time))
        json.key("id"); json.string(id)
        json.key("file"); json.string("m-\(id).json")
        json.key("originalName"); json.string("m.json")
        json.key("folder"); json.string(decision.rawValue)
        json.key("decision"); json.string(decision.rawValue)
        json.key("receivedAt"); json.string(Timestamp.iso8601(time - 1))
        json.key("tags"); json.strings(["1A4FF0100000022000000001"])
        json.key("rules"); json.strings([])
        json.key("batchNumbers"); json.strings([])
        // A summary quoting a decision field, as a hostile file name might: never counted.
        json.key("summary"); json.string("named \"decision\":\"rejected\" in its note")
        json.endObject()
        return json.text
    }
}

/// A child process holding the `flock` on a folder, as a running daemon holds its state root:
/// util-linux's `flock --no-fork DIR sleep 600`, which becomes `sleep` holding the lock, so that
/// killing it releases the lock (a forked `sleep` would inherit and keep it).
final class LockHolder {
    let process = Process()

    init(folder: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        process.arguments = ["--exclusive", "--no-fork", folder, "sleep", "600"]
        try process.run()
    }

    /// Waits (at most `timeout` seconds, generous for a loaded machine) until the kernel lists the
    /// lock; false when it never did.
    func waitUntilHeld(_ folder: String, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let fd = open(folder, O_RDONLY | O_DIRECTORY)
            defer { close(fd) }
            if flock(fd, LOCK_SH | LOCK_NB) != 0 { return true }
            flock(fd, LOCK_UN)
            usleep(20_000)
        }
        return false
    }

    /// The pid of the process holding the lock.
    var pid: Int32 { process.processIdentifier }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}
