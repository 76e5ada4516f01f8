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

/// `x.json` → `x.2.json`; `x` → `x.2`; the suffix goes before the last extension.
func suffixedName(_ name: String, _ number: Int) -> String {
    guard number > 1 else { return name }
    if let dot = name.lastIndex(of: "."), dot != name.startIndex {
        return "\(name[..<dot]).\(number)\(name[dot...])"
    }
    return "\(name).\(number)"
}
