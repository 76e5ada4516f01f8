import Testing
@testable import BatchgateCore

@Suite("Text input")
struct TextInputTests {
    @Test func stripsTheByteOrderMark() throws {
        let body = try TextInput.validate([0xEF, 0xBB, 0xBF] + Array("Tag\n".utf8))
        #expect(Array(body) == Array("Tag\n".utf8))
    }

    @Test func refusesEmptyAndBlankFiles() {
        #expect(throws: TextInput.Problem.empty) { try TextInput.validate([]) }
        #expect(throws: TextInput.Problem.empty) { try TextInput.validate(Array(" \n\t\r\n".utf8)) }
        #expect(throws: TextInput.Problem.empty) { try TextInput.validate([0xEF, 0xBB, 0xBF]) }
    }

    @Test func refusesFilesOverTheLimit() {
        #expect(throws: TextInput.Problem.tooLarge(size: 11, limit: 10)) {
            try TextInput.validate(Array("12345678901".utf8), maximumSize: 10)
        }
    }

    @Test(arguments: [
        ([0x61, 0x0A, 0x62, 0xC3, 0x28] as [UInt8], 2, 2),  // bad continuation byte
        ([0xFF] as [UInt8], 1, 1),
        ([0x61, 0xC0, 0xAF] as [UInt8], 1, 2),  // overlong '/'
        ([0xED, 0xA0, 0x80] as [UInt8], 1, 1),  // UTF-16 surrogate
        ([0xF4, 0x90, 0x80, 0x80] as [UInt8], 1, 1),  // past U+10FFFF
        ([0x61, 0xE2, 0x82] as [UInt8], 1, 2),  // truncated sequence
    ])
    func refusesInvalidUTF8NamingTheLine(bytes: [UInt8], line: Int, column: Int) {
        #expect(throws: TextInput.Problem.invalidUTF8(line: line, column: column)) { try TextInput.validate(bytes) }
    }

    @Test func refusesNULBytes() {
        #expect(throws: TextInput.Problem.binary(line: 2)) { try TextInput.validate(Array("a\nb\0c".utf8)) }
    }

    @Test func acceptsMultibyteText() throws {
        let text = "Tag,Note\nA,Café 🌿 ñ\n"
        #expect(Array(try TextInput.validate(Array(text.utf8))) == Array(text.utf8))
    }
}
