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
    /// A list position the path goes on from is written in brackets, counted from 1 as "entry N"
    /// counts: `alerts.sinks[2].url` is the url of the second sink. A position at the end is left
    /// out: a message says "entry 3" instead.
    var keyPath: String? {
        keyPath(showingLastPosition: false)
    }

    /// ``keyPath``, with a position at the end shown in brackets too when `showingLastPosition`
    /// (for a problem with a list entry as a whole, such as `alerts.sinks[2]` missing its url).
    func keyPath(showingLastPosition: Bool) -> String? {
        var text = ""
        for (offset, component) in components.enumerated() {
            switch component {
            case .key(let name):
                if !text.isEmpty { text += "." }
                text += name.isEmpty ? "\"\"" : name
            case .index(let index) where showingLastPosition || offset < components.count - 1:
                text += "[\(index + 1)]"
            case .index:
                break
            }
        }
        return text.isEmpty ? nil : text
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
    /// Whether the problem is with a list entry as a whole, such as a sink missing its url: the
    /// key path then ends in the entry's position (`alerts.sinks[2]`) instead of the reason
    /// starting "entry 2:".
    var isAboutWholeEntry = false

    init(at path: ConfigPath, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    init(at codingPath: [any CodingKey], _ reason: String) {
        self.init(at: ConfigPath(codingPath), reason)
    }

    /// A problem with the mapping at `codingPath` as a whole, such as a required key it lacks.
    init(aboutMappingAt codingPath: [any CodingKey], _ reason: String) {
        self.init(at: codingPath, reason)
        isAboutWholeEntry = true
    }
}
