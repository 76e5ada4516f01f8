import Foundation
import Testing
@testable import BatchgateCore

/// Whatever the bytes, the checker ends with a report, never a crash, and a rejected report says why.
@Suite("Hostile input")
struct HostileInputTests {
    func rejected(_ bytes: [UInt8], name: String = "m.json", maximumSize: Int = TextInput.defaultMaximumSize) -> ManifestReport {
        let report = ManifestChecker(maximumSize: maximumSize).check(fileName: name, bytes: bytes)
        #expect(report.decision == .rejected, "\(name)")
        #expect(!report.errors.isEmpty)
        return report
    }

    @Test func controlCharactersInValuesAreEscapedInTheTextReport() {
        let manifest = #"{"Source": "scanner\u001b[31m red\nline", "Packages": [{"Tag": "1A4FF0300000022000000001", "Item": "Buds\u0007", "ItemCategory": "Buds", "Quantity": 1, "UnitOfMeasure": "Grams", "Ingredients": [{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}]}"#
        let text = ManifestChecker().check(fileName: "m.json", bytes: Array(manifest.utf8)).text
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        #expect(text.contains("source: scanner\\x1B[31m red\\nline"))
        #expect(text.contains("Buds\\x07"))
    }

    @Test func aFileOfManyEmptyPackagesGetsAShortReport() {
        // 300,000 empty objects once made a 400 MB report: now one error says to split the file.
        let many = Array(("[" + Array(repeating: "{}", count: 300_000).joined(separator: ",") + "]").utf8)
        let report = rejected(many)
        #expect(report.packages.isEmpty)
        #expect(report.errors.count == 1)
        #expect(report.errors[0].message.contains("300000 packages"))
        #expect(report.jsonLine().count < 2_000)
    }

    @Test func aReportListsAtMostAThousandErrors() {
        let bad = Array(("[" + Array(repeating: "{}", count: 2_000).joined(separator: ",") + "]").utf8)
        let report = rejected(bad)
        #expect(report.errors.count == ManifestChecker.maximumListedErrors + 1)
        #expect(report.errors.last?.message.hasPrefix("… and ") == true)
    }

    @Test func nestingAHundredThousandLevelsDeep() {
        let report = rejected(Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8))
        #expect(report.errors.first?.message.contains("nested more than") == true)
        _ = rejected(Array((String(repeating: "{\"Packages\":", count: 100_000)).utf8))
    }

    @Test func aFileOverTheSizeCap() {
        let report = rejected(Array(repeating: UInt8(ascii: " "), count: 2_001), maximumSize: 2_000)
        #expect(report.errors.first?.message == "the file is 2001 bytes, over the 2000-byte limit for a manifest")
    }

    @Test func binaryGarbageOfEveryLength() {
        var generator = SeededGenerator(seed: 0x5EED)
        for length in [1, 2, 3, 7, 64, 4_096] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for name in ["g.json", "g.csv", "g.txt", "g"] {
                let report = ManifestChecker().check(fileName: name, bytes: bytes)
                // Random bytes may by chance be valid text, but they never make a valid manifest.
                #expect(report.decision == .rejected)
            }
        }
    }

    @Test func everyPrefixOfAGoodManifestIsHandled() {
        let good = Array("[\(packageJSON(extra: "\"Additives\": [\"Sugar\"], \"Note\": \"é 🌿\""))]".utf8)
        #expect(ManifestChecker().check(fileName: "m.json", bytes: good).decision == .needsBatch)
        for length in 0..<good.count {
            let report = ManifestChecker().check(fileName: "m.json", bytes: Array(good[..<length]))
            #expect(report.decision == .rejected, "prefix of \(length) bytes")
        }
    }

    @Test func unsupportedExtensionsAndSniffing() {
        let report = rejected(Array("[]".utf8), name: "scan.pdf")
        #expect(report.errors.first?.message == "'.pdf' files are not manifests: use .json or .csv (or .txt holding JSON or CSV)")
        let json = Array("\u{FEFF}  \n[\(packageJSON(category: "Buds"))]".utf8)
        #expect(ManifestChecker().check(fileName: "drop.TXT", bytes: json).format == .json)
        #expect(ManifestChecker().check(fileName: "drop", bytes: json).decision == .accepted)
        #expect(ManifestChecker().check(fileName: "drop.txt", bytes: Array("Tag,Qty\n".utf8)).format == .csv)
        #expect(ManifestChecker().check(fileName: "UPPER.JSON", bytes: json).decision == .accepted)
        #expect(ManifestChecker().check(fileName: "dir.v2/drop", bytes: json).decision == .accepted)
    }

    @Test func nullsEverywhere() {
        let report = rejected(Array("""
            [null, {"Tag": null, "Item": null, "Quantity": null, "UnitOfMeasure": null, "IsProductionBatch": null,
                    "Ingredients": [null, {"Package": null, "Quantity": null, "UnitOfMeasure": null}]}]
            """.utf8))
        #expect(Set(report.errors.compactMap(\.field)).isSuperset(of: ["Tag", "Item", "Quantity", "UnitOfMeasure", "Ingredients", "Package"]))
    }

    /// Found while writing the fuzz target (bench/fuzz.sh; the 60 KB form is the fixture
    /// bad/unnamed-columns-blank-rows.csv): the check for values under unnamed CSV columns searched
    /// every row once per column, so a header of commas over as many blank lines was quadratic.
    /// A header is now capped at ManifestLimits.maximumCSVCellsPerRow cells: this one is at the cap.
    @Test func manyUnnamedColumnsOverManyBlankLinesStayLinear() {
        let width = 60_000
        let text = "Tag,Item,Quantity,UnitOfMeasure,Source Package,Source Quantity,Source UoM"
            + String(repeating: ",", count: ManifestLimits.maximumCSVCellsPerRow - 7) + "\n" + String(repeating: "\n", count: width)
            + "1A4FF0300000022000009001,Blue Dream Buds,1,Grams,1A4FF0100000022000000501,1,Grams,stray value\n"
        var report: ManifestReport?
        // About 0.1 s in a debug build; before the fix, minutes.
        let elapsed = ContinuousClock().measure {
            report = rejected(Array(text.utf8), name: "m.csv")
        }
        #expect(report?.errors.first?.message.contains("column 8 has no header name but line \(width + 2) has a value in it") == true)
        #expect(elapsed < .seconds(5), "took \(elapsed)")
    }

    @Test func aManifestNamingFortyThousandUnknownSourcesIsCheckedInSeconds() {
        // What a live catalog (Metrc's) must look up: every source the cache lacks, each once, in
        // order. Collecting them compared each new tag with every one before: 40,000 unknown
        // sources took 95 s in a debug build, long enough for systemd's watchdog to end the
        // daemon. Now about 1 s in a debug build.
        let packages = 4_000, perPackage = 10
        func source(_ index: Int) -> String { "1A4FF0500000022" + String(repeating: "0", count: 9 - String(index).count) + String(index) }
        var rows: [String] = []
        for package in 0..<packages {
            // The last ingredient of each package repeats the first package's first: named once.
            let ingredients = (0..<perPackage).map { index in
                let tag = index == perPackage - 1 ? source(0) : source(package * perPackage + index)
                return #"{"Package": "\#(tag)", "Quantity": 1, "UnitOfMeasure": "Grams"}"#
            }
            let tag = "1A4FF0600000022" + String(repeating: "0", count: 9 - String(package).count) + String(package)
            rows.append(#"{"Tag": "\#(tag)", "Item": "Buds", "ItemCategory": "Buds", "Quantity": 1, "UnitOfMeasure": "Grams", "ActualDate": "2026-12-04", "Ingredients": [\#(ingredients.joined(separator: ","))]}"#)
        }
        var checker = ManifestChecker()
        checker.sourcesMustBeKnown = true
        var report: ManifestReport?
        let elapsed = ContinuousClock().measure {
            report = checker.check(fileName: "m.json", bytes: Array(("[" + rows.joined(separator: ",") + "]").utf8))
        }
        let misses = report?.catalogMisses.packages ?? []
        #expect(report?.decision == .rejected)
        #expect(misses.count == packages * (perPackage - 1))
        #expect(Set(misses).count == misses.count)
        #expect(Array(misses.prefix(3)) == [source(0), source(1), source(2)])
        #expect(misses.last == source((packages - 1) * perPackage + perPackage - 2))
        #expect(elapsed < .seconds(20), "took \(elapsed)")
    }

    @Test func hugeAndOddNumbers() {
        for (quantity, decision) in [("1e400", Decision.rejected), ("-0", .rejected), ("0.0000", .rejected),
                                     ("123456789012345678901234567890", .needsBatch), ("2.5E-3", .needsBatch)] {
            let text = packageJSON().replacingOccurrences(of: "\"Quantity\": 5,", with: "\"Quantity\": \(quantity),")
            let report = ManifestChecker().check(fileName: "m.json", bytes: Array(text.utf8))
            #expect(report.decision == decision, "\(quantity): \(report.text)")
        }
    }
}

/// A small deterministic generator (SplitMix64), so a failing garbage test can be rerun exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
