import Foundation
import Testing
import BatchgateCore
@testable import BatchgateDaemon
@testable import BatchgateSystem
@testable import BatchgateConfig

/// The router with fsync off, where each route is moved by the worker that wrote its reports,
/// right after them, instead of in a step of its own after a flush (``RouterTests`` run with fsync
/// on).
@Suite("Router without fsync")
struct RouterWithoutFsyncTests {
    let needsBatch = """
        [{"Tag": "1A4FF0300000022000000001", "Item": "Resin", "ItemCategory": "Concentrate", "Quantity": 1, "UnitOfMeasure": "Grams",
          "Ingredients": [{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}]
        """
    let accepted = """
        [{"Tag": "1A4FF0300000022000000002", "Item": "Flower", "ItemCategory": "Buds", "Quantity": 1, "UnitOfMeasure": "Grams",
          "Ingredients": [{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}]
        """

    /// A batch large enough to be spread over the workers: every manifest lands in its outcome
    /// folder with its two reports beside it and one audit line, a name taken in its folder goes
    /// in as `.2`, and nothing is left in the inbox or `processing/`.
    @Test func aBatchIsRoutedWithEachManifestBesideItsReports() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-nofsync-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let layout = StateLayout(root: root.path)
        try layout.prepare()
        let audit = try AuditLog(path: layout.auditLog)
        let quiet = Logger(level: .error, fd: open("/dev/null", O_WRONLY))
        let router = try Router(layout: layout, checker: ManifestChecker(), syncToDisk: false, log: quiet, audit: audit)
        func folder(_ name: String) -> URL { root.appendingPathComponent(name) }
        func names(_ name: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: folder(name).path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        }

        var expected: [String: [String]] = ["accepted": [], "needs-batch": [], "rejected": []]
        for number in 0..<40 {
            let name = "m\(number).json"
            let (contents, decision) = switch number % 3 {
            case 0: (needsBatch, "needs-batch")
            case 1: (accepted, "accepted")
            default: ("not a manifest", "rejected")
            }
            try Data(contents.utf8).write(to: folder("inbox").appendingPathComponent(name))
            expected[decision]!.append(name)
        }
        // Someone's file under the name the first manifest would take.
        try Data("someone else's".utf8).write(to: folder("needs-batch").appendingPathComponent("m0.json"))

        let dropped = (0..<40).map { "m\($0).json" }
        let result = router.route(dropped)
        #expect(result.outcomes.count == 40)
        #expect(result.outcomes.first { $0.entry.name == "m0.json" }?.entry.finalName == "m0.2.json")
        #expect(names("inbox").isEmpty)
        #expect(names("processing").isEmpty)
        for (decision, routed) in expected {
            let finalNames = routed.map { $0 == "m0.json" ? "m0.2.json" : $0 } + (decision == "needs-batch" ? ["m0.json"] : [])
            let files = finalNames.flatMap { name in
                name == "m0.json" ? [name] : [name, name + ".report.json", name + ".report.txt"]
            }
            #expect(names(decision) == files.sorted(), "\(decision)")
        }
        let lines = try String(contentsOf: URL(fileURLWithPath: layout.auditLog), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 40)
        #expect(try String(contentsOf: folder("needs-batch").appendingPathComponent("m0.json"), encoding: .utf8) == "someone else's")
    }
}
