/// The names of a manifest's two reports, beside it in its outcome folder (docs/manifests.md §1):
/// `x.json` has `x.json.report.json` and `x.json.report.txt`.
public enum ReportNames {
    /// The JSON report's name (what `check --format json` writes, with the routing times).
    public static func json(of manifest: String) -> String { manifest + ".report.json" }
    /// The text report's name (the same for a person).
    public static func text(of manifest: String) -> String { manifest + ".report.txt" }
}
