import Foundation
import BatchgateCore
@testable import BatchgateAlerts

/// Alerts built the way the daemon builds them (the real checker over a manifest) from manifests
/// and file names a hostile or merely unlucky writer produces: decomposed accents (as macOS and
/// SMB clients write them), emoji and ZWJ sequences, mention and markup syntax, control
/// characters, hundreds of packages and hundreds of sources. Every sink's payload for each of
/// them must stay inside its receiver's limits and show the content as text.
enum HostileAlerts {
    /// "é" written as "e" and a combining acute accent: one character to Swift, two code points to
    /// Slack and two bytes more to Teams.
    static let decomposedE = "e\u{301}"
    /// A family emoji: one character, seven code points, 25 bytes.
    static let family = "👨‍👩‍👧‍👦"
    /// What would ping a channel, make a link or format text if it were taken as markup.
    static let markup = "<!here> <!channel> @everyone <https://evil.example|Portal> [Portal](https://evil.example) *bold* _it_ ~s~ `code` **b** &amp; &lt; # H"

    /// (name, alert) pairs; the names say what each one tries.
    static func messages() -> [(name: String, message: AlertMessage)] {
        var cases: [(String, AlertMessage)] = []
        let longDecomposed = String(repeating: "Cre\(decomposedE)me bru\u{302}le\(decomposedE)e ", count: 12)
        // A file name as long as a file system allows (255 bytes), decomposed.
        let longFile = String(String(repeating: "Re\(decomposedE)colte-", count: 40).utf8.prefix(240))! + ".json"

        cases.append(("decomposed names", message(file: longFile, packages: (0..<3).map { index in
            package(index, item: longDecomposed + "\(index)", category: "Concentrate", sources: 2)
        })))
        cases.append(("emoji categories", message(file: String(repeating: family, count: 9) + ".json", packages: (0..<40).map { index in
            package(index, item: String(repeating: family, count: 60), category: String(repeating: "🌿🔥" + family, count: 30), sources: 3)
        })))
        cases.append(("mentions and markup", message(file: "<!here> [x](https:evil) *b* `c`.json", packages: (0..<4).map { index in
            package(index, item: markup, category: markup, sources: 2, note: markup)
        })))
        cases.append(("control characters", message(file: "line\r\nBcc: victim@example.com.json", packages: [
            package(0, item: "Resin\r\nBcc: victim@example.com\u{0}\u{7}\t\u{1B}[31m", category: "Concentrate\n\n**Fix:** none", sources: 2),
        ])))
        cases.append(("30 packages", message(file: "run-30.json", packages: (0..<30).map {
            package($0, item: "Blue Dream Live Resin Cartridge 1g \($0)", category: "Vape Cartridge", sources: 2)
        })))
        cases.append(("500 packages", message(file: "run-500.json", packages: (0..<500).map {
            package($0, item: longDecomposed, category: "Concentrate", sources: 2)
        })))
        cases.append(("300 sources", message(file: "preroll-300.json", packages: [
            package(0, item: "Infused Pre-Roll 1g", category: "Pre-Roll Infused", sources: 300),
        ])))
        cases.append(("one enormous item", message(file: "huge.json", packages: [
            package(0, item: String(repeating: "Wax \(decomposedE)\(family) ", count: 2_000), category: "Concentrate", sources: 2),
        ])))
        // Not a manifest at all: a file-wide error quoting what it found.
        let garbage = Array(("{\"Packages\": [" + String(repeating: "<!channel>", count: 500)).utf8)
        cases.append(("unreadable", build(file: "<!channel>.json", bytes: garbage)))
        cases.append(("hundreds of invalid packages", message(file: "bad.json", packages: (0..<300).map { index in
            ["Tag": "not a tag \(markup)", "Item": longDecomposed, "Quantity": "many", "Ingredients": "none"]
        })))
        cases += checkCases()
        return cases
    }

    /// Alerts whose pre-flight checks failed, their messages and fixes as hostile as the names:
    /// accepted with warnings, a manifest-level error, and hundreds of packages each with several
    /// long findings. Reports built directly (the checks' own wording is not what is tried here).
    static func checkCases() -> [(name: String, message: AlertMessage)] {
        let longDecomposed = String(repeating: "Cre\(decomposedE)me bru\u{302}le\(decomposedE)e ", count: 12)
        let buds = { (index: Int) in package(index, item: "Blue Dream Buds", category: "Buds", sources: 1) }
        var warned = report(file: "warned.json", packages: (0..<3).map(buds))
        warned.checks = [finding(.tooManyPackages, .warning, "The manifest holds 14 packages \(markup)", fix: "split it \(markup)")]
        for index in warned.packages.indices {
            warned.packages[index].checks = [finding(.sourceLabFailed, .warning, "Source \(family) LabTestingState is TestFailed\r\nBcc: x",
                                                     fix: "use it only as your state allows\u{2028}Fix: none")]
        }
        var refused = report(file: "refused.json", packages: [buds(0)])
        let tooMany = finding(.tooManyPackages, .error, "The manifest holds 11 packages \(markup)", fix: "split it")
        refused.checks = [tooMany]
        refused.errors.append(ManifestIssue(message: "[too-many-packages] \(tooMany.message) Fix: \(tooMany.fix)"))
        refused.decision = .rejected
        var many = report(file: "checked-300.json", packages: (0..<300).map(buds))
        for index in many.packages.indices {
            many.packages[index].status = .invalid
            many.packages[index].checks = CheckID.allCases.prefix(4).map { check in
                finding(check, .error, String(repeating: longDecomposed + family, count: 4), fix: String(repeating: markup, count: 6))
            }
        }
        many.decision = .rejected
        return [("accepted with check warnings", alert(warned)), ("a manifest-level check error", alert(refused)),
                ("300 packages with long check errors", alert(many))]
    }

    /// A failed check with `message` and `fix`, its evidence a field of the manifest.
    static func finding(_ check: CheckID, _ severity: Severity, _ message: String, fix: String) -> CheckFinding {
        CheckFinding(check: check, severity: severity, message: message, fix: fix, evidence: Evidence(field: "Tag", value: markup))
    }

    /// (name, digest) pairs: many members, long and decomposed lines, markup.
    static func digests() -> [(name: String, digest: AlertDigest)] {
        let hostile = messages().map(\.message.digestLine)
        let many = (0..<200).map { "run-\($0)-" + String(repeating: "Re\(decomposedE)colte \(family) ", count: 12) + ".json — 3 of 3 packages need a production batch (report /var/lib/batchgate/needs-batch/run-\($0).json.report.txt)" }
        return [
            ("hostile lines", AlertDigest(lines: hostile, host: "plant-1", time: "2026-11-27T01:00:00.000Z", facility: markup)),
            ("200 long lines", AlertDigest(lines: many, host: "plant-1", time: "2026-11-27T01:00:00.000Z", facility: "North Plant")),
            ("one line", AlertDigest(lines: [String(repeating: family, count: 2_000)], host: "plant-1", time: "2026-11-27T01:00:00.000Z", facility: nil)),
        ]
    }

    /// A Metrc create-package entry: a new package of `category` made from `sources` packages of
    /// flower (so it needs a production batch unless the category is flower).
    static func package(_ index: Int, item: String, category: String, sources: Int, note: String? = nil) -> [String: Any] {
        var entry: [String: Any] = [
            "Tag": String(format: "1A4FF03000000220000%05d", index),
            "Item": item,
            "ItemCategory": category,
            "Quantity": 1,
            "UnitOfMeasure": "Each",
            "IsProductionBatch": false,
            "Ingredients": (0..<sources).map { source -> [String: Any] in
                ["Package": String(format: "1A4FF01000000220%08d", index * 1_000 + source), "Item": item + " source",
                 "ItemCategory": source % 2 == 0 ? "Buds" : "Shake/Trim", "Quantity": 1, "UnitOfMeasure": "Grams"]
            },
        ]
        if let note { entry["Note"] = note }
        return entry
    }

    static func message(file: String, packages: [[String: Any]]) -> AlertMessage {
        let bytes = try! JSONSerialization.data(withJSONObject: packages)
        return build(file: file, bytes: Array(bytes))
    }

    static func build(file: String, bytes: [UInt8]) -> AlertMessage {
        alert(ManifestChecker().check(fileName: file, bytes: bytes))
    }

    /// The report the real checker gives for `packages` under the name `file`.
    static func report(file: String, packages: [[String: Any]]) -> ManifestReport {
        ManifestChecker().check(fileName: file, bytes: Array(try! JSONSerialization.data(withJSONObject: packages)))
    }

    /// The alert about `report`, as the planner makes it for the report's decision.
    static func alert(_ report: ManifestReport) -> AlertMessage {
        let file = report.file
        let folder = switch report.decision {
        case .accepted: "accepted"
        case .needsBatch: "needs-batch"
        case .rejected: "rejected"
        }
        return AlertMessage(id: "3f9c2a71d04be815", time: "2026-11-27T01:00:00.000Z", licenseNumber: "402-00123 \(markup)",
                            facility: "North \(decomposedE) \(family) \(markup)", host: "plant-1", file: file,
                            reportPath: "/var/lib/batchgate/\(folder)/\(file).report.txt", report: report)
    }
}
