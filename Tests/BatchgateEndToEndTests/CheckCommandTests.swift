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

    @Test func aFileInAFolderWhoseNameIsNotUTF8IsNamedNotSkipped() throws {
        // A Latin-1 "é" from an old scanner or an SMB client: no Swift string holds the name, and
        // it used to be left out of the listing without a word, as if checked.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = try Data(contentsOf: Executable.packageRoot.appendingPathComponent(examples + "repackage.csv"))
        try good.write(to: folder.appendingPathComponent("a.csv"))
        for name in [Array("caf".utf8) + [0xE9] + Array(" 100%.csv".utf8), [UInt8(ascii: ".")] + [0xFF] + Array("hidden.csv".utf8)] {
            let path = Array(folder.path.utf8) + [UInt8(ascii: "/")] + name + [0]
            let fd = path.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT | O_EXCL, 0o644) } }
            try #require(fd >= 0)
            _ = good.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        // Named in --files-from, the name reaches check as text with U+FFFD for the bad byte: the
        // file is there, so "No such file" alone would mislead.
        let list = folder.appendingPathComponent(".list")
        try Data(Array(folder.path.utf8) + Array("/caf".utf8) + [0xE9] + Array(" 100%.csv\n".utf8)).write(to: list)
        let listed = try Executable.run(["check", "--files-from", list.path])
        #expect(listed.status == 66)
        #expect(listed.standardError.contains("No such file or directory; if the file is there, its name holds bytes that are not UTF-8"),
                "\(listed.standardError)")

        let result = try Executable.run(["check", "--format", "json", folder.path])
        #expect(result.status == 66, "a file that was not checked is not a pass")
        #expect(result.standardError.contains(
            "cannot check $'\(folder.path)/caf\\xe9 100%.csv': its name is not UTF-8; rename it (the daemon renames such a file in its inbox to caf%E9 100%25.csv"),
                "\(result.standardError)")
        #expect(!result.standardError.contains("hidden"), "a dot-file is left alone, whatever its name's bytes")
        #expect(result.standardOutput.split(separator: "\n").count == 1, "the other file is still checked")
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

    @Test func checkLevelsReachTheRuleSettingsTheLastOneCounting() throws {
        let settings = try ruleSettings(["--check", "too-many-packages=off", "--check", "source-lab-failed=error",
                                         "--check", "date-future=error", "--check", "date-future=off"])
        #expect(settings.checks == CheckSettings([.tooManyPackages: .off, .sourceLabFailed: .error, .dateFuture: .off]))
        #expect(settings.itemChange == RuleSettings().itemChange, "the other rules keep their defaults")
        #expect(try ruleSettings([]).checks == CheckSettings())
        for check in CheckID.allCases {
            for level in CheckLevel.allCases {
                #expect(try ruleSettings(["--check", "\(check.rawValue)=\(level.rawValue)"]).checks.level(check) == level)
            }
        }
    }

    /// `--check` is a rule setting: refused with `--config`, which gives the rules.
    @Test func checkLevelsAreRefusedWithAConfig() throws {
        let result = try Executable.run(["check", "--config", "config/batchgate.yaml", "--check", "too-many-packages=off", manifest])
        #expect(result.status == 64)
        #expect(result.standardError.contains("--same-form-steps and --check, or leave out --config"), "\(result.standardError)")
        #expect(result.standardOutput.isEmpty)
    }

    /// `--help` names every check, with its default, so that no one has to guess an id.
    @Test func helpListsEveryCheckAndItsDefault() throws {
        let help = try Executable.run(["check", "--help"])
        #expect(help.status == 0)
        let text = help.standardOutput.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for check in CheckID.allCases {
            #expect(text.contains("\(check.rawValue) (\(check.defaultLevel.rawValue))"), "--help lacks \(check.rawValue)")
        }
        #expect(text.contains("--check <id=level>"))
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
        (["--check", "tag-in-uze=off"], "The value 'tag-in-uze=off' is invalid for '--check <id=level>': unknown check \"tag-in-uze\"; "
            + "the checks are " + CheckID.allCases.map(\.rawValue).joined(separator: ", ")),
        (["--check", "tag-in-use=warn"], "'tag-in-use=warn' is invalid for '--check <id=level>': unknown level \"warn\"; "
            + "the levels are error, warning, off"),
        (["--check", "tag-in-use"], "'tag-in-use' is invalid for '--check <id=level>': write ID=LEVEL, such as too-many-packages=off"),
        (["--check", "=off"], "no check named; the checks are tag-in-use, "),
        (["--check", "tag-in-use="], "no level given; the levels are error, warning, off"),
        (["--check", "Tag-In-Use=off"], "unknown check \"Tag-In-Use\""),
    ])
    func badValuesAreUsageErrorsNamingTheFlag(flags: [String], message: String) throws {
        let result = try Executable.run(["check"] + flags + ["--", manifest])
        #expect(result.status == 64)
        #expect(result.standardError.contains(message), "\(result.standardError)")
        #expect(result.standardOutput.isEmpty, "nothing is checked")
    }
}

/// Manifests a pre-flight check fails for, the rules passing them.
enum PreflightManifests {
    /// Eleven packages of buds repackaged into buds, each with `actualDate`: accepted by the
    /// rules, one package more than Metrc is reported to take in one request.
    static func elevenPackages(actualDate: String = "2026-03-12") -> String {
        let packages = (1...11).map { number in
            let suffix = String(repeating: "0", count: 6 - String(number).count) + String(number)
            return """
                {"Tag": "1A4FF0300000022000\(suffix)", "Item": "Buds", "ItemCategory": "Buds", "Quantity": 1,
                 "UnitOfMeasure": "Grams", "ActualDate": "\(actualDate)",
                 "Ingredients": [{"Package": "1A4FF0100000022000\(suffix)", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}
                """
        }
        return "[" + packages.joined(separator: ",\n") + "]"
    }
}

/// `batchgate check --check`: a check's level decides what its failure does to the exit status.
@Suite("batchgate check --check")
struct CheckLevelTests {
    /// A manifest file holding `contents`, in a folder the caller removes.
    func file(_ contents: String) throws -> (folder: URL, path: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("eleven.json")
        try Data(contents.utf8).write(to: file)
        return (folder, file.path)
    }

    @Test func aCheckAtErrorRejectsAtWarningReportsAndOffIsSilent() throws {
        let (folder, path) = try file(PreflightManifests.elevenPackages())
        defer { try? FileManager.default.removeItem(at: folder) }
        let byDefault = try Executable.run(["check", path])
        #expect(byDefault.status == 0, "a warning keeps the decision: \(byDefault.standardOutput)")
        #expect(byDefault.standardOutput.contains("warning [too-many-packages]"), "\(byDefault.standardOutput)")
        let error = try Executable.run(["check", "--check", "too-many-packages=error", path])
        #expect(error.status == 2, "\(error.standardOutput)")
        #expect(error.standardOutput.contains("error [too-many-packages]"), "\(error.standardOutput)")
        let off = try Executable.run(["check", "--check", "too-many-packages=off", path])
        #expect(off.status == 0)
        #expect(!off.standardOutput.contains("too-many-packages"), "\(off.standardOutput)")
    }

    /// `check` gives the checker today's date from the clock: a date far ahead is in the future,
    /// one long past is not.
    @Test func todayComesFromTheClock() throws {
        let (folder, future) = try file(PreflightManifests.elevenPackages(actualDate: "2999-01-01"))
        defer { try? FileManager.default.removeItem(at: folder) }
        let ahead = try Executable.run(["check", "--format", "json", "--check", "too-many-packages=off", future])
        #expect(ahead.standardOutput.contains("\"rule\":\"date-future\""), "\(ahead.standardOutput)")
        try Data(PreflightManifests.elevenPackages(actualDate: "2001-01-01").utf8).write(to: URL(fileURLWithPath: future))
        let past = try Executable.run(["check", "--format", "json", "--check", "too-many-packages=off", future])
        #expect(past.status == 0)
        #expect(!past.standardOutput.contains("date-future"), "\(past.standardOutput)")
    }
}
