import BatchgateCore
import Foundation
import Testing
@testable import batchgate

@Suite("batchgate check")
struct CheckCommandTests {
    let examples = "config/examples/"
    let fixtures = "Tests/BatchgateCoreTests/Fixtures/"

    @Test func exitStatusFollowsTheWorstDecision() throws {
        #expect(try Executable.run(["check", examples + "vape-fill-marked.json", examples + "repackage.csv"]).status == 0)
        #expect(try Executable.run(["check", examples + "vape-fill-marked.json", examples + "concentrate-run.json"]).status == 1)
        #expect(try Executable.run(["check", examples + "concentrate-run.json", fixtures + "bad/empty.json"]).status == 2)
    }

    @Test func usageErrorsExitWith64() throws {
        let none = try Executable.run(["check"])
        #expect(none.status == 64)
        #expect(none.standardError.contains("file"))
        #expect(try Executable.run(["check", "--format", "xml", examples + "repackage.csv"]).status == 64)
        #expect(try Executable.run(["check", "--max-size", "lots", examples + "repackage.csv"]).status == 64)
        for huge in ["99999999999G", "9223372036854775807", "2G", "0"] {
            let result = try Executable.run(["check", "--max-size", huge, examples + "repackage.csv"])
            #expect(result.status == 64, "--max-size \(huge)")
        }
        #expect(try Executable.run(["check", "--no-such-flag", examples + "repackage.csv"]).status == 64)
    }

    @Test func aFileThatCannotBeOpenedExitsWith66AndTheOthersAreStillChecked() throws {
        let result = try Executable.run(["check", "--format", "json", "no/such/file.json", examples + "repackage.csv"])
        #expect(result.status == 66)
        #expect(result.standardError.contains("cannot open no/such/file.json: No such file or directory"))
        #expect(result.standardOutput.contains("\"decision\":\"accepted\""))
    }

    @Test func aDirectoryStandsForItsFilesAndFilesFromAddsMore() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = try Data(contentsOf: Executable.packageRoot.appendingPathComponent(examples + "repackage.csv"))
        try good.write(to: folder.appendingPathComponent("b.csv"))
        try good.write(to: folder.appendingPathComponent("a.csv"))
        for ignored in [".hidden.json", "upload.json.part", "x.tmp", "y.crdownload", "z.csv~", "sub/inner.json"] {
            try Data("garbage".utf8).write(to: folder.appendingPathComponent(ignored))
        }
        let result = try Executable.run(["check", "--format", "json", folder.path])
        #expect(result.status == 0, "\(result.standardOutput)")
        let files = result.standardOutput.split(separator: "\n").map {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["file"] as? String
        }
        #expect(files == [folder.path + "/a.csv", folder.path + "/b.csv"])

        let list = folder.appendingPathComponent("list.txt")
        try Data("\(folder.path)/a.csv\n\n\(folder.path)/.hidden.json\n".utf8).write(to: list)
        let listed = try Executable.run(["check", "--files-from", list.path])
        #expect(listed.status == 2, "a file named explicitly is checked even if a folder scan would skip it")
        #expect(try Executable.run(["check", "--files-from", "/no/such/list"]).status == 66)
    }

    @Test func jsonFormatPrintsOneObjectPerFileInTheContractShape() throws {
        let files = [examples + "concentrate-run.json", examples + "repackage.csv", fixtures + "bad/quantity-zero.json"]
        let result = try Executable.run(["check", "--format", "json"] + files)
        #expect(result.status == 2)
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.count == 3)
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.map { $0["file"] as? String } == files)
        #expect(objects.map { $0["decision"] as? String } == ["needs-batch", "accepted", "rejected"])

        let package = try #require((objects[0]["packages"] as? [[String: Any]])?.first)
        for key in ["tag", "item", "category", "productionBatchRequired", "isProductionBatch", "productionBatchNumber",
                    "rules", "status", "messages"] {
            #expect(package.keys.contains(key), "package key \(key)")
        }
        #expect(package["rules"] as? [String] == ["category-change", "form-change"])
        #expect(package["status"] as? String == "needs-batch")
        #expect(package["productionBatchRequired"] as? Bool == true)
        #expect(package["productionBatchNumber"] is NSNull)
        #expect((package["messages"] as? [String])?.last?.hasPrefix("Fix: tick Production Batch") == true)
        // The verdict in a shape a program reads without parsing English.
        let findings = try #require(package["findings"] as? [[String: Any]])
        #expect(findings.map { $0["rule"] as? String } == ["category-change", "form-change"])
        #expect(findings.allSatisfy { $0["severity"] as? String == "error" })
        let evidence = try #require(findings.first?["evidence"] as? [String: Any])
        #expect(evidence["field"] as? String == "Ingredients[0].ItemCategory")
        #expect(evidence["value"] as? String == "Buds")
        #expect(evidence["origin"] as? String == "manifest")
        #expect(evidence["line"] is Int)
        #expect((package["warnings"] as? [Any])?.isEmpty == true)

        let errors = try #require(objects[2]["errors"] as? [[String: Any]])
        #expect(errors.first?["field"] as? String == "Quantity")
        #expect(errors.first?["line"] as? Int == 19)
        #expect((errors.first?["message"] as? String)?.contains("must be greater than 0") == true)
    }

    @Test func textFormatShowsVerdictReasonsAndFix() throws {
        let result = try Executable.run(["check", examples + "concentrate-run.json"])
        #expect(result.status == 1)
        let text = result.standardOutput
        #expect(text.contains("concentrate-run.json: NEEDS BATCH"))
        #expect(text.contains("NEEDS BATCH: a production batch is required (category-change, form-change)"))
        #expect(text.contains("error [category-change]: Ingredient 1A4FF0100000022000000801 is Buds and the new package is Concentrate, so the product changes category."))
        #expect(text.contains("Fix: tick Production Batch"))
    }

    @Test func catalogFilesFillInCategories() throws {
        let manifest = fixtures + "catalog/needs-items.json"
        #expect(try Executable.run(["check", manifest]).status == 2)
        let withItems = try Executable.run(["check", "--items", fixtures + "catalog/items.json",
                                            "--packages", fixtures + "catalog/packages.csv", manifest])
        #expect(withItems.status == 1, "\(withItems.standardOutput)")
        #expect(withItems.standardOutput.contains("NEEDS BATCH"))
    }

    @Test func badCatalogFilesAreNamed() throws {
        let missing = try Executable.run(["check", "--items", "nope.json", examples + "repackage.csv"])
        #expect(missing.status == 66)
        #expect(missing.standardError.contains("nope.json"))
        let broken = try Executable.run(["check", "--items", fixtures + "bad/trailing-comma.json", examples + "repackage.csv"])
        #expect(broken.status == 64)
        #expect(broken.standardError.contains("catalog file Tests/BatchgateCoreTests/Fixtures/bad/trailing-comma.json, line 25"))
    }

    @Test func maxSizeRejectsLargerFiles() throws {
        let path = examples + "concentrate-run.json"
        let size = try FileManager.default.attributesOfItem(atPath: Executable.packageRoot.appendingPathComponent(path).path)[.size] as! Int
        let result = try Executable.run(["check", "--max-size", "100", path])
        #expect(result.status == 2)
        #expect(result.standardOutput.contains("the file is \(size) bytes, over the 100-byte limit for a manifest"))
    }

    @Test func sameFormStepsAreConfigurable() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("m.json")
        try Data("""
            {"Tag": "1A4FF0100000022000000001", "Item": "Buds", "ItemCategory": "Buds", "Quantity": 1,
             "UnitOfMeasure": "Grams", "ProcessingStep": "Trimming",
             "Ingredients": [{"Package": "1A4FF0100000022000000002", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}
            """.utf8).write(to: file)
        #expect(try Executable.run(["check", file.path]).status == 1)
        #expect(try Executable.run(["check", "--same-form-steps", "Repackage", "Trimming", "--", file.path]).status == 0)
    }
}

/// The rule settings `check` takes as flags: each reaches the rules engine's settings, and a bad
/// value is a usage error naming the flag.
@Suite("batchgate check rule flags")
struct CheckRuleFlagTests {
    let manifest = "config/examples/repackage.csv"

    /// The rule settings `check` would run with, given `flags` and a manifest.
    func ruleSettings(_ flags: [String]) throws -> RuleSettings {
        try CheckCommand.parse(flags + ["--", manifest]).ruleSettings
    }

    @Test func withoutFlagsTheRulesKeepTheirDefaults() throws {
        #expect(try ruleSettings([]) == RuleSettings())
    }

    @Test func eachFlagReachesTheRuleSettings() throws {
        let settings = try ruleSettings(["--item-change", "never", "--additive-words", "MCT", "coconut oil",
                                         "--same-form-steps", "Split", "Trimming"])
        #expect(settings == RuleSettings(itemChange: .never, additiveWords: ["MCT", "coconut oil"],
                                         sameFormSteps: ["Split", "Trimming"]))
        for itemChange in RuleSettings.ItemChange.allCases {
            #expect(try ruleSettings(["--item-change", itemChange.rawValue]).itemChange == itemChange)
        }
    }

    @Test func noAdditiveWordsReadsNone() throws {
        let settings = try ruleSettings(["--no-additive-words"])
        #expect(settings.additiveWords.isEmpty)
        #expect(settings.sameFormSteps == RuleSettings.defaultSameFormSteps)
    }

    /// The binary takes each value: whatever it decides, it is not a usage error.
    @Test(arguments: [
        ["--item-change", "concentrates"], ["--item-change", "always"], ["--item-change", "never"],
        ["--additive-words", "terpene", "distillate blend"], ["--no-additive-words"],
    ])
    func theBinaryTakesGoodValues(flags: [String]) throws {
        let result = try Executable.run(["check"] + flags + ["--", manifest])
        #expect([0, 1].contains(result.status), "\(result.standardError)")
    }

    /// A bad value, and a piece of the message that names the flag and says what to give.
    @Test(arguments: [
        (["--item-change", "sometimes"], "'sometimes' is invalid for '--item-change <when>'. Please provide one of 'concentrates', 'always' or 'never'"),
        (["--item-change", "Always"], "'Always' is invalid for '--item-change <when>'"),
        (["--additive-words", "terpene", "**"], "--additive-words: \"**\" has no letter or digit to look for"),
        (["--additive-words", ""], "--additive-words: \"\" has no letter or digit to look for"),
        (["--additive-words"], "Missing value for '--additive-words <word>'"),
        (["--no-additive-words", "--additive-words", "MCT"], "give either --additive-words or --no-additive-words, not both"),
        (["--same-form-steps", "Split", "**"], "--same-form-steps: \"**\" has no letter or digit to look for"),
    ])
    func badValuesAreUsageErrorsNamingTheFlag(flags: [String], message: String) throws {
        let result = try Executable.run(["check"] + flags + ["--", manifest])
        #expect(result.status == 64)
        #expect(result.standardError.contains(message), "\(result.standardError)")
        #expect(result.standardOutput.isEmpty, "nothing is checked")
    }
}
