import Foundation
import Testing
import BatchgateCore
import BatchgateSystem
@testable import BatchgateCatalog

/// A folder of its own for one test, removed at the end.
final class ScratchFolder {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-cache-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The names in the folder, sorted.
    var names: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    func write(_ text: String, to name: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path + "/" + name))
    }
}

@Suite("Metrc cache file")
struct MetrcCacheFileTests {
    /// A facility of `items` items and `packages` packages, every field set somewhere and every
    /// part synced.
    static func snapshot(items: Int = 5, packages: Int = 12) -> MetrcSnapshot {
        var snapshot = MetrcSnapshot(server: "https://api-wv.metrc.com", licenseNumber: "SF-SBX-WV-1-8002")
        let categories = ["Buds", "Shake/Trim", "Concentrate", "Vape \"Cartridge\"\n"]
        snapshot.learn(items: (0..<items).map { itemRecord("Item \($0) — é", categories[$0 % categories.count],
                                                            modified: $0 % 3 == 0 ? nil : "2026-12-01T10:00:\(String(format: "%02d", $0 % 60))+00:00") },
                       at: 1_796_083_200.125)
        let parts: [CatalogPart?] = [.activePackages, .onHoldPackages, .inactivePackages, nil]
        for (index, part) in parts.enumerated() {
            let records = stride(from: index, to: packages, by: parts.count).map { number in
                packageRecord(tag(number), item: number % 5 == 0 ? nil : "Item \(number % max(items, 1)) — é",
                              category: number % 7 == 0 ? nil : categories[number % categories.count],
                              modified: number % 2 == 0 ? "2026-12-02T00:00:00+00:00" : nil)
            }
            snapshot.learn(packages: records, from: part, at: 1_796_083_300.5 + Double(index))
        }
        for part in CatalogPart.allCases { snapshot.markSynced(part, until: 1_796_083_000, at: 1_796_083_400.75) }
        return snapshot
    }

    /// A cache file of version 1 with these items and packages (JSON lists).
    static func document(items: String = "[]", packages: String = "[]") -> String {
        #"{"version": 1, "server": "s", "licenseNumber": "l", "parts": {}, "itemFields": ["name", "category", "lastModified", "learnedAt"], "#
            + #""items": \#(items), "packageFields": ["tag", "item", "category", "part", "lastModified", "learnedAt"], "packages": \#(packages)}"#
    }

    @Test func aSavedSnapshotLoadsAsItWas() throws {
        let folder = try ScratchFolder()
        let path = folder.path + "/metrc.json"
        let snapshot = Self.snapshot()
        try MetrcCacheFile.save(snapshot, to: path)
        let loaded = try #require(try MetrcCacheFile.load(path))
        #expect(loaded == snapshot)
        #expect(loaded.catalog == snapshot.catalog, "the catalog is rebuilt from the records")
        #expect(loaded.parts == snapshot.parts)
        #expect(folder.names == ["metrc.json"], "no temporary file is left")
        // What was loaded saves and loads as it was.
        try MetrcCacheFile.save(loaded, to: path)
        #expect(try MetrcCacheFile.load(path) == snapshot)
        #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)).prefix(12), as: UTF8.self) == #"{"version":1"#)
    }

    @Test func noFileIsNoSnapshot() throws {
        let folder = try ScratchFolder()
        #expect(try MetrcCacheFile.load(folder.path + "/metrc.json") == nil)
    }

    @Test(arguments: [
        ("cut short", "CUT", "is not a cache: "),
        ("garbage", "\u{1F}\u{8B}binary", "is not a cache: line 1, column 1:"),
        ("empty", "", "is not a cache: it is empty"),
        ("another version", #"{"version": 2, "server": "s", "licenseNumber": "l", "parts": {}, "items": [], "packages": []}"#,
         "is of version 2; this batchgate reads version 1 only"),
        ("no version", #"{"server": "s"}"#, "is not a cache: it has no version"),
        ("a list", "[1, 2]", "is not a cache: expected an object, found a list"),
        ("a bad package", Self.document(packages: #"[[3, null, null, null, null, 1]]"#),
         "is not a cache: packages[0] must be a list of tag, item, category, part, lastModified, learnedAt (the tag as text)"),
        ("a package of an unknown part", Self.document(packages: #"[["T", null, null, "packages.lost", null, 1]]"#),
         "is not a cache: packages[0]: packages.lost is no part of the catalog"),
        ("an item short of a field", Self.document(items: #"[["Buds A", "Buds", 1]]"#),
         "is not a cache: items[0] must be a list of name, category, lastModified, learnedAt (name and category as text)"),
        ("fields in another order", Self.document().replacingOccurrences(of: #""tag", "item""#, with: #""item", "tag""#),
         "is not a cache: itemFields must be"),
        ("an unknown part state", #"{"version": 1, "server": "s", "licenseNumber": "l", "parts": {"plants": {}}, "items": [], "packages": []}"#,
         "is not a cache: parts: plants is no part of the catalog"),
    ])
    func aFileThatIsNotACacheIsATypedErrorNamingThePath(kind: String, text: String, expected: String) throws {
        let folder = try ScratchFolder()
        let path = folder.path + "/metrc.json"
        if text == "CUT" {
            let whole = MetrcCacheFile.encode(Self.snapshot())
            try Data(whole.prefix(whole.count / 2)).write(to: URL(fileURLWithPath: path))
        } else {
            try folder.write(text, to: "metrc.json")
        }
        do {
            _ = try MetrcCacheFile.load(path)
            Issue.record("\(kind): loaded")
        } catch {
            #expect(error.path == path)
            #expect(error.description.hasPrefix("the Metrc catalog cache \(path) "), "\(kind): \(error)")
            #expect(error.description.contains(expected), "\(kind): \(error)")
        }
    }

    @Test func aFileThatCannotBeReadSaysWhy() throws {
        let folder = try ScratchFolder()
        let path = folder.path + "/metrc.json"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        #expect(throws: MetrcCacheError(path: path, problem: .cannotRead("the file is a folder, not a regular file"))) {
            try MetrcCacheFile.load(path)
        }
    }

    @Test func aSaveThatCannotWriteLeavesTheOldFileAndSaysWhy() throws {
        let folder = try ScratchFolder()
        #expect(throws: MetrcCacheError.self) { try MetrcCacheFile.save(Self.snapshot(), to: folder.path + "/missing/metrc.json") }
        do {
            try MetrcCacheFile.save(Self.snapshot(), to: folder.path + "/missing/metrc.json")
        } catch {
            #expect(error.description.hasPrefix("cannot save the Metrc catalog cache \(folder.path)/missing/metrc.json: open folder"), "\(error)")
        }
    }

    /// A `kill -9` at each step of a save: under the real name, the old file or the new one,
    /// whole; a temporary file the kill left is never read, and the next save takes its place.
    @Test(arguments: MetrcCacheFile.SaveStep.allCases)
    func aSaveKilledAtAnyStepLeavesTheOldFileOrTheNewWhole(step: MetrcCacheFile.SaveStep) throws {
        let folder = try ScratchFolder()
        let path = folder.path + "/metrc.json"
        let old = Self.snapshot(items: 2, packages: 3)
        try MetrcCacheFile.save(old, to: path)
        let new = Self.snapshot(items: 40, packages: 500)
        try MetrcCacheFile.save(new, to: path, stoppingAfter: step)
        let loaded = try #require(try MetrcCacheFile.load(path))
        #expect(loaded == (step == .renamed ? new : old))
        if step != .renamed {
            #expect(folder.names.count == 2 && folder.names.contains("metrc.json"), "the killed save's temporary file: \(folder.names)")
        }
        try MetrcCacheFile.save(new, to: path)
        #expect(try MetrcCacheFile.load(path) == new)
        #expect(folder.names == ["metrc.json"])
    }

    @Test func anOldTemporaryFileOfAnotherProcessIsRemovedAYoungOneKept() throws {
        let folder = try ScratchFolder()
        let path = folder.path + "/metrc.json"
        try folder.write("half a fi", to: ".metrc.json.1.tmp")
        try folder.write("half a fi", to: ".metrc.json.2.tmp")
        let hourAgo = Date(timeIntervalSinceNow: -3_600)
        try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: folder.path + "/.metrc.json.1.tmp")
        #expect(try MetrcCacheFile.load(path) == nil, "a temporary file is never read as the cache")
        try MetrcCacheFile.save(Self.snapshot(), to: path)
        #expect(folder.names == [".metrc.json.2.tmp", "metrc.json"], "one a minute old may be another process's save in progress")
    }

    @Test func aHundredThousandPackagesLoadAndSaveQuickly() throws {
        let folder = try ScratchFolder()
        let path = folder.path + "/metrc.json"
        var snapshot = MetrcSnapshot(server: "https://api-wv.metrc.com", licenseNumber: "SF-SBX-WV-1-8002")
        snapshot.learn(items: (0..<5_000).map { itemRecord("Blue Dream \($0) Buds", "Buds") }, at: 1_796_083_200.25)
        snapshot.learn(packages: (0..<100_000).map { packageRecord(tag($0), item: "Blue Dream \($0 % 5_000) Buds", category: "Buds",
                                                                    modified: "2026-12-01T10:00:00+00:00") },
                       from: .activePackages, at: 1_796_083_300.5)
        for part in CatalogPart.allCases { snapshot.markSynced(part, until: 1_796_083_000, at: 1_796_083_400) }
        let beforeSave = System.monotonicClock()
        try MetrcCacheFile.save(snapshot, to: path)
        let saved = System.monotonicClock()
        let loaded = try #require(try MetrcCacheFile.load(path))
        let loadedAt = System.monotonicClock()
        #expect(loaded == snapshot)
        let size = try System.fileStatus(atPath: path).st_size
        print("Metrc cache: 100,000 packages + 5,000 items: \(size) bytes; save \(String(format: "%.2f", saved - beforeSave)) s, "
              + "load \(String(format: "%.2f", loadedAt - saved)) s (debug build)")
        // Bounds a loaded machine keeps well within; a start-up that waits longer than this is the bug.
        #expect(loadedAt - saved < 10 && saved - beforeSave < 10)
    }
}
