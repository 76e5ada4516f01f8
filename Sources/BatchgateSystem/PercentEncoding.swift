/// The bytes as UTF-8 text, each byte of an invalid sequence written as `%XX` (and `%` as `%25`,
/// so the encoding cannot be confused with a name that already held such text): how the daemon
/// renames, and `check` names, a file whose name is not UTF-8.
public func percentEncodingInvalidUTF8(_ bytes: [UInt8]) -> String {
    var output: [UInt8] = []
    var index = 0
    while index < bytes.count {
        let byte = bytes[index]
        if byte < 0x80 {
            output += byte == UInt8(ascii: "%") ? Array("%25".utf8) : [byte]
            index += 1
            continue
        }
        // One character, as long as its first byte says, if those bytes are valid. (Trying the
        // longest valid run of up to four bytes instead took an ASCII byte after a two-byte
        // character with it, so a `%` there was copied as it was, not as `%25`.)
        var length = switch byte {
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: 0
        }
        if length > 0, index + length > bytes.count
            || String(validating: bytes[index..<(index + length)], as: UTF8.self) == nil {
            length = 0
        }
        if length > 0 {
            output += bytes[index..<(index + length)]
            index += length
        } else {
            output += [UInt8(ascii: "%")] + Hex.upperCaseDigits(byte)
            index += 1
        }
    }
    return String(decoding: output, as: UTF8.self)
}
