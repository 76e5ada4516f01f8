/// Where a value sits in a config file: the keys and list positions that lead to it.
struct ConfigPath: Sendable, Equatable {
    /// One step down the tree.
    enum Component: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    var components: [Component]

    init(_ components: [Component] = []) {
        self.components = components
    }

    /// The path of a `Decoder` or container. Keys with an integer value are list positions
    /// (Yams gives list entries such keys; the config's own keys are all strings).
    init(_ codingPath: [any CodingKey]) {
        components = codingPath.map { key in
            if let index = key.intValue { .index(index) } else { .key(key.stringValue) }
        }
    }

    func appending(key: String) -> ConfigPath {
        ConfigPath(components + [.key(key)])
    }

    /// The keys joined with dots, such as `rules.sameFormSteps`, or nil at the top of the file.
    /// List positions are left out: a message says "entry 3" instead.
    var keyPath: String? {
        let keys = components.compactMap { component -> String? in
            guard case .key(let name) = component else { return nil }
            return name.isEmpty ? "\"\"" : name
        }
        return keys.isEmpty ? nil : keys.joined(separator: ".")
    }

    /// The list position the path ends at, counted from 1 as a person counts, if it ends in a list.
    var entryNumber: Int? {
        guard case .index(let index) = components.last else { return nil }
        return index + 1
    }
}

/// A value written wrongly, found while decoding. It knows where in the tree the value is but
/// not its line: ``ConfigLoader`` looks the line up in the parsed YAML and makes a ``ConfigError``.
struct ConfigProblem: Error, Sendable, Equatable {
    var path: ConfigPath
    /// What is wrong and what to write instead, such as `must be true or false; found "maybe"`.
    var reason: String

    init(at path: ConfigPath, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    init(at codingPath: [any CodingKey], _ reason: String) {
        self.init(at: ConfigPath(codingPath), reason)
    }
}
