import Yams

/// Turns Yams' parse errors into ``ConfigError``s with a line and a hint a person can act on.
enum YAMLSyntax {
    /// Hints for libyaml's most common complaints, keyed by a piece of its message.
    private static let hints: [(problem: String, hint: String)] = [
        ("did not find expected key", "is this line indented differently from the lines above it?"),
        ("mapping values are not allowed", "check the indentation, or quote a value that contains \": \""),
        ("did not find expected '-' indicator", "is this list entry indented differently from the ones above it?"),
        ("found another document", "a config file holds one YAML document; remove the second \"---\""),
    ]

    static func error(_ error: any Error, in yaml: String, fileName: String) -> ConfigError {
        guard let yamlError = error as? YamlError else {
            return ConfigError(file: fileName, reason: "not valid YAML: \(error)")
        }
        switch yamlError {
        case let .scanner(context, problem, mark, _),
             let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            return located(problem, at: mark, context: context, yaml: yaml, fileName: fileName)
        case let .reader(problem, offset, _, _):
            let line = offset.map { offset in yaml.prefix(offset).reduce(1) { $0 + ($1.isNewline ? 1 : 0) } }
            return ConfigError(file: fileName, line: line, reason: "not valid YAML text: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            return DuplicateKey.error(name: duplicates.first ?? "", firstMark: context.mark, yaml: yaml, fileName: fileName)
        default:
            return ConfigError(file: fileName, reason: "not valid YAML: \(yamlError)")
        }
    }

    private static func located(
        _ problem: String, at mark: Mark, context: YamlError.Context?, yaml: String, fileName: String
    ) -> ConfigError {
        if YAMLText.character(at: mark, in: yaml) == "\t" {
            return ConfigError(file: fileName, line: mark.line, reason: "not valid YAML: a tab is used to indent; indent with spaces")
        }
        // At the end of the file the line that matters is where the unfinished thing starts.
        if let context, context.text.hasPrefix("while"), YAMLText.onlyWhiteSpace(from: mark, in: yaml) {
            let hint = context.text.contains("quoted scalar") ? "; a quote opened on this line is not closed" : ""
            return ConfigError(
                file: fileName, line: context.mark.line,
                reason: "not valid YAML: \(problem) \(context.text) that starts on this line\(hint)"
            )
        }
        var reason = "not valid YAML: \(problem)"
        if let context {
            // libyaml's context is either where the enclosing thing starts ("while parsing a block
            // mapping") or the first half of the sentence ("expected a single document …").
            reason = context.text.hasPrefix("while")
                ? reason + " (\(context.text) that starts on line \(context.mark.line))"
                : "not valid YAML: \(context.text) \(problem)"
        }
        if let hint = hints.first(where: { problem.contains($0.problem) })?.hint { reason += "; \(hint)" }
        return ConfigError(file: fileName, line: mark.line, reason: reason)
    }
}

/// A key given twice in one mapping. Yams reports only the first occurrence; to name the second
/// and the key's path, the first is renamed in a copy of the text and the copy parsed again.
enum DuplicateKey {
    private static let marker = "batchgate-first-occurrence-"

    static func error(name: String, firstMark: Mark, yaml: String, fileName: String) -> ConfigError {
        guard let (path, secondLine) = locateSecond(name, firstMark: firstMark, yaml: yaml) else {
            return ConfigError(
                file: fileName, line: firstMark.line, key: name,
                reason: "is given more than once in the same mapping; keep one"
            )
        }
        let lines = secondLine == firstMark.line ? "on line \(secondLine)" : "on lines \(firstMark.line) and \(secondLine)"
        return ConfigError(file: fileName, line: firstMark.line, key: path.keyPath, reason: "is given twice, \(lines); keep one")
    }

    private static func locateSecond(_ name: String, firstMark: Mark, yaml: String) -> (ConfigPath, Int)? {
        guard let renamed = YAMLText.inserting(marker, at: firstMark, in: yaml),
              let root = try? Yams.compose(yaml: renamed)
        else { return nil }
        return find(name, renamedOn: firstMark.line, in: root, at: ConfigPath())
    }

    /// The path to, and line of, the key `name` in the mapping that also holds the renamed key.
    private static func find(_ name: String, renamedOn line: Int, in node: Node, at path: ConfigPath) -> (ConfigPath, Int)? {
        switch node {
        case .mapping(let mapping):
            let holdsRenamed = mapping.contains { $0.key.string?.hasPrefix(marker) == true && $0.key.mark?.line == line }
            if holdsRenamed, let second = mapping.first(where: { $0.key.string == name }), let secondLine = second.key.mark?.line {
                return (path.appending(key: name), secondLine)
            }
            for (key, value) in mapping {
                if let found = find(name, renamedOn: line, in: value, at: path.appending(key: key.string ?? "")) { return found }
            }
            return nil
        case .sequence(let sequence):
            for (index, entry) in sequence.enumerated() {
                if let found = find(name, renamedOn: line, in: entry, at: ConfigPath(path.components + [.index(index)])) {
                    return found
                }
            }
            return nil
        case .scalar, .alias:
            return nil
        }
    }
}

/// Positions in YAML text, counted as libyaml counts them: lines and columns from 1, columns in
/// Unicode scalars, and `\r\n`, `\r` or `\n` ending a line.
enum YAMLText {
    /// The index of the first scalar of `mark`, or nil if the text is shorter.
    static func index(of mark: Mark, in text: String) -> String.UnicodeScalarView.Index? {
        let scalars = text.unicodeScalars
        var index = scalars.startIndex
        var line = 1
        while line < mark.line {
            guard index < scalars.endIndex else { return nil }
            let scalar = scalars[index]
            index = scalars.index(after: index)
            if scalar == "\n" || (scalar == "\r" && (index == scalars.endIndex || scalars[index] != "\n")) { line += 1 }
        }
        return scalars.index(index, offsetBy: mark.column - 1, limitedBy: scalars.endIndex)
    }

    /// Whether nothing but white space follows `mark`: the parser ran off the end of the text.
    static func onlyWhiteSpace(from mark: Mark, in text: String) -> Bool {
        guard let index = index(of: mark, in: text) else { return true }
        return text.unicodeScalars[index...].allSatisfy(\.properties.isWhitespace)
    }

    static func character(at mark: Mark, in text: String) -> Unicode.Scalar? {
        guard let index = index(of: mark, in: text), index < text.unicodeScalars.endIndex else { return nil }
        return text.unicodeScalars[index]
    }

    static func inserting(_ insertion: String, at mark: Mark, in text: String) -> String? {
        guard let index = index(of: mark, in: text) else { return nil }
        var scalars = text.unicodeScalars
        scalars.insert(contentsOf: insertion.unicodeScalars, at: index)
        return String(scalars)
    }
}
