/// One pre-flight check that failed for a package (or, for `too-many-packages`, the manifest):
/// the check, how much it weighs for this facility, the sentence with its evidence, and the fix.
/// Shaped like ``RuleFinding`` so that reports list both alike.
public struct CheckFinding: Sendable, Equatable {
    public var check: CheckID
    /// `.error` or `.warning`, from the facility's ``CheckSettings``.
    public var severity: Severity
    /// One sentence naming the tags, the quantities and, where there is one, Metrc's own answer.
    public var message: String
    /// What to change before submitting.
    public var fix: String
    /// The field and value the check rests on.
    public var evidence: Evidence
    /// The package or ingredient the finding is about; nil for the manifest as a whole.
    public var position: SourcePosition?

    public init(check: CheckID, severity: Severity, message: String, fix: String, evidence: Evidence,
                position: SourcePosition? = nil) {
        self.check = check
        self.severity = severity
        self.message = message
        self.fix = fix
        self.evidence = evidence
        self.position = position
    }

    /// The finding as a reason in a package's messages: the message and its fix, a warning so named.
    public var sentence: String {
        (severity == .warning ? "Warning: " : "") + "\(message) Fix: \(fix)"
    }

    /// The issue that rejects the manifest, for an error, placed like a field error (`Packages[1].
    /// Ingredients[0].Quantity (line 14): [source-over-used] …`).
    func issue(format: ManifestFormat, tag: String?) -> ManifestIssue {
        let text = "[\(check.rawValue)] \(message) Fix: \(fix)"
        var issue: ManifestIssue
        if let position {
            // Evidence names an ingredient's field as Metrc's JSON does (`Ingredients[0].Quantity`);
            // the issue's place names the ingredient from the position.
            let field = position.ingredientIndex == nil ? evidence.field
                : String(evidence.field.split(separator: ".").last ?? Substring(evidence.field))
            issue = .field(field, text, at: position, format: format, tag: tag)
        } else {
            issue = ManifestIssue(message: text, line: evidence.line)
        }
        issue.check = check
        return issue
    }
}

/// A check that could not be run for want of data, with the reason: never a guess (a missing
/// packages catalog is no over-use).
public struct SkippedCheck: Sendable, Equatable {
    public var check: CheckID
    /// Why, in a sentence: "no packages catalog (catalog.packages, --packages or catalog.metrc)".
    public var reason: String
    /// The tags it was skipped for; empty when it was skipped for the whole manifest.
    public var tags: [String]

    public init(check: CheckID, reason: String, tags: [String] = []) {
        self.check = check
        self.reason = reason
        self.tags = tags
    }
}
