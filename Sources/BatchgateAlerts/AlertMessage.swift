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
    /// File-wide errors (a rejected manifest that could not be read at all).
    var errors: [String]

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
        self.errors = report.errors.filter { $0.packageIndex == nil }.map(\.message)
    }

    /// The packages a person must act on: those needing a batch or invalid.
    var packagesToFix: [PackageVerdict] { packages.filter { $0.status != .ok } }

    /// "Needs a production batch: x.json (North, PR-1)": the decision, the file, and where when
    /// the facility or license is known.
    var title: String {
        let label = switch decision {
        case .accepted: "Accepted"
        case .needsBatch: "Needs a production batch"
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
