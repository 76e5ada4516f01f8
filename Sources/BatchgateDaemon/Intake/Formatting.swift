/// The bytes as UTF-8 text, each byte of an invalid sequence written as `%XX` (and `%` as `%25`,
/// so the encoding cannot be confused with a name that already held such text).
func percentEncodingInvalidUTF8(_ bytes: [UInt8]) -> String {
    var output: [UInt8] = []
    var index = 0
    func hex(_ byte: UInt8) -> [UInt8] { Array(String(format2(byte)).utf8) }
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
            output += Array("%".utf8) + hex(byte)
            index += 1
        }
    }
    return String(decoding: output, as: UTF8.self)
}

private func format2(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}

/// A setting in seconds as the start-up line shows it: `30s`, `0.5s`, or `off` for 0.
func formatSeconds(_ seconds: Double) -> String {
    if seconds == 0 { return "off" }
    return seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
}
