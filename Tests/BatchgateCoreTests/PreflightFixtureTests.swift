import Foundation
import Testing
@testable import BatchgateCore

/// The pre-flight fixtures: for every check, a manifest with the fault and one without, each in
/// Metrc's JSON and in the Track & Trace Tools CSV, with the catalog they are checked against.
/// Each group folder under `Fixtures/preflight/` holds its own `expectations.json`:
///
/// ```json
/// {"file": "tag-in-use.json", "decision": "rejected",
///  "catalog": {"items": "catalog/items.json", "packages": "catalog/packages.json", "metrc": true},
///  "today": "2026-12-05", "settings": {"tag-in-use": "warning"},
///  "findings": {"1A4…": ["tag-in-use"], "*": ["too-many-packages"]},
///  "skipped": ["source-over-used"], "text": ["is not available", "Fix"]}
/// ```
/// `findings` lists, per new tag (`*` for the manifest), every check that must fail, and no other
/// may; `skipped`, when given, is exactly the checks reported as not checked; `text` are phrases the
/// text report must hold. `metrc: true` checks as the daemon does against Metrc's catalog.
@Suite("Pre-flight fixtures")
struct PreflightFixtureTests {
    static let folder = FixtureTests.folder.appendingPathComponent("preflight")

    struct Expectation: CustomTestStringConvertible, Sendable {
        var group: String
        var file: String
        var decision: String
        var items: String?
        var packages: String?
        var metrc: Bool
        var today: String?
        var settings: [String: String]
        var findings: [String: [String]]
        var skipped: [String]?
        var text: [String]

        var testDescription: String { "\(group)/\(file)" }
        var path: URL { PreflightFixtureTests.folder.appendingPathComponent(group).appendingPathComponent(file) }
        /// The check the file is named for, and whether it is the fault or the `-ok` twin.
        var namedCheck: (check: String, faulty: Bool) {
            let stem = file.split(separator: ".").dropLast().joined(separator: ".")
            return stem.hasSuffix("-ok") ? (String(stem.dropLast(3)), false) : (stem, true)
        }
    }

    static let expectations: [Expectation] = {
        // A folder that is not there must fail loudly, not run no case.
        let groups = try! FileManager.default.contentsOfDirectory(atPath: folder.path)
        return groups.sorted().flatMap { group -> [Expectation] in
            let url = folder.appendingPathComponent(group).appendingPathComponent("expectations.json")
            let data = try! Data(contentsOf: url)
            let list = try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]
            return list.map { entry in
                let catalog = entry["catalog"] as? [String: Any]
                return Expectation(
                    group: group, file: entry["file"] as! String, decision: entry["decision"] as! String,
                    items: catalog?["items"] as? String, packages: catalog?["packages"] as? String,
                    metrc: catalog?["metrc"] as? Bool ?? false, today: entry["today"] as? String,
                    settings: entry["settings"] as? [String: String] ?? [:],
                    findings: entry["findings"] as? [String: [String]] ?? [:],
                    skipped: entry["skipped"] as? [String], text: entry["text"] as? [String] ?? [])
            }
        }
    }()

    static func report(_ expected: Expectation) throws -> ManifestReport {
        let base = folder.appendingPathComponent(expected.group)
        func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: base.appendingPathComponent(name))) }
        let items = try expected.items.map { try CatalogReader.readItems(bytes($0), fileName: $0) } ?? []
        let packages = try expected.packages.map { try CatalogReader.readPackages(bytes($0), fileName: $0) } ?? []
        var checks = CheckSettings()
        for (id, level) in expected.settings {
            checks.set(try #require(CheckID(rawValue: id), "unknown check \(id)"),
                       to: try #require(CheckLevel(rawValue: level), "unknown level \(level)"))
        }
        var checker = ManifestChecker(catalog: Catalog(items: items, packages: packages),
                                      settings: RuleSettings(checks: checks))
        checker.sourcesMustBeKnown = expected.metrc
        checker.today = expected.today
        return checker.check(fileName: expected.file, bytes: try bytes(expected.file))
    }

    /// What failed, per new tag (`*` for the manifest): check ids, sorted.
    static func failedChecks(_ report: ManifestReport) -> [String: [String]] {
        var failed: [String: [String]] = [:]
        if !report.checks.isEmpty { failed["*"] = report.checks.map(\.check.rawValue).sorted() }
        for package in report.packages where !package.checks.isEmpty {
            failed[package.tag ?? "package \(package.position.packageIndex)", default: []] += package.checks.map(\.check.rawValue)
        }
        return failed.mapValues { $0.sorted() }
    }

    @Test(arguments: expectations)
    func fixtureHasItsExpectedOutcome(_ expected: Expectation) throws {
        let report = try Self.report(expected)
        let explanation = Comment(rawValue: report.text)
        #expect(report.decision.rawValue == expected.decision, explanation)
        #expect(Self.failedChecks(report) == expected.findings.mapValues { $0.sorted() }, explanation)
        if let skipped = expected.skipped {
            #expect(Set(report.skipped.map(\.check.rawValue)) == Set(skipped), explanation)
        }
        for phrase in expected.text {
            #expect(report.text.contains(phrase), "the report lacks \(phrase.debugDescription)\n\(report.text)")
        }
        for finding in report.checkFindings(.error) + report.checkFindings(.warning) {
            #expect(!finding.message.isEmpty && !finding.fix.isEmpty, "\(finding)")
            #expect(expected.settings[finding.check.rawValue].map { $0 == finding.severity.rawValue }
                        ?? (finding.check.defaultLevel.rawValue == finding.severity.rawValue), "\(finding)")
        }
        // An error check rejects: Metrc would refuse the request.
        if !report.checkFindings(.error).isEmpty {
            #expect(report.decision == .rejected, explanation)
        }
    }

    /// Every check has its four files: the fault and its `-ok` twin, each in JSON and CSV; the
    /// fault fails the check it is named for, the twin does not, and both forms agree.
    @Test(arguments: CheckID.allCases)
    func everyCheckHasAFaultAndATwinInBothForms(_ check: CheckID) throws {
        for faulty in [true, false] {
            var outcomes: [String: (decision: String, failed: [String: [String]])] = [:]
            for form in ["json", "csv"] {
                let name = "\(check.rawValue)\(faulty ? "" : "-ok").\(form)"
                let expected = try #require(Self.expectations.first { $0.file == name }, "no fixture \(name)")
                let report = try Self.report(expected)
                let failing = Self.failedChecks(report).values.contains { $0.contains(check.rawValue) }
                #expect(failing == faulty, "\(name): \(check.rawValue) \(faulty ? "does not fail" : "fails")\n\(report.text)")
                outcomes[form] = (report.decision.rawValue, Self.failedChecks(report))
            }
            #expect(outcomes["json"]?.decision == outcomes["csv"]?.decision, "\(check.rawValue) \(faulty)")
            #expect(outcomes["json"]?.failed == outcomes["csv"]?.failed, "\(check.rawValue) \(faulty)")
        }
    }
}
