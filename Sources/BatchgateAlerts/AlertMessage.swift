import BatchgateCore

/// What an alert says about one routed manifest; each kind of sink shows it in its own way
/// (``SinkKind/alert(_:)``). Pure: the router supplies the report and the context.
public struct AlertMessage: Sendable, Equatable {
    public var id: String
    /// ISO 8601 time the manifest was routed.
    var time: String
    var licenseNumber: String?
    var facility: String?
    var host: String
    /// The manifest's name in its outcome folder.
    var file: String
    var decision: Decision
    public var summary: String
    /// Where the text report lies (`<file>.report.txt`), for a person to open.
    public var reportPath: String
    var packages: [PackageVerdict]
    /// File-wide errors (a rejected manifest that could not be read at all), but for those of
    /// the failed checks in ``checks``, which are listed there with their fixes.
    var errors: [String]
    /// The pre-flight checks that failed for the manifest as a whole (`too-many-packages`).
    var checks: [CheckFinding]

    init(id: String, time: String, licenseNumber: String?, facility: String?, host: String, file: String,
                reportPath: String, report: ManifestReport) {
        self.id = id
        self.time = time
        self.licenseNumber = licenseNumber ?? report.licenseNumber
        self.facility = facility ?? report.facility
        self.host = host
        self.file = file
        self.decision = report.decision
        self.summary = report.summary
        self.reportPath = reportPath
        self.packages = report.packages
        self.checks = report.checks
        // A manifest-level check that is an error is also one of the report's errors: it is
        // shown once, as a check.
        self.errors = report.errors.filter { $0.packageIndex == nil && $0.check == nil }.map(\.message)
    }

    /// The packages a person must act on: those needing a batch or invalid, and those a
    /// pre-flight check warns about.
    var packagesToFix: [PackageVerdict] { packages.filter { $0.status != .ok || !$0.checks.isEmpty } }

    /// Whether a pre-flight check warned about the manifest or one of its packages.
    var hasCheckWarnings: Bool {
        (checks + packages.flatMap(\.checks)).contains { $0.severity == .warning }
    }

    /// A failed check as every sink lists it: `warning [too-many-packages]: The manifest holds …`.
    static func line(_ finding: CheckFinding) -> String {
        "\(finding.severity.rawValue) [\(finding.check.rawValue)]: \(finding.message)"
    }

    /// What a package's heading says of it: invalid, needs a production batch, or correct but
    /// warned about.
    static func state(of package: PackageVerdict) -> String {
        switch package.status {
        case .invalid: "invalid"
        case .needsBatch: "needs a production batch"
        case .ok: package.checks.count == 1 ? "correct, with a warning" : "correct, with warnings"
        }
    }

    /// "Needs a production batch: x.json (North, PR-1)": the decision, the file, and where when
    /// the facility or license is known.
    var title: String {
        let label = switch decision {
        case .accepted: hasCheckWarnings ? "Accepted with warnings" : "Accepted"
        case .needsBatch: hasCheckWarnings ? "Needs a production batch, with warnings" : "Needs a production batch"
        case .rejected: "Rejected"
        }
        let place = [facility, licenseNumber].compactMap { $0 }.joined(separator: ", ")
        return place.isEmpty ? "\(label): \(file)" : "\(label): \(file) (\(place))"
    }

    /// What happened, as webhooks and CloudEvents' `ce-type` name it: `manifest.needs-batch`.
    public var event: String { "manifest.\(decision.rawValue)" }

    /// One line for a digest: "run.json — needs-batch: 1 of 2 packages need a production batch (report …)".
    var digestLine: String {
        "\(file) — \(summary) (report \(reportPath))"
    }
}
