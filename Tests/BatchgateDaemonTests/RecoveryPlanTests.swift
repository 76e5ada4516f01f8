import Testing
import BatchgateCore
@testable import BatchgateDaemon

/// The recovery table (docs/routing.md) without a disk: every state a crash can leave one
/// journaled route in, and what recovery does about it. RouterTests checks the same states on
/// real folders.
@Suite("Recovery plan")
struct RecoveryPlanTests {
    typealias State = ReportFiles.State

    /// One row of the table: what is observed, what the file reads as now, and the plan.
    struct Row: Sendable, CustomTestStringConvertible {
        var crash: String
        var observation: Observation
        var readAs: Decision
        var place: RecoveryPlan.Place
        var decision: Decision
        var renaming: [RecoveryPlan.Renaming]
        var reports: ReportFiles.Work
        var moves: Bool
        var testDescription: String { crash }
    }

    static func seen(processing: Bool, final: Bool, sameFile: Bool = false, reports: [State]) -> Observation {
        Observation(inProcessing: processing, atFinalName: final, sameFile: sameFile, reports: reports)
    }

    /// Journaled for needs-batch/ in every row.
    static let rows: [Row] = [
        // Neither name: nothing to finish.
        Row(crash: "manifest gone from both folders", observation: seen(processing: false, final: false, reports: [.absent, .absent]),
            readAs: .needsBatch, place: .missing, decision: .needsBatch, renaming: [], reports: .keep, moves: false),
        // Moved (after step 6): reports are made durable before any move, so only what is missing
        // is created, and the decision stands whatever the file reads as now.
        Row(crash: "after the move, before the audit", observation: seen(processing: false, final: true, reports: [.ours, .ours]),
            readAs: .needsBatch, place: .moved, decision: .needsBatch, renaming: [], reports: .keep, moves: false),
        Row(crash: "moved, and the catalog changed since", observation: seen(processing: false, final: true, reports: [.ours, .ours]),
            readAs: .rejected, place: .moved, decision: .needsBatch, renaming: [], reports: .keep, moves: false),
        Row(crash: "moved, JSON report deleted by hand", observation: seen(processing: false, final: true, reports: [.absent, .ours]),
            readAs: .needsBatch, place: .moved, decision: .needsBatch, renaming: [], reports: .createMissing, moves: false),
        Row(crash: "moved, text report deleted by hand", observation: seen(processing: false, final: true, reports: [.foreign, .absent]),
            readAs: .needsBatch, place: .moved, decision: .needsBatch, renaming: [], reports: .createMissing, moves: false),
        Row(crash: "moved, both reports deleted by hand", observation: seen(processing: false, final: true, reports: [.absent, .absent]),
            readAs: .needsBatch, place: .moved, decision: .needsBatch, renaming: [], reports: .createMissing, moves: false),
        // The fallback move (link, then unlink) cut between its two calls.
        Row(crash: "between link and unlink of the move", observation: seen(processing: true, final: true, sameFile: true, reports: [.ours, .ours]),
            readAs: .needsBatch, place: .movedLeavingSecondName, decision: .needsBatch, renaming: [], reports: .keep, moves: false),
        Row(crash: "between link and unlink, a report gone", observation: seen(processing: true, final: true, sameFile: true, reports: [.ours, .absent]),
            readAs: .rejected, place: .movedLeavingSecondName, decision: .needsBatch, renaming: [], reports: .createMissing, moves: false),
        // Still in processing/ (steps 3 to 5): its reports may be torn, so both are written again.
        Row(crash: "after the journal, before any report", observation: seen(processing: true, final: false, reports: [.absent, .absent]),
            readAs: .needsBatch, place: .waiting, decision: .needsBatch, renaming: [], reports: .rewrite, moves: true),
        Row(crash: "during the reports (one torn)", observation: seen(processing: true, final: false, reports: [.ours, .absent]),
            readAs: .needsBatch, place: .waiting, decision: .needsBatch, renaming: [], reports: .rewrite, moves: true),
        Row(crash: "after the reports, before the move", observation: seen(processing: true, final: false, reports: [.ours, .ours]),
            readAs: .needsBatch, place: .waiting, decision: .needsBatch, renaming: [], reports: .rewrite, moves: true),
        // Someone else's file at one of its names: the route takes the next free name.
        Row(crash: "another file took a report name", observation: seen(processing: true, final: false, reports: [.foreign, .ours]),
            readAs: .needsBatch, place: .waiting, decision: .needsBatch, renaming: [.foreignReport], reports: .rewrite, moves: true),
        Row(crash: "another file took the final name", observation: seen(processing: true, final: true, reports: [.absent, .absent]),
            readAs: .needsBatch, place: .waiting, decision: .needsBatch, renaming: [.finalNameTaken], reports: .rewrite, moves: true),
        Row(crash: "another file took the final name and a report name", observation: seen(processing: true, final: true, reports: [.foreign, .foreign]),
            readAs: .needsBatch, place: .waiting, decision: .needsBatch, renaming: [.finalNameTaken, .foreignReport], reports: .rewrite, moves: true),
        // Read again, it says something else (it changed before its move, or the catalog did).
        Row(crash: "not moved, reads as another decision", observation: seen(processing: true, final: false, reports: [.ours, .ours]),
            readAs: .rejected, place: .waiting, decision: .rejected, renaming: [.decisionChanged], reports: .rewrite, moves: true),
        Row(crash: "not moved, another decision and final name taken", observation: seen(processing: true, final: true, reports: [.absent, .absent]),
            readAs: .accepted, place: .waiting, decision: .accepted, renaming: [.finalNameTaken, .decisionChanged], reports: .rewrite, moves: true),
        Row(crash: "not moved, another decision and a foreign report", observation: seen(processing: true, final: false, reports: [.absent, .foreign]),
            readAs: .rejected, place: .waiting, decision: .rejected, renaming: [.decisionChanged, .foreignReport], reports: .rewrite, moves: true),
    ]

    @Test(arguments: rows)
    func plansEachCrashState(_ row: Row) {
        #expect(RecoveryPlan.place(of: row.observation) == row.place)
        let plan = RecoveryPlan(row.observation, journaled: .needsBatch, readAs: row.readAs)
        #expect(plan.place == row.place)
        #expect(plan.decision == row.decision)
        #expect(plan.renaming == row.renaming)
        #expect(plan.reports == row.reports)
        #expect(plan.moves == row.moves)
    }

    /// Every observation there is (names × same file × report states × decision read) gets a
    /// plan the protocol allows: a moved manifest never moves again, changes folder or name, or
    /// has its reports replaced; one still in processing/ always has both written again; and a new
    /// name is taken exactly when the old one cannot serve.
    @Test(arguments: [false, true], [false, true])
    func everyObservationHasASafePlan(inProcessing: Bool, atFinalName: Bool) {
        let states: [State] = [.absent, .ours, .foreign]
        for sameFile in [false, true] where !sameFile || (inProcessing && atFinalName) {
            for json in states {
                for text in states {
                    for readAs in Decision.allCases {
                        let observation = Observation(inProcessing: inProcessing, atFinalName: atFinalName, sameFile: sameFile, reports: [json, text])
                        let plan = RecoveryPlan(observation, journaled: .needsBatch, readAs: readAs)
                        switch plan.place {
                        case .missing:
                            #expect(!inProcessing && !atFinalName)
                            #expect(!plan.moves && plan.renaming.isEmpty && plan.reports == .keep)
                        case .moved, .movedLeavingSecondName:
                            #expect(!plan.moves && plan.renaming.isEmpty && plan.decision == .needsBatch)
                            #expect(plan.reports == ([json, text].contains(.absent) ? .createMissing : .keep))
                        case .waiting:
                            #expect(inProcessing && !(atFinalName && sameFile))
                            #expect(plan.moves && plan.reports == .rewrite && plan.decision == readAs)
                            let mustRename = atFinalName || readAs != .needsBatch || [json, text].contains(.foreign)
                            #expect(plan.renaming.isEmpty == !mustRename)
                        }
                    }
                }
            }
        }
    }
}
