extension PreflightChecker {
    /// The checks of what a manifest takes from existing packages and of the tags it gives: tag-in-use,
    /// source-not-in-facility, source-inactive, source-on-hold, source-lab-failed,
    /// source-over-used, ingredient-unit.
    func checkSources(_ manifest: Manifest, resolved: [Int: ResolvedPackage], into outcome: inout Outcome) {
    }
}
