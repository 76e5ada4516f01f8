/// Runs the pre-flight checks (``CheckID``) over a manifest whose packages the rules have judged:
/// what Metrc would refuse, or accept and regret, read from the catalog and the manifest. Pure:
/// the catalog and today's date are given.
struct PreflightChecker {
    /// What the checks found: per package (by its 0-based index), for the manifest as a whole, and
    /// what they could not check.
    struct Outcome: Equatable {
        var packages: [Int: [CheckFinding]] = [:]
        var manifest: [CheckFinding] = []
        var skipped: [SkippedCheck] = []
    }

    let catalog: Catalog
    let settings: CheckSettings
    /// Today as `YYYY-MM-DD`, the latest date anywhere on Earth; nil when the caller has no clock
    /// (then `date-future` is skipped).
    let today: String?
    /// Whether the catalog is the facility's Metrc catalog, so that a source it lacks after a
    /// look-up is one Metrc does not have.
    let catalogIsMetrc: Bool

    /// Checks `manifest`. `resolved` holds the packages the resolver could resolve, by index; a
    /// package already invalid for its fields is not checked.
    func run(_ manifest: Manifest, resolved: [Int: ResolvedPackage]) -> Outcome {
        Outcome()
    }
}
