import Foundation
import Testing
@testable import BatchgateSystem

/// `JOURNAL_STREAM` counts only when it names the very file written to: a child of a service
/// inherits the variable, and a command it runs from a shell writes to a terminal or a file.
@Suite("Journal stream")
struct JournalStreamTests {
    /// A fresh file open for writing, and its `device:inode`.
    static func openFile() throws -> (fd: Int32, path: String, stream: String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        var info = stat()
        try #require(fstat(fd, &info) == 0)
        return (fd, path, "\(info.st_dev):\(info.st_ino)")
    }

    @Test func theStreamOfTheDescriptorItselfIsTheJournal() throws {
        let file = try Self.openFile()
        defer { close(file.fd); unlink(file.path) }
        #expect(System.writesToJournal(file.fd, environment: ["JOURNAL_STREAM": file.stream]))
    }

    @Test func anotherFileUnsetOrGarbageIsNot() throws {
        let file = try Self.openFile()
        let other = try Self.openFile()
        defer { close(file.fd); unlink(file.path); close(other.fd); unlink(other.path) }
        let device = file.stream.split(separator: ":")[0]
        let inode = UInt64(file.stream.split(separator: ":")[1])!
        #expect(!System.writesToJournal(file.fd, environment: ["JOURNAL_STREAM": other.stream]))
        #expect(!System.writesToJournal(file.fd, environment: ["JOURNAL_STREAM": "\(device):\(inode + 1)"]))
        #expect(!System.writesToJournal(file.fd, environment: [:]))
        for garbage in ["", "8", "\(file.stream):1", "x:\(inode)", " \(file.stream)"] {
            #expect(!System.writesToJournal(file.fd, environment: ["JOURNAL_STREAM": garbage]), "\(garbage)")
        }
        #expect(!System.writesToJournal(-1, environment: ["JOURNAL_STREAM": file.stream]))
    }

    /// What a logger writes for one info line to a file, with `JOURNAL_STREAM` set to `stream`
    /// (nil: the file's own).
    static func logged(stream: String?) throws -> String {
        let file = try openFile()
        defer { unlink(file.path) }
        let log = Logger(level: .info, fd: file.fd, environment: ["JOURNAL_STREAM": stream ?? file.stream])
        log.info("watching")
        close(file.fd)
        return try String(contentsOfFile: file.path, encoding: .utf8)
    }

    @Test func theLoggerPrefixesPrioritiesOnlyOnTheJournalsStream() throws {
        #expect(try Self.logged(stream: nil) == "<6>watching\n")
        // A stream that is some other file: time stamp and level, as on a terminal.
        let elsewhere = try Self.logged(stream: "1:1")
        #expect(!elsewhere.hasPrefix("<"), "\(elsewhere)")
        #expect(elsewhere.hasSuffix(" info: watching\n"), "\(elsewhere)")
    }
}
