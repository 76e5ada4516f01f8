import Foundation
import Testing

/// What `batchgate run` writes to its log for names a person cannot see the whole of.
@Suite("Log lines of batchgate run", .serialized)
struct LogLineTests {
    @Test func aFileNameWithAnEscapeSequenceAndACarriageReturnIsLoggedEscaped() throws {
        let root = try DaemonProcess.temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let daemon = DaemonProcess(root: root)
        try daemon.start()
        // A name that would turn a terminal red and, with the CR, write over the start of its own line.
        let name = "red\u{1B}[31m\rfake-ok.json"
        let staging = root.appendingPathComponent("staging")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        try manifest(1, needsBatch: false).write(to: staging.appendingPathComponent(name))
        #expect(rename(staging.appendingPathComponent(name).path, daemon.inbox.appendingPathComponent(name).path) == 0)
        #expect(waitUntil(timeout: 30) { daemon.log.contains("routed red") }, "\(daemon.log)")
        #expect(daemon.stop() == 0)

        let log = daemon.log
        #expect(log.contains(#"routed red\x1B[31m\rfake-ok.json to accepted/"#), "\(log)")
        let raw = Array(log.utf8).filter { $0 != UInt8(ascii: "\n") && ($0 < 0x20 || $0 == 0x7F) }
        #expect(raw.isEmpty, "raw control bytes in the log: \(raw)")
    }
}
