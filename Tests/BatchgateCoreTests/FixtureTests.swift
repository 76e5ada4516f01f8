import Foundation
import Testing
@testable import BatchgateCore

/// The fixture files: every bulletin example and counter-example in JSON and CSV, every class of
/// bad input, and catalog look-ups in both file forms, each with its expected outcome.
@Suite("Fixtures")
struct FixtureTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    struct Expectation: CustomTestStringConvertible, Sendable {
        var file: String
        var decision: String
        var items: String?
        var packagesFile: String?
        var packages: [String: (status: String, rules: [String])]
        var errors: [(field: String?, line: Int?)]

        var testDescription: String {
            [file, items, packagesFile].compactMap { $0 }.joined(separator: " + ")
        }
    }

    static let expectations: [Expectation] = {
        let data = try! Data(contentsOf: folder.appendingPathComponent("expectations.json"))
        let list = try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        return list.map { entry in
            let catalog = entry["catalog"] as? [String: Any]
            var packages: [String: (String, [String])] = [:]
            for (tag, value) in entry["packages"] as? [String: [String: Any]] ?? [:] {
                packages[tag] = (value["status"] as! String, value["rules"] as! [String])
            }
            let errors = (entry["errors"] as? [[String: Any]] ?? []).map { ($0["field"] as? String, $0["line"] as? Int) }
            return Expectation(file: entry["file"] as! String, decision: entry["decision"] as! String,
                               items: catalog?["items"] as? String, packagesFile: catalog?["packages"] as? String,
                               packages: packages, errors: errors)
        }
    }()

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: folder.appendingPathComponent(path)))
    }

    @Test(arguments: expectations)
    func fixtureHasItsExpectedOutcome(_ expected: Expectation) throws {
        let items = try expected.items.map { try CatalogReader.readItems(Self.bytes($0), fileName: $0) } ?? []
        let packages = try expected.packagesFile.map { try CatalogReader.readPackages(Self.bytes($0), fileName: $0) } ?? []
        let checker = ManifestChecker(catalog: Catalog(items: items, packages: packages))
        let report = checker.check(fileName: expected.file, bytes: try Self.bytes(expected.file))
        let explanation = Comment(rawValue: report.text)

        #expect(report.decision.rawValue == expected.decision, explanation)
        for (tag, want) in expected.packages {
            let verdict = report.packages.first { $0.tag == tag }
            #expect(verdict != nil, "no package \(tag)")
            #expect(verdict?.status.rawValue == want.status, "\(tag)")
            #expect(verdict?.rules.map(\.rawValue).sorted() == want.rules.sorted(), "\(tag)")
        }
        if !expected.packages.isEmpty {
            #expect(report.packages.count == expected.packages.count, explanation)
        }
        for error in expected.errors {
            let found = report.errors.contains { issue in
                (error.field == nil || issue.field == error.field) && (error.line == nil || issue.line == error.line)
            }
            #expect(found, "expected an error on field \(error.field ?? "-") line \(error.line.map(String.init) ?? "-"); got \(report.errors.map { "\($0.field ?? "-")@\($0.line ?? 0): \($0.message)" })")
        }
        if report.decision == .rejected {
            #expect(!report.errors.isEmpty, "a rejected file says why")
            #expect(report.errors.allSatisfy { !$0.message.isEmpty })
        }
        // An unknown category names the item or tag and the file to add it to.
        for error in report.errors where error.field == "ItemCategory" || error.field == "IngredientItemCategory" {
            #expect(error.message.contains("items file") || error.message.contains("packages file"), "\(error.message)")
            #expect(error.message.contains("\"") || error.message.contains("tag "), "\(error.message)")
        }
    }

    @Test func everyCaseHasBothFormsAndTheSameOutcome() throws {
        let cases = Self.expectations.filter { $0.file.hasPrefix("cases/") }
        let byName = Dictionary(grouping: cases) { ($0.file as NSString).deletingPathExtension }
        #expect(byName.count >= 14)
        for (name, forms) in byName {
            #expect(Set(forms.map { ($0.file as NSString).pathExtension }) == ["json", "csv"], "\(name)")
            #expect(Set(forms.map(\.decision)).count == 1, "\(name): JSON and CSV decide alike")
        }
    }
}
