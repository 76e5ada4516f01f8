import Foundation
import Testing
@testable import BatchgateDaemon
@testable import BatchgateSystem

@Suite("Audit log")
struct AuditLogTests {
    /// A write cut short by a full filesystem must not leave half a line for the retry to run on:
    /// the log would get a line that is not JSON, and the manifests in it no readable audit line.
    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
    func aWriteCutShortByAFullFilesystemLeavesOnlyWholeLines() throws {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: mountPoint) }
        guard mount("tmpfs", mountPoint.path, "tmpfs", 0, "size=256k") == 0 else {
            let reason = "skipped: cannot mount a tmpfs here (\(String(cString: strerror(errno))))"
            print("AuditLogTests: \(reason)")
            try Test.cancel(Comment(rawValue: reason))
        }
        defer { umount2(mountPoint.path, Int32(MNT_DETACH)) }
        let path = mountPoint.appendingPathComponent("audit.jsonl").path
        let log = try AuditLog(path: path)
        func line(_ number: Int) -> [UInt8] {
            Array(#"{"time":"2026-11-27T00:00:00.000Z","id":"\#(String(format: "%016x", number))","file":"m-\#(number).json"}"#.utf8)
        }
        try log.append([line(0)], sync: true)  // the log's first page, partly filled

        // Every other page taken: the next append fills the rest of that page and then fails.
        let filler = mountPoint.appendingPathComponent("filler").path
        let fd = open(filler, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        let chunk = [UInt8](repeating: 0x20, count: 4096)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)
        let batch = (1...100).map(line)
        #expect(throws: SystemError.self) { try log.append(batch, sync: true) }

        // Room again: the router appends the same lines again (its journal was kept).
        unlink(filler)
        try log.append(batch, sync: true)
        let lines = try Data(contentsOf: URL(fileURLWithPath: path)).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        #expect(lines.last?.isEmpty == true, "the log ends with a whole line")
        let parsed = lines.dropLast().compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
        #expect(parsed.count == lines.count - 1, "every line is JSON: \(lines.map { String(decoding: $0.prefix(60), as: UTF8.self) })")
        #expect(parsed.compactMap { $0["file"] as? String } == (0...100).map { "m-\($0).json" })
    }

    /// A log a kill -9 left ending in part of a line is cut back to its last whole line when it is
    /// opened: the next line starts a line of its own, and the fragment's id no longer passes for
    /// a line written (recovery writes that manifest's line again).
    @Test func aTornLastLineIsCutWhenTheLogIsOpened() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("audit.jsonl").path
        let whole = #"{"time":"2026-12-04T00:00:00.000Z","id":"aaaaaaaaaaaaaaaa","file":"a.json"}"# + "\n"
        let torn = #"{"time":"2026-12-04T00:00:01.000Z","id":"bbbbbbbbbbbbbbbb","fi"#
        try (whole + torn).write(toFile: path, atomically: false, encoding: .utf8)

        let log = try AuditLog(path: path)
        #expect(log.cutAtOpen == torn.utf8.count)
        #expect(log.recentIDs() == ["aaaaaaaaaaaaaaaa"], "the fragment's id is not taken for a line written")
        try log.append([Array(#"{"id":"cccccccccccccccc"}"#.utf8)], sync: false)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == whole + #"{"id":"cccccccccccccccc"}"# + "\n")

        // Whole, or a fragment alone: nothing kept that is not a line, nothing cut that is.
        #expect(try AuditLog(path: path).cutAtOpen == 0)
        try torn.write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try AuditLog(path: path).cutAtOpen == torn.utf8.count)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty)
    }
}
