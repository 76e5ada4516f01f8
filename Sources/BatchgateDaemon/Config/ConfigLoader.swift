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
