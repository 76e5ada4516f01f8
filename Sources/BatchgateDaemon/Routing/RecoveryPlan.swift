import BatchgateCore

// This decision table is part of the crash-safety protocol (docs/routing.md): a change here
// needs `make crash-rounds` as well as the tests.

/// What recovery finds on disk for one route of a journal left by a crash: enough to tell which
/// step the crash came in, built by ``Router`` with a few `fstatat` calls and report reads, so
/// that ``RecoveryPlan`` can decide without touching the disk.
struct Observation: Equatable, Sendable {
    /// A file is in `processing/` under the route's name.
    var inProcessing: Bool
    /// A file is in the outcome folder under the route's final name.
    var atFinalName: Bool
    /// Both names are one file (same device and inode): a move by link and unlink cut short.
    var sameFile: Bool
    /// Whose file is at each report name of the final name (JSON, then text).
    var reports: [ReportFiles.State]
}

/// What recovery does for one journaled route, decided from an ``Observation`` and the decision
/// the manifest reads as now: the recovery table of docs/routing.md, row for row. Pure: the
/// router carries the plan out, then finishes the route with the same steps 4 to 7 as a fresh
/// one.
struct RecoveryPlan: Equatable, Sendable {
    /// Where the crash left the manifest.
    enum Place: Equatable, Sendable {
        /// Neither in `processing/` nor at its final name: nothing of it to finish (skipped,
        /// with a warning).
        case missing
        /// In the outcome folder (step 6 done for it).
        case moved
        /// In the outcome folder, and its name in `processing/` is the same file: the move's
        /// link was made, its unlink was not. The `processing/` name is removed; then as moved.
        case movedLeavingSecondName
        /// Still in `processing/` (steps 4 to 6 may be under way): it moves once its reports are
        /// written.
        case waiting
    }

    /// Why a waiting route takes a new final name. Whatever the reason, the reports it began
    /// under the old name that are provably its own go first.
    enum Renaming: Equatable, Sendable {
        /// Another file took its final name in the outcome folder.
        case finalNameTaken
        /// The manifest reads as another decision than journaled (it changed before its move,
        /// or the catalog or rules did): it goes where its report now says.
        case decisionChanged
        /// A file that is not this route's sits at one of its report names.
        case foreignReport
    }

    var place: Place
    /// The outcome folder the route finishes in.
    var decision: Decision
    /// Empty when the route keeps its journaled final name; otherwise every reason it cannot.
    var renaming: [Renaming]
    /// What is done about its reports.
    var reports: ReportFiles.Work

    /// Whether the manifest still has to move (step 6). Then its alerts are planned again under
    /// the config in force (the senders never saw them); once moved, the drafts on disk are the
    /// alerts owed.
    var moves: Bool { place == .waiting }

    /// Where the crash left the manifest of a route so observed.
    static func place(of observation: Observation) -> Place {
        switch (observation.inProcessing, observation.atFinalName) {
        case (false, false): .missing
        case (false, true): .moved
        case (true, true) where observation.sameFile: .movedLeavingSecondName
        case (true, _): .waiting
        }
    }

    /// The plan for a route journaled for `journaled` whose manifest, read again, is
    /// `readAs` (from `processing/` when it waits there, else from the outcome folder).
    init(_ observation: Observation, journaled: Decision, readAs: Decision) {
        place = Self.place(of: observation)
        switch place {
        case .missing:
            decision = journaled
            renaming = []
            reports = .keep
        case .moved, .movedLeavingSecondName:
            // Moved: the decision stands whatever the file reads as now, and its reports are
            // complete when present (both are made durable before any move).
            decision = journaled
            renaming = []
            reports = observation.reports.contains(.absent) ? .createMissing : .keep
        case .waiting:
            // Not moved: reports this route began may be torn, so both are written again.
            decision = readAs
            var reasons: [Renaming] = []
            if observation.atFinalName { reasons.append(.finalNameTaken) }
            if readAs != journaled { reasons.append(.decisionChanged) }
            if observation.reports.contains(.foreign) { reasons.append(.foreignReport) }
            renaming = reasons
            reports = .rewrite
        }
    }
}
