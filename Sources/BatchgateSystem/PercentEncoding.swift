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
        // The longest valid sequence starting here, if any.
        var length = 0
        for candidate in [4, 3, 2] where index + candidate <= bytes.count {
            if String(validating: bytes[index..<(index + candidate)], as: UTF8.self) != nil { length = candidate; break }
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
