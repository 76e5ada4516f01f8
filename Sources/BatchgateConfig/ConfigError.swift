/// A config file the daemon cannot use: which file, where in it, and what to change.
///
/// Its ``description`` is the line to show a person, such as
/// `batchgate.yaml, line 7, rescanInterval: must be a duration such as 30s, 2m or 0 (off); found "soon"`.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file's name as the loader was given it.
    var file: String
    /// The line (from 1) of the key, list entry or syntax error, when known.
    var line: Int?
    /// The setting's path with dots, such as `catalog.items`, and the positions of list entries it
    /// goes through, counted from 1, such as `alerts.sinks[2].url`; nil for a problem with the file
    /// as a whole (a syntax error, or a top level that is not a mapping).
    var key: String?
    /// What is wrong and what to write instead.
    var reason: String

    /// An error about `file`, at `line` and `key` when known.
    public init(file: String, line: Int? = nil, key: String? = nil, reason: String) {
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
    }

    /// `file, line N, key: reason`, leaving out the parts not known.
    public var description: String {
        var place = [file]
        if let line { place.append("line \(line)") }
        if let key { place.append(key) }
        return place.joined(separator: ", ") + ": " + reason
    }
}
