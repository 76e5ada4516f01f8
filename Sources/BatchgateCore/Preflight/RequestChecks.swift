extension PreflightChecker {
    /// The checks of the request itself: package-unit, date-future, date-before-source,
    /// too-many-packages, batch-number-reused, batch-number-unmarked.
    func checkRequests(_ manifest: Manifest, resolved: [Int: ResolvedPackage], into outcome: inout Outcome) {
    }
}
