/// Hexadecimal digits, written one way wherever the daemon writes them: route ids, signatures,
/// digest ids, the marks on shortened names, `%XX` and `\xXX` escapes. (The core writes its own
/// JSON and report escapes: it depends on nothing.)
public enum Hex {
    @usableFromInline static let lower = Array("0123456789abcdef".utf8)
    private static let upper = Array("0123456789ABCDEF".utf8)

    /// Two lower-case digits per byte: `sha256=<hex>`, ids. Inlinable, so that each caller's
    /// sequence type is known where it is compiled: the router writes an id per manifest.
    @inlinable
    public static func string(_ bytes: some Sequence<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            output.append(lower[Int(byte >> 4)])
            output.append(lower[Int(byte & 0xF)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The two upper-case ASCII digits of `byte`, as escapes write it (`%2F`, `\x1B`).
    public static func upperCaseDigits(_ byte: UInt8) -> [UInt8] {
        [upper[Int(byte >> 4)], upper[Int(byte & 0xF)]]
    }

    /// The value of one ASCII hex digit of either case; nil for any other byte.
    public static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Percent-encoding as RFC 3986 wants it for a URI component, written once: every byte but the
/// unreserved characters (letters, digits, `-._~`) as `%XX`. A query value's `+` goes as `%2B`,
/// which a server would otherwise read as a space.
public enum URIComponent {
    public static func percentEncoded(_ text: String) -> String {
        var output: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.append(byte)
            default:
                output += [UInt8(ascii: "%")] + Hex.upperCaseDigits(byte)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// True when the host of `url` (`scheme://host[:port][/path]`) is this machine by address or
    /// name: `127.x.x.x`, `localhost` or `[::1]`. The one place plain http may carry a secret (tests,
    /// a local proxy); anywhere else it would cross the network readable.
    public static func hasLoopbackHost(_ url: String) -> Bool {
        guard let afterScheme = url.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first else { return false }
        let host = afterScheme.hasPrefix("[") ? String(afterScheme.prefix { $0 != "]" }) + "]"
            : String(afterScheme.split(separator: ":").first ?? "")
        // 127.0.0.0/8 as an address: four numbers, the first 127 (a name such as 127.example.com is a name).
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        let isLoopbackAddress = parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
        return host.lowercased() == "localhost" || isLoopbackAddress || host == "[::1]"
    }
}
