// The decoding helpers every config type uses. The rule they enforce: a mapping may hold only the
// keys of its type's `CodingKeys`, and anything else is refused with the key probably meant. So a
// new setting is a property (its default in the type's `init`), a case in `CodingKeys`, and a line
// in the type's `init(from:)` that reads it with its ``SettingFormat``.

/// A coding key for any name: used to list every key a mapping holds.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }

    init(stringValue: String) {
        self.stringValue = stringValue
    }

    init?(intValue: Int) {
        nil
    }
}

/// What a YAML node holds, in the words an error message uses.
enum WrittenValue: Equatable {
    /// `null`, `~` or a key with no value.
    case nothing
    /// A scalar: its text exactly as written (numbers and booleans included).
    case text(String)
    case list
    case mapping

    /// `nothing`, `"soon"`, `a list` or `a mapping`, for "found …".
    var described: String {
        switch self {
        case .nothing: "nothing"
        case .text(let text): "\"\(text)\""
        case .list: "a list"
        case .mapping: "a mapping"
        }
    }
}

extension Decoder {
    /// What the node being decoded holds.
    func writtenValue() -> WrittenValue {
        if let single = try? singleValueContainer() {
            if single.decodeNil() { return .nothing }
            if let text = try? single.decode(String.self) { return .text(text) }
        }
        if (try? container(keyedBy: AnyCodingKey.self)) != nil { return .mapping }
        return .list
    }

    /// The settings of a mapping, after checking that the node is a mapping and that each of its keys
    /// is a case of `Keys`. Every config type's `init(from:)` starts here, and the known keys come
    /// from `Keys.allCases`, so that a message about an unknown key lists exactly the keys read.
    func settings<Keys: CodingKey & CaseIterable>(keyedBy keys: Keys.Type) throws -> KeyedDecodingContainer<Keys> {
        let names = Keys.allCases.map(\.stringValue)
        guard let everything = try? container(keyedBy: AnyCodingKey.self) else {
            let subject = codingPath.isEmpty ? "the file must" : "must"
            throw ConfigProblem(
                at: codingPath,
                "\(subject) be a mapping of settings (\(names.joined(separator: ", "))); found \(writtenValue().described)"
            )
        }
        for key in everything.allKeys where Keys(stringValue: key.stringValue) == nil {
            throw ConfigProblem(
                at: ConfigPath(codingPath).appending(key: key.stringValue),
                UnknownKey.reason(key.stringValue, known: names, inTopLevel: codingPath.isEmpty)
            )
        }
        return try container(keyedBy: Keys.self)
    }

    /// The entries of the list the decoder points at, each read by `read`. `expected` says what
    /// the whole list should be, for when it is not a list.
    func entries<Element>(expected: String, read: (any Decoder) throws -> Element) throws -> [Element] {
        guard var entries = try? unkeyedContainer() else {
            throw ConfigProblem(at: codingPath, "must be \(expected); found \(writtenValue().described)")
        }
        var values: [Element] = []
        while !entries.isAtEnd {
            values.append(try read(entries.superDecoder()))
        }
        return values
    }
}

extension KeyedDecodingContainer {
    /// The setting at `key` read with `format`, or `fallback` when the key is absent.
    /// `null` is an error: the setting needs a value.
    func setting<Value>(_ key: Key, _ format: SettingFormat<Value>, default fallback: Value) throws -> Value {
        guard contains(key) else { return fallback }
        return try format.read(from: superDecoder(forKey: key))
    }

    /// An optional setting: nil when the key is absent or `null`.
    func optionalSetting<Value>(_ key: Key, _ format: SettingFormat<Value>) throws -> Value? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try format.read(from: superDecoder(forKey: key))
    }

    /// A list setting whose entries are read with `element`, or `fallback` when the key is absent.
    /// `expected` says what the whole list should be, for when it is not a list.
    func listSetting<Element>(
        _ key: Key, of element: SettingFormat<Element>, expected: String, default fallback: [Element]
    ) throws -> [Element] {
        guard contains(key) else { return fallback }
        return try superDecoder(forKey: key).entries(expected: expected, read: element.read)
    }

    /// The setting at `key`, read by `read`, which must be there: `missing` says what to write
    /// when it is not, about the mapping that lacks it (such as `needs a url: …`).
    func required<Value>(_ key: Key, missing: String, read: (any Decoder) throws -> Value) throws -> Value {
        guard contains(key) else { throw ConfigProblem(aboutMappingAt: codingPath, missing) }
        return try read(superDecoder(forKey: key))
    }

    /// The setting at `key` read with `format`, which must be there; see ``required(_:missing:read:)``.
    func requiredSetting<Value>(_ key: Key, _ format: SettingFormat<Value>, missing: String) throws -> Value {
        try required(key, missing: missing, read: format.read)
    }

    /// The path of the value at `key`, for a problem found after reading it.
    func path(of key: Key) -> ConfigPath {
        ConfigPath(codingPath).appending(key: key.stringValue)
    }

    /// A nested group of settings, or `fallback` when the key is absent or `null` (a group whose
    /// settings are all commented out).
    func section<Section: Decodable>(_ key: Key, default fallback: Section) throws -> Section {
        try decodeIfPresent(Section.self, forKey: key) ?? fallback
    }
}

/// The message for a key that is not a setting, with the key probably meant.
enum UnknownKey {
    static func reason(_ key: String, known: [String], inTopLevel: Bool) -> String {
        if let meant = suggestion(for: key, among: known) {
            return "unknown setting; did you mean \(meant)?"
        }
        let place = inTopLevel ? "the top-level settings are" : "the settings here are"
        return "unknown setting; \(place) \(known.joined(separator: ", "))"
    }

    /// The known key closest to `key`: the same but for case, or within a typo or two
    /// (one edit for keys of up to four characters).
    static func suggestion(for key: String, among known: [String]) -> String? {
        let lowered = key.lowercased()
        if let sameButCase = known.first(where: { $0.lowercased() == lowered }) { return sameButCase }
        let allowed = key.count <= 4 ? 1 : 2
        let scored = known.map { (name: $0, distance: editDistance(lowered, $0.lowercased())) }
        guard let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= allowed else { return nil }
        return best.name
    }

    /// Edit distance counting insertions, deletions, substitutions and swaps of two neighbouring
    /// characters (optimal string alignment), so `fiel` is one edit from `file`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var distance = (0...a.count).map { i in (0...b.count).map { j in i == 0 ? j : (j == 0 ? i : 0) } }
        for i in a.indices.map({ $0 + 1 }) {
            for j in b.indices.map({ $0 + 1 }) {
                let substitution = distance[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                distance[i][j] = min(distance[i - 1][j] + 1, distance[i][j - 1] + 1, substitution)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    distance[i][j] = min(distance[i][j], distance[i - 2][j - 2] + 1)
                }
            }
        }
        return distance[a.count][b.count]
    }
}
