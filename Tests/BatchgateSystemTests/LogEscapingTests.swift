import Foundation
import Testing
@testable import BatchgateSystem

/// What the logger writes for a message holding control characters: escapes, never the raw byte
/// that would colour a terminal, rewrite a line or break a journal entry in two.
@Suite("Log line escaping")
struct LogEscapingTests {
    /// The bytes a logger under journald (no time stamp) writes for `lines`.
    static func written(_ lines: [(LogLevel, String)], oneAtATime: Bool = true) throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("log-\(UUID().uuidString)").path
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        // The file's own device and inode, as journald's stream would have them.
        var info = stat()
        try #require(fstat(fd, &info) == 0)
        let log = Logger(level: .debug, fd: fd, environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)"])
        if oneAtATime {
            for (level, message) in lines {
                switch level {
                case .debug: log.debug(message)
                case .info: log.info(message)
                case .notice: log.notice(message)
                case .warning: log.warning(message)
                case .error: log.error(message)
                }
            }
        } else {
            log.write(lines)
        }
        close(fd)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test func controlCharactersAreWrittenAsEscapes() throws {
        let message = "routed red\u{1B}[31m\rname.json: a\nb\tc\u{0}d\u{7}e\u{7F}f"
        let line = try Self.written([(.info, message)])
        #expect(String(decoding: line, as: UTF8.self) == #"<6>routed red\x1B[31m\rname.json: a\nb\tc\x00d\x07e\x7Ff"# + "\n")
        #expect(!line.dropLast().contains { $0 < 0x20 || $0 == 0x7F }, "no raw control byte but the line's end")
    }

    @Test func c1ControlsLineSeparatorsAndBidiOverridesAreEscaped() throws {
        // U+0085 (NEL) and U+009B (CSI) are C1; U+2028/2029 end a line for some viewers; U+202A–202E
        // and U+2066–2069 reorder what follows, so a name could show as something it is not.
        let message = "a\u{85}b\u{9B}c\u{2028}d\u{2029}e\u{202A}f\u{202E}g\u{2066}h\u{2069}i\u{200E}j\u{200F}k"
        let line = String(decoding: try Self.written([(.warning, message)]), as: UTF8.self)
        #expect(line == #"<4>a\u{85}b\u{9B}c\u{2028}d\u{2029}e\u{202A}f\u{202E}g\u{2066}h\u{2069}i\u{200E}j\u{200F}k"# + "\n")
    }

    @Test func ordinaryTextIsWrittenAsItIs() throws {
        // Neighbours of what is escaped share its lead bytes (C2, E2 80, E2 81) and must pass:
        // U+00A0, U+00E9, U+2027, U+2030, U+2065, U+206A, and text beyond (CJK, an emoji).
        let message = "é\u{A0}‰\u{2027}\u{2030}\u{2065}\u{206A} – “1A4FF0300000022000000001” 日本 🌿 back\\slash"
        let line = String(decoding: try Self.written([(.info, message)]), as: UTF8.self)
        #expect(line == "<6>" + message + "\n")
    }

    @Test func linesWrittenTogetherAreEscapedToo() throws {
        let bytes = try Self.written([(.info, "one\u{1B}]0;title\u{7}"), (.error, "two\r\nthree")], oneAtATime: false)
        #expect(String(decoding: bytes, as: UTF8.self) == #"<6>one\x1B]0;title\x07"# + "\n" + #"<3>two\r\nthree"# + "\n")
    }
}
