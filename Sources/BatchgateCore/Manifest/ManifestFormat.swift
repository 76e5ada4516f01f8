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

    /// JSON if the first byte that is not white space or a byte-order mark is `[` or `{`.
    public static func sniff(_ bytes: ArraySlice<UInt8>) -> ManifestFormat {
        let first = TextInput.withoutByteOrderMark(bytes).first { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }
        return first == UInt8(ascii: "[") || first == UInt8(ascii: "{") ? .json : .csv
    }
}
