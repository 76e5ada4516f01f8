import BatchgateCore
import BatchgateSystem

/// The longest name a routed manifest is given: the staged copy of its report
/// (``ReportFiles/stagedName(_:)``, `.<name>.report.json.tmp`) must fit in a file name (255 bytes
/// on Linux filesystems).
let longestRoutedName = 255 - ".".utf8.count - ".report.json.tmp".utf8.count

/// `x.json` → `x.2.json`; `x` → `x.2`; the suffix goes before the last extension.
/// Names over `limit` bytes are shortened (the stem cut, marked with `~` and 8 hex digits of
/// the name's SHA-256; the extension and number kept).
func suffixedName(_ name: String, _ number: Int, limit: Int = longestRoutedName) -> String {
    // The name itself, which nearly every manifest keeps: asked for each one routed.
    if number == 1 && name.utf8.count <= limit { return name }
    var stem = name
    var ext = ""
    if let dot = name.lastIndex(of: "."), dot != name.startIndex {
        stem = String(name[..<dot])
        ext = String(name[dot...])
    }
    let number = number > 1 ? ".\(number)" : ""
    if stem.utf8.count + number.utf8.count + ext.utf8.count <= limit { return stem + number + ext }
    if ext.utf8.count > 16 {  // not an extension worth keeping whole
        stem = name
        ext = ""
    }
    // Too long: the stem is cut at a character boundary and marked with 8 hex digits of the
    // whole name's SHA-256, so two long names that share a beginning stay apart.
    let mark = "~" + Hex.string(SHA256.digest(Array(name.utf8)).prefix(4))
    let room = max(0, limit - number.utf8.count - ext.utf8.count - mark.utf8.count)
    var cut = ""
    for character in stem {
        if cut.utf8.count + String(character).utf8.count > room { break }
        cut.append(character)
    }
    return cut + mark + number + ext
}
