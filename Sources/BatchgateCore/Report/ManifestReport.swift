/// Where a manifest goes.
public enum Decision: String, Sendable, Comparable, CaseIterable {
    /// Every package is correct.
    case accepted
    /// At least one package needs the Production Batch indicator or its number.
    case needsBatch = "needs-batch"
    /// The manifest cannot be evaluated: unreadable, malformed, invalid, unsupported.
    case rejected

    public static func < (lhs: Decision, rhs: Decision) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// The verdict on one package.
public enum PackageStatus: String, Sendable {
    case ok
    case needsBatch = "needs-batch"
    case invalid
}

/// What batchgate concluded about one package, and why.
public struct PackageVerdict: Sendable, Equatable {
    /// The fields, in a ``SharedFields`` box: the checker fills a verdict in place and the report
    /// writers read it through arrays, where a copy of its strings and arrays was a dozen atomic
    /// retains and releases.
    private struct Fields: Equatable, Sendable {
        var tag: String?
        var item: String?
        var category: String?
        var productionBatchRequired: Bool
        var isMarked: Bool
        var productionBatchNumber: String?
        var findings: [RuleFinding]
        var checks: [CheckFinding] = []
        var status: PackageStatus
        var errors: [String]
        var warnings: [PackageWarning]
        var notes: [String]
        var fix: String?
        var location: String?
        var note: String?
        var position: SourcePosition
    }

    private var fields: SharedFields<Fields>

    /// The new package's tag; nil when it is missing or malformed.
    public var tag: String? { get { fields.value.tag } _modify { yield &fields.value.tag } }

    /// The item, from the manifest or its ingredients (`UseSameItem`).
    public var item: String? { get { fields.value.item } _modify { yield &fields.value.item } }

    /// The item's category, from the manifest or the catalog.
    public var category: String? { get { fields.value.category } _modify { yield &fields.value.category } }

    /// True when any rule applies.
    public var productionBatchRequired: Bool { get { fields.value.productionBatchRequired } _modify { yield &fields.value.productionBatchRequired } }

    /// Whether the request marks a production batch (``PackageRequest/isMarked``): the report's
    /// `isProductionBatch`, as Metrc will read the request.
    public var isMarked: Bool { get { fields.value.isMarked } _modify { yield &fields.value.isMarked } }

    /// The batch number the manifest gives, if any.
    public var productionBatchNumber: String? { get { fields.value.productionBatchNumber } _modify { yield &fields.value.productionBatchNumber } }

    /// The rules that apply, each with its sentence and evidence.
    public var findings: [RuleFinding] { get { fields.value.findings } _modify { yield &fields.value.findings } }

    /// The pre-flight checks that failed (what Metrc would refuse, or accept and regret); an error
    /// among them makes the package invalid.
    public var checks: [CheckFinding] { get { fields.value.checks } _modify { yield &fields.value.checks } }

    /// `ok`, `needs-batch` or `invalid`.
    public var status: PackageStatus { get { fields.value.status } _modify { yield &fields.value.status } }

    /// Why the package cannot be evaluated (field errors, unknown categories); empty unless invalid.
    public var errors: [String] { get { fields.value.errors } _modify { yield &fields.value.errors } }

    /// What someone should look at although it does not stop the package.
    public var warnings: [PackageWarning] { get { fields.value.warnings } _modify { yield &fields.value.warnings } }

    /// For the record ("Marked as production batch PB-1, as required.").
    public var notes: [String] { get { fields.value.notes } _modify { yield &fields.value.notes } }

    /// What to change in Metrc, for a package that needs a batch.
    public var fix: String? { get { fields.value.fix } _modify { yield &fields.value.fix } }

    /// Metrc's `Location`, carried into the report.
    public var location: String? { get { fields.value.location } _modify { yield &fields.value.location } }

    /// Metrc's `Note`, carried into the report.
    public var note: String? { get { fields.value.note } _modify { yield &fields.value.note } }

    /// Where the package stands in its file.
    public var position: SourcePosition { get { fields.value.position } _modify { yield &fields.value.position } }

    init(tag: String?, item: String?, category: String?, isMarked: Bool, productionBatchNumber: String?,
                status: PackageStatus, errors: [String] = [], location: String? = nil, note: String? = nil,
                position: SourcePosition) {
        fields = SharedFields(Fields(
            tag: tag, item: item, category: category, productionBatchRequired: false, isMarked: isMarked,
            productionBatchNumber: productionBatchNumber, findings: [], status: status, errors: errors,
            warnings: [], notes: [], fix: nil, location: location, note: note, position: position))
    }

    /// The ids of the rules that apply.
    public var rules: [RuleID] { findings.map(\.rule) }

    /// How the findings weigh: errors while the package needs a batch, notes once it is marked.
    var findingSeverity: Severity {
        status == .needsBatch ? .error : .note
    }

    /// Why: each rule that applies, then errors, failed checks with their fixes, warnings and notes.
    public var reasons: [String] {
        var reasons: [String] = []
        forEachMessage(includingFix: false) { reasons.append(Self.message($0, $1)) }
        return reasons
    }

    /// The checks that make the package invalid.
    var checkErrors: [CheckFinding] { checks.filter { $0.severity == .error } }

    /// Every sentence about the package: the reasons, then the fix.
    public var messages: [String] {
        var messages: [String] = []
        forEachMessage(includingFix: true) { messages.append(Self.message($0, $1)) }
        return messages
    }

    /// Calls `body` with each of the ``reasons`` in turn, then with the fix if `includingFix`: a
    /// report writes them without building the arrays.
    /// Each message comes as a label and its text (the label empty but for warnings and the fix),
    /// so that the JSON writer copies both without joining them first.
    func forEachMessage(includingFix: Bool, _ body: (_ label: StaticString, _ text: String) -> Void) {
        // Findings borrowed where they stand: a `for finding in findings` loop copies each whole.
        findings.withUnsafeBufferPointer { findings in
            for index in findings.indices { body("", findings[index].message) }
        }
        for error in errors { body("", error) }
        for check in checks { body("", check.sentence) }
        for warning in warnings { body("Warning: ", warning.message) }
        for note in notes { body("", note) }
        if includingFix, let fix { body("Fix: ", fix) }
    }

    /// A message's label and text as one string.
    private static func message(_ label: StaticString, _ text: String) -> String {
        label.utf8CodeUnitCount == 0 ? text : label.description + text
    }
}

extension PackageVerdict: CustomReflectable {
    /// Its fields, as a plain struct's mirror shows them (not the box they are kept in).
    public var customMirror: Mirror { Mirror(self, children: fields.mirror.children, displayStyle: .struct) }
}

/// The outcome of checking one manifest file.
public struct ManifestReport: Sendable, Equatable {
    /// The file's name as given to the checker.
    public var file: String
    /// JSON or CSV; nil when the file was refused before its format was known.
    public var format: ManifestFormat?
    /// Where the manifest goes.
    public var decision: Decision
    /// One verdict per package, in file order.
    public var packages: [PackageVerdict]
    /// Every problem that makes the manifest rejected, file-wide or in a package.
    public var errors: [ManifestIssue]
    /// The envelope's `LicenseNumber`, if any.
    public var licenseNumber: String?
    /// The envelope's `Facility`, if any.
    public var facility: String?
    /// The envelope's `Source`, if any.
    public var source: String?
    /// What the catalog lacked for packages it could not resolve (not written in the reports): a
    /// live catalog looks these up and the manifest is evaluated again.
    public var catalogMisses = CatalogMisses()
    /// Pre-flight checks that failed for the manifest as a whole (`too-many-packages`).
    public var checks: [CheckFinding] = []
    /// Pre-flight checks that could not run for want of data, with why.
    public var skipped: [SkippedCheck] = []

    /// Every failed check at `severity`, of the manifest and of its packages.
    public func checkFindings(_ severity: Severity) -> [CheckFinding] {
        var found: [CheckFinding] = []
        forEachCheckFinding { if $0.severity == severity { found.append($0) } }
        return found
    }

    /// Calls `body` with each failed check, of the manifest then of its packages, without
    /// gathering them into an array first (every report's summary counts its warnings).
    private func forEachCheckFinding(_ body: (CheckFinding) -> Void) {
        for finding in checks { body(finding) }
        // By index: a `for package in packages` loop copies each verdict whole.
        for index in packages.indices {
            for finding in packages[index].checks { body(finding) }
        }
    }

    /// "; 2 warnings (too-many-packages, source-lab-failed)", or "" when no check warns. The
    /// summary carries it so that a log line or an alert title says a warning is there.
    private var warningsClause: String {
        var count = 0
        var ids: [CheckID] = []
        forEachCheckFinding { finding in
            guard finding.severity == .warning else { return }
            count += 1
            if !ids.contains(finding.check) { ids.append(finding.check) }
        }
        guard count > 0 else { return "" }
        return "; \(count) \(count == 1 ? "warning" : "warnings") (\(ids.map(\.rawValue).joined(separator: ", ")))"
    }

    /// A report for a file that could not be read or evaluated at all: `rejected`, with `reason`.
    public static func unreadable(file: String, reason: String) -> ManifestReport {
        ManifestReport(file: file, format: nil, decision: .rejected, packages: [],
                       errors: [ManifestIssue(message: reason)])
    }

    /// One line for a log or an alert: "needs-batch: 2 of 5 packages need a production batch".
    public var summary: String {
        let count = packages.count
        let noun = count == 1 ? "package" : "packages"
        switch decision {
        case .accepted:
            // "All correct" would contradict the warnings that follow it.
            let clause = warningsClause
            return "accepted: \(count) \(noun), " + (clause.isEmpty ? "all correct" : String(clause.dropFirst(2)))
        case .needsBatch:
            // By position: `packages.count(where:)` copies every verdict it passes.
            let needing = packages.indices.count { packages[$0].status == .needsBatch }
            let clause = warningsClause
            // Written, not interpolated: every report of a manifest that needs a batch has one.
            return String(writing: { summary in
                summary.append("needs-batch: ")
                summary.append(needing)
                summary.append(" of ")
                summary.append(count)
                summary.append(" ")
                summary.append(noun)
                summary.append(needing == 1 ? " needs" as StaticString : " need")
                summary.append(" a production batch")
                summary.append(clause)
            })
        case .rejected:
            let first = errors.first?.message ?? "the manifest could not be evaluated"
            let more = errors.count > 1 ? " (and \(errors.count - 1) more)" : ""
            return "rejected: \(first)\(more)"
        }
    }
}
