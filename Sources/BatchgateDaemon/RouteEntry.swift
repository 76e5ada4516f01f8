import BatchgateCore

/// One manifest's route, decided before anything is written into an outcome folder and kept in
/// the batch journal until the manifest, its two reports and its audit line are all in place.
public struct RouteEntry: Sendable, Equatable {
    /// A random id, unique per routed manifest (the audit line carries it).
    public var id: String
    /// The name the manifest was dropped under (and has in `processing/`).
    public var name: String
    /// The outcome folder.
    public var decision: Decision
    /// The name in the outcome folder: `name`, or `name` with a `.2`, `.3`, … suffix.
    public var finalName: String
    public var receivedAt: String
    public var routedAt: String

    public var reportJSONName: String { finalName + ".report.json" }
    public var reportTextName: String { finalName + ".report.txt" }

    /// One journal line.
    func journalLine() -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("id"); json.string(id)
        json.key("name"); json.string(name)
        json.key("decision"); json.string(decision.rawValue)
        json.key("finalName"); json.string(finalName)
        json.key("receivedAt"); json.string(receivedAt)
        json.key("routedAt"); json.string(routedAt)
        json.endObject()
        return json.bytes
    }

    /// Reads a journal line back; nil for a line a crash cut short.
    init?(journalLine line: ArraySlice<UInt8>) {
        guard let element = try? JSONParser.parse(line), case .object(let members) = element.value else { return nil }
        func text(_ key: String) -> String? {
            members.first { $0.key == key }.flatMap { if case .string(let value) = $0.value { value } else { nil } }
        }
        guard let id = text("id"), let name = text("name"), let decisionText = text("decision"),
              let decision = Decision(rawValue: decisionText), let finalName = text("finalName"),
              let receivedAt = text("receivedAt"), let routedAt = text("routedAt")
        else { return nil }
        self.init(id: id, name: name, decision: decision, finalName: finalName, receivedAt: receivedAt, routedAt: routedAt)
    }

    /// The journal line that records a route as audited: `{"audited":"<id>"}`.
    static func auditedLine(_ id: String) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("audited"); json.string(id)
        json.endObject()
        return json.bytes
    }

    /// The id a journal line records as audited, if it is such a line.
    static func auditedIDs(journalLine line: ArraySlice<UInt8>) -> [String] {
        guard line.first == UInt8(ascii: "{"), line.count < 256,
              let element = try? JSONParser.parse(line), case .object(let members) = element.value,
              members.count == 1, members[0].key == "audited", case .string(let id) = members[0].value
        else { return [] }
        return [id]
    }

    public init(id: String, name: String, decision: Decision, finalName: String, receivedAt: String, routedAt: String) {
        self.id = id
        self.name = name
        self.decision = decision
        self.finalName = finalName
        self.receivedAt = receivedAt
        self.routedAt = routedAt
    }

    /// A new random id: 16 hex digits.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// The longest name a routed manifest is given: the draft of its report,
/// `.<name>.report.json.tmp`, must fit in a file name (255 bytes on Linux filesystems).
let longestRoutedName = 255 - ".".utf8.count - ".report.json.tmp".utf8.count

/// `x.json` → `x.2.json`; `x` → `x.2`; the suffix goes before the last extension.
/// Names over `limit` bytes are shortened (the stem cut, marked with `~` and 8 hex digits of
/// the name's SHA-256; the extension and number kept).
func suffixedName(_ name: String, _ number: Int, limit: Int = longestRoutedName) -> String {
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
    let mark = "~" + SHA256.digest(Array(name.utf8)).prefix(4).map { byte in
        let hex = String(byte, radix: 16)
        return hex.count == 1 ? "0" + hex : hex
    }.joined()
    let room = max(0, limit - number.utf8.count - ext.utf8.count - mark.utf8.count)
    var cut = ""
    for character in stem {
        if cut.utf8.count + String(character).utf8.count > room { break }
        cut.append(character)
    }
    return cut + mark + number + ext
}
