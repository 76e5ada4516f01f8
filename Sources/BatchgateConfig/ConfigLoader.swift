import Yams

/// Turns the text of `batchgate.yaml` into a ``DaemonConfig``. Pure: text in, value out; the
/// caller reads the file and chooses the base directory.
public enum ConfigLoader {
    /// Parses and checks a config file's text.
    ///
    /// An empty file, or one with only comments, gives the defaults. Relative paths are resolved
    /// against `baseDirectory`.
    ///
    /// - Parameters:
    ///   - yaml: The file's contents.
    ///   - fileName: The name errors give the file, such as `batchgate.yaml` or its full path.
    ///   - baseDirectory: The folder relative paths start from, normally the config file's folder.
    /// - Throws: ``ConfigError`` for text that is not YAML, a key given twice or not known, or a value
    ///   of the wrong kind or out of range, with the line and key concerned.
    public static func load(yaml: String, fileName: String, baseDirectory: String) throws(ConfigError) -> DaemonConfig {
        let config = try decode(DaemonConfig.self, yaml: yaml, fileName: fileName) ?? DaemonConfig()
        return config.resolvingRelativePaths(against: baseDirectory)
    }

    /// Parses `yaml` and decodes a `Value` from it, or returns nil when the text holds no value
    /// (empty, only comments, or `null`). Any type whose decoding throws ``ConfigProblem`` gets
    /// located errors this way.
    static func decode<Value: Decodable>(_ type: Value.Type, yaml: String, fileName: String) throws(ConfigError) -> Value? {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml), !node.isNull else { return nil }
            root = node
        } catch {
            throw YAMLSyntax.error(error, in: yaml, fileName: fileName)
        }
        do {
            return try YAMLDecoder().decode(type, from: root)
        } catch let problem as ConfigProblem {
            throw ConfigError(problem, in: root, fileName: fileName)
        } catch let error as DecodingError {
            // The config types check what they read and throw ConfigProblem; this is a fallback.
            throw ConfigError(ConfigProblem(decodingError: error), in: root, fileName: fileName)
        } catch {
            throw ConfigError(file: fileName, reason: "cannot read the settings: \(error)")
        }
    }
}

extension ConfigLoader {
    /// Refuses a configuration whose state root or inbox the daemon must not run on (see
    /// ``LayoutPlacement``), naming the line of `stateRoot:` or `inbox:` in `yaml`, the text
    /// `config` was loaded from. Pure but for `canonical`, which resolves the symbolic links of a
    /// path that exists (``System/canonicalPath(_:)``, or a dictionary in tests).
    /// - Throws: ``ConfigError`` with the key, its line (none for a state root left at its
    ///   default), and what to write instead.
    public static func checkPlacement(
        of config: DaemonConfig, yaml: String, fileName: String, canonical: (String) -> String?
    ) throws(ConfigError) {
        guard let problem = LayoutPlacement.problem(stateRoot: config.stateRoot, inbox: config.inbox,
                                                    metricsFile: config.metrics?.textfile, canonical: canonical)
        else { return }
        let key = problem.setting.rawValue
        // The text was parsed once already, so it parses again; a key left out has no line.
        let root: Node? = (try? Yams.compose(yaml: yaml)) ?? nil
        var written = root?.mapping?.first { $0.key.string == key }
        if problem.setting == .metricsTextfile {
            written = root?.mapping?.first { $0.key.string == "metrics" }?.value.mapping?.first { $0.key.string == "textfile" }
        }
        var reason = problem.reason
        if written == nil, problem.setting == .stateRoot {
            reason += " (this is the default, \(DaemonConfig.defaultStateRoot) beside the config file: set stateRoot:)"
        }
        throw ConfigError(file: fileName, line: written?.key.mark?.line, key: key, reason: reason)
    }
}

extension ConfigError {
    /// The error for `problem`, with the line of the key or list entry it concerns.
    init(_ problem: ConfigProblem, in root: Node, fileName: String) {
        let whole = problem.isAboutWholeEntry
        let entry = whole ? "" : problem.path.entryNumber.map { "entry \($0): " } ?? ""
        self.init(
            file: fileName, line: root.line(of: problem.path),
            key: problem.path.keyPath(showingLastPosition: whole), reason: entry + problem.reason
        )
    }
}

extension ConfigProblem {
    init(decodingError: DecodingError) {
        switch decodingError {
        case .typeMismatch(_, let context), .valueNotFound(_, let context),
             .keyNotFound(_, let context), .dataCorrupted(let context):
            self.init(at: context.codingPath, context.debugDescription)
        @unknown default:
            self.init(at: ConfigPath(), "\(decodingError)")
        }
    }
}

extension Node {
    /// Whether this is a plain `null`, `~` or nothing at all, as Yams' decoder sees null.
    var isNull: Bool {
        guard case .scalar(let scalar) = self, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// The line of the key or list entry `path` leads to: of the deepest part that exists, if the
    /// path leads further than the tree goes.
    func line(of path: ConfigPath) -> Int? {
        var node = self
        var line = mark?.line
        for component in path.components {
            switch component {
            case .key(let name):
                guard let pair = node.mapping?.first(where: { $0.key.string == name }) else { return line }
                node = pair.value
                line = pair.key.mark?.line ?? line
            case .index(let index):
                guard let entries = node.sequence.map(Array.init), entries.indices.contains(index) else { return line }
                node = entries[index]
                line = node.mark?.line ?? line
            }
        }
        return line
    }
}
