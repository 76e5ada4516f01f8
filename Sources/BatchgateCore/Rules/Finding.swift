/// One rule that applies to one package: the sentence a compliance manager reads, and the field
/// and value that decided it, for a program (and for the person who wants to check).
public struct RuleFinding: Sendable, Equatable {
    public var rule: RuleID
    public var message: String
    public var evidence: Evidence

    public init(rule: RuleID, message: String, evidence: Evidence) {
        self.rule = rule
        self.message = message
        self.evidence = evidence
    }
}

/// The piece of a request (or of the catalog) a finding or warning rests on.
public struct Evidence: Sendable, Equatable {
    /// Where a value came from: the manifest itself, or one of the catalog files.
    public enum Origin: String, Sendable {
        case manifest
        case itemsFile = "items file"
        case packagesFile = "packages file"
        /// The facility's catalog read from Metrc (with any catalog files laid over it).
        case metrc = "Metrc catalog"
    }

    /// The field, named as in Metrc's JSON request whatever the file's format:
    /// `Note`, `Item`, `ItemCategory`, `Additives`, `ProcessingStep`, `Ingredients[1].Item`, ...
    public var field: String
    /// The value that decided, as written (for a word found in free text, the word).
    public var value: String
    /// The line of the manifest where the package (or, for an ingredient's field, the
    /// ingredient) starts, where known.
    public var line: Int?
    /// Where the value came from.
    public var origin: Origin

    public init(field: String, value: String, line: Int? = nil, origin: Origin = .manifest) {
        self.field = field
        self.value = value
        self.line = line
        self.origin = origin
    }
}

/// How much a message weighs, in the report's words.
public enum Severity: String, Sendable {
    /// Stops the package: it must be fixed before it goes to Metrc.
    case error
    /// Does not stop the package, but someone should look.
    case warning
    /// For the record.
    case note
}

/// A warning about a package that is not a rule applying: a batch marked that no rule asks for,
/// evidence that could not be checked.
public struct PackageWarning: Sendable, Equatable {
    public var message: String
    public var evidence: Evidence?

    public init(message: String, evidence: Evidence? = nil) {
        self.message = message
        self.evidence = evidence
    }
}
