/// The two manifest formats, and how a file's name and first byte choose between them.
public enum ManifestFormat: String, Sendable, Equatable {
    case json
    case csv

    /// Why a file's format could not be chosen.
    public struct Unsupported: Error, Sendable, Equatable, CustomStringConvertible {
        public var fileExtension: String
        public var description: String {
            "'.\(fileExtension)' files are not manifests: use .json or .csv (or .txt holding JSON or CSV)"
        }
    }

    /// `.json` and `.csv` by extension, in any case; `.txt` or no extension by the first non-blank
    /// byte (`[` or `{` means JSON, anything else CSV); any other extension is unsupported.
    public static func detect(fileName: String, bytes: ArraySlice<UInt8>) throws(Unsupported) -> ManifestFormat {
        switch asciiExtension(of: fileName) {
        case .json?: return .json
        case .csv?: return .csv
        case .sniffed?: return sniff(bytes)
        case nil: break
        }
        let baseName = fileName.split(separator: "/").last.map(String.init) ?? fileName
        let dot = baseName.lastIndex(of: ".")
        let fileExtension = dot.map { String(baseName[baseName.index(after: $0)...]).lowercased() } ?? ""
        switch fileExtension {
        case "json": return .json
        case "csv": return .csv
        case "txt", "": return sniff(bytes)
        default: throw Unsupported(fileExtension: fileExtension)
        }
    }

    /// What the extension of an ASCII file name says, read from its bytes; nil for an unsupported
    /// extension or a name beyond ASCII, which the general reading above decides (and names in its
    /// error). Every file the daemon routes and `check` reads passes here: splitting the path into
    /// strings cost more than the rest of choosing the format.
    private static func asciiExtension(of fileName: String) -> ExtensionReading? {
        fileName.utf8.withContiguousStorageIfAvailable { name -> ExtensionReading? in
            guard !name.contains(where: { $0 >= 0x80 }) else { return nil }
            // The last component, trailing slashes left out as `split` leaves out empty ones.
            var end = name.count
            while end > 0, name[end - 1] == UInt8(ascii: "/") { end -= 1 }
            var start = end
            while start > 0, name[start - 1] != UInt8(ascii: "/") { start -= 1 }
            guard start < end else { return nil }
            guard let dot = name[start..<end].lastIndex(of: UInt8(ascii: ".")) else { return .sniffed }
            let suffix = UnsafeBufferPointer(rebasing: name[(dot + 1)..<end])
            if suffix.isEmpty { return .sniffed }
            func isExtension(_ known: StaticString) -> Bool {
                known.withUTF8Buffer { equalIgnoringASCIICase(suffix, $0) }
            }
            if isExtension("json") { return .json }
            if isExtension("csv") { return .csv }
            return isExtension("txt") ? .sniffed : nil
        } ?? nil
    }

    private enum ExtensionReading {
        case json, csv, sniffed
    }

    /// JSON if the first byte that is not white space or a byte-order mark is `[` or `{`.
    public static func sniff(_ bytes: ArraySlice<UInt8>) -> ManifestFormat {
        let first = TextInput.withoutByteOrderMark(bytes).first { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }
        return first == UInt8(ascii: "[") || first == UInt8(ascii: "{") ? .json : .csv
    }
}
