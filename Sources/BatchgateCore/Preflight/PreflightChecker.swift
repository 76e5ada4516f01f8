/// Runs the pre-flight checks (``CheckID``) over a manifest whose packages the rules have judged:
/// what Metrc would refuse, or accept and regret, read from the catalog and the manifest. Pure:
/// the catalog and today's date are given.
///
/// The checks of source packages live in SourceChecks.swift, those of the request itself in
/// RequestChecks.swift; this file holds what they share.
struct PreflightChecker {
    /// What the checks found: per package (by its 0-based index), for the manifest as a whole, and
    /// what they could not check.
    struct Outcome: Equatable {
        var packages: [Int: [CheckFinding]] = [:]
        var manifest: [CheckFinding] = []
        private(set) var skipped: [SkippedCheck] = []
        /// The tags each entry of `skipped` names once it names `scannedTags` of them, so that a
        /// skip for one more of many tags is not a search through all of them; and, once there
        /// are more than `scannedSkips` entries, where each check and reason is.
        private var skippedTags: [Set<String>] = []
        /// While an entry names fewer, each of its tags' ``Swift/String/lastEightBytes``: a tag is
        /// compared with those before it by that number first (a manifest's tags mostly differ
        /// only in their last digits), and as a string only where it agrees.
        private var skippedTagEnds: [[UInt64]] = []
        private var skipIndex: [SkipKey: Int] = [:]
        /// Most skips recur once per package (package-unit without an items catalog): while the
        /// entries are few, finding one among them costs less than hashing its reason, a sentence.
        private static let scannedSkips = 16
        /// And most entries name a manifest's few packages: while the tags are few, comparing a tag
        /// with each costs less than hashing it into a set that grows as they come.
        private static let scannedTags = 16

        /// One entry of `skipped`: a check and the reason it was skipped for.
        private struct SkipKey: Hashable {
            var check: CheckID
            var reason: String
        }

        static func == (lhs: Outcome, rhs: Outcome) -> Bool {
            lhs.packages == rhs.packages && lhs.manifest == rhs.manifest && lhs.skipped == rhs.skipped
        }
    }

    let catalog: Catalog
    let settings: CheckSettings
    /// Today as `YYYY-MM-DD`, the latest date anywhere on Earth; nil when the caller has no clock
    /// (then `date-future` is skipped).
    let today: String?
    /// Whether the catalog holds Metrc's own records (its cache, with any files laid over it): what
    /// messages and evidence name as their origin.
    let catalogIsMetrc: Bool
    /// Whether a source the catalog lacked was looked up by label before this run (the daemon), so
    /// that a source still missing is one Metrc does not have. Offline, Metrc's cache may simply
    /// predate the tag.
    var sourcesWereLookedUp: Bool = false

    /// Checks `manifest`. `resolved` holds the packages the resolver could resolve, each with its
    /// index, in the order of the indexes; a package already invalid for its fields is not checked.
    /// `batchRequired` holds the indexes of the packages a production-batch rule requires a batch
    /// of (none by default).
    func run(_ manifest: Manifest, resolved: [(index: Int, package: ResolvedPackage)], batchRequired: Set<Int> = []) -> Outcome {
        var outcome = Outcome()
        checkSources(manifest, resolved: resolved, into: &outcome)
        checkRequests(manifest, resolved: resolved, batchRequired: batchRequired, into: &outcome)
        outcome.foldSkipsOfBareRecords(in: catalog)
        return outcome
    }

    /// A finding for `check` at its configured level, or nil when the check is off.
    func finding(_ check: CheckID, _ message: String, fix: String, evidence: Evidence,
                 at position: SourcePosition?) -> CheckFinding? {
        let severity: Severity
        switch settings.level(check) {
        case .off: return nil
        case .error: severity = .error
        case .warning: severity = .warning
        }
        return CheckFinding(check: check, severity: severity, message: message, fix: fix, evidence: evidence,
                            position: position)
    }
}

extension PreflightChecker.Outcome {
    /// Files `finding` under package `index`, or under the manifest when `index` is nil.
    mutating func add(_ finding: CheckFinding?, package index: Int?) {
        guard let finding else { return }
        if let index { packages[index, default: []].append(finding) } else { manifest.append(finding) }
    }

    /// Records that `check` could not run for `tag` (nil: for the whole manifest) for `reason`; one
    /// entry per check and reason, naming every tag.
    mutating func skip(_ check: CheckID, reason: String, tag: String?, settings: CheckSettings) {
        guard settings.runs(check) else { return }
        guard let entry = entry(check, reason) else {
            skippedTags.append([])
            skippedTagEnds.append(tag.map { [$0.lastEightBytes] } ?? [])
            skipped.append(SkippedCheck(check: check, reason: reason, tags: tag.map { [$0] } ?? []))
            if skipped.count > Self.scannedSkips {
                for (entry, skip) in skipped.enumerated().dropFirst(skipIndex.count) {
                    skipIndex[SkipKey(check: skip.check, reason: skip.reason)] = entry
                }
            }
            return
        }
        guard let tag else { return }
        if skipped[entry].tags.count < Self.scannedTags {
            let end = tag.lastEightBytes
            for index in skippedTagEnds[entry].indices where skippedTagEnds[entry][index] == end {
                if skipped[entry].tags[index] == tag { return }
            }
            skipped[entry].tags.append(tag)
            skippedTagEnds[entry].append(end)
            if skipped[entry].tags.count == Self.scannedTags {
                skippedTags[entry] = Set(skipped[entry].tags)
                skippedTagEnds[entry] = []
            }
            return
        }
        guard skippedTags[entry].insert(tag).inserted else { return }
        skipped[entry].tags.append(tag)
    }

    /// The position in `skipped` of the entry for `check` and `reason`.
    private func entry(_ check: CheckID, _ reason: String) -> Int? {
        guard skipped.count > Self.scannedSkips else {
            // By position, so that no entry (with its list of tags) is copied to be compared.
            return skipped.indices.first { skipped[$0].check == check && skipped[$0].reason == reason }
        }
        return skipIndex[SkipKey(check: check, reason: reason)]
    }
}

extension PreflightChecker {
    /// A quantity as a message shows it: at most `places` decimals (3 unless more are asked for, at
    /// most 6), no trailing zeros (`453.592`, `16`, `0.408`); a quantity so small that they would
    /// show 0 gets up to 6.
    static func quantityText(_ value: Double, places: Int = 3) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return String(value) }
        // Scaled to 6 decimals, a quantity of 10^13 would pass Int64's range.
        let places = abs(value) < 1e12 ? min(places, 6) : min(places, 3)
        for places in places < 6 ? [places, 6] : [6] {
            var scale: Int64 = 1
            for _ in 0..<places { scale *= 10 }
            let scaled = Int64((abs(value) * Double(scale)).rounded())
            guard scaled != 0 || value == 0 || places == 6 else { continue }
            let sign = value < 0 && scaled != 0 ? "-" : ""
            var fraction = String(scaled % scale)
            fraction = String(repeating: "0", count: places - fraction.count) + fraction
            while fraction.hasSuffix("0") { fraction.removeLast() }
            return sign + String(scaled / scale) + (fraction.isEmpty ? "" : "." + fraction)
        }
        return String(value)
    }

    /// Where a catalog record came from, for evidence.
    var recordOrigin: Evidence.Origin { catalogIsMetrc ? .metrc : .packagesFile }
}

extension PreflightChecker.Outcome {
    /// The checks that read a source package's stock, state or dates.
    private static let recordChecks: Set<CheckID> = [
        .sourceInactive, .sourceOnHold, .sourceLabFailed, .ingredientUnit, .sourceOverUsed, .dateBeforeSource,
    ]
    static let bareRecord = "the packages catalog gives only its item and category (no quantity, unit, state or dates)"

    /// A source whose record names only its item and category (a packages file of `Tag,Item,Category`)
    /// lacks every field these checks read: one reason for all of them, so that the report says it
    /// once for those tags rather than once per check and field.
    mutating func foldSkipsOfBareRecords(in catalog: Catalog) {
        // Without a packages catalog no tag has a record, bare or not.
        guard catalog.packageCount > 0 else { return }
        var folded: [SkippedCheck] = []
        // Where each check's bare-record entry is, and the tags it names: a big manifest may skip
        // thousands of tags, so nothing here searches a list.
        var bareEntries: [CheckID: (entry: Int, tags: Set<String>)] = [:]
        for skip in skipped {
            guard Self.recordChecks.contains(skip.check), !skip.tags.isEmpty else {
                folded.append(skip)
                continue
            }
            var kept = skip
            kept.tags = []
            for tag in skip.tags {
                guard let record = catalog.package(tagged: tag), !record.hasStockOrState else {
                    kept.tags.append(tag)
                    continue
                }
                if var bare = bareEntries[skip.check] {
                    if bare.tags.insert(tag).inserted { folded[bare.entry].tags.append(tag) }
                    bareEntries[skip.check] = bare
                } else {
                    bareEntries[skip.check] = (folded.count, [tag])
                    folded.append(SkippedCheck(check: skip.check, reason: Self.bareRecord, tags: [tag]))
                }
            }
            if !kept.tags.isEmpty { folded.append(kept) }
        }
        skipped = folded
        // The entries moved: the look-ups by position are rebuilt from the folded list, so a skip
        // recorded after the fold still finds its own entry.
        skippedTags = skipped.map { $0.tags.count >= Self.scannedTags ? Set($0.tags) : [] }
        skippedTagEnds = skipped.map { $0.tags.count >= Self.scannedTags ? [] : $0.tags.map(\.lastEightBytes) }
        skipIndex = [:]
        if skipped.count > Self.scannedSkips {
            for (entry, skip) in skipped.enumerated() { skipIndex[SkipKey(check: skip.check, reason: skip.reason)] = entry }
        }
    }
}
