// batchgate-bench: parts of `batchgate check` measured on their own, for bench/check_throughput.py.
//
//     batchgate-bench parse DIR              check's parse-only pass: list, read and parse, then stop
//     batchgate-bench parsers DIR [ROUNDS]   JSON parsers compared, and the pipeline, in memory
import BatchgateCore
import BatchgateSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `parse DIR`: what `batchgate check DIR` does up to and including reading each file into the
/// manifest model, and nothing after: the same listing (regular files that a drop folder does not
/// ignore, in name order), the same reading (open, fstat, one read up to the size cap), the size
/// cap, the format, the text check and the JSON or CSV reader; no catalog, rules, pre-flight or
/// report. Measured as its own process, it is the floor of check's own work on the same files, so
/// what check costs beyond it is evaluation and the report. Returns the packages and problems
/// read, which the caller prints so that no reading is optimised away.
func parseOnly(_ directory: String) throws -> Int {
    let prefix = directory.hasSuffix("/") ? directory : directory + "/"
    // Regular files by the entry's type, as check lists them (an lstat only where the filesystem
    // does not record the type).
    let names = try System.listDirectory(directory).compactMap { entry -> String? in
        guard let name = entry.name, !DropFolderNames.isIgnored(name) else { return nil }
        if entry.type != UInt8(DT_UNKNOWN) { return entry.type == UInt8(DT_REG) ? name : nil }
        var info = stat()
        return lstat(prefix + name, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? name : nil
    }.sorted()
    let limit = TextInput.defaultMaximumSize
    var read = 0
    for name in names {
        let path = prefix + name
        let fd = try System.openForReading(path)
        defer { System.close(fd) }
        let size = Int(try System.fileStatus(of: fd, describing: path).st_size)
        let bytes = try System.readAll(fd, limit: limit, sizeHint: size, describing: path)
        // A file check rejects before reading it (too large, not a manifest, not text) has no model.
        guard bytes.count <= limit, let format = try? ManifestFormat.detect(fileName: path, bytes: bytes[...]),
              let text = try? TextInput.validate(bytes, maximumSize: limit) else { continue }
        let reading = format == .json ? JSONManifestReader.read(text) : CSVManifestReader.read(text)
        read += reading.manifest.packages.count + reading.issues.count
    }
    return read
}

/// A Codable model of Metrc's create-package element: the usual way to read it with JSONDecoder.
struct MetrcPackage: Decodable {
    struct Ingredient: Decodable {
        var Package: String
        var Quantity: Double
        var UnitOfMeasure: String
        var Item: String?
        var ItemCategory: String?
    }
    var Tag: String
    var Item: String?
    var ItemCategory: String?
    var Quantity: Double
    var UnitOfMeasure: String
    var IsProductionBatch: Bool?
    var ProductionBatchNumber: String?
    var Ingredients: [Ingredient]
}

struct Envelope: Decodable {
    var Packages: [MetrcPackage]
}

/// `parsers DIR [ROUNDS]`: Foundation's JSON parsers against batchgate's on the JSON files held in
/// memory, then read + evaluate + JSON report in memory; best of ROUNDS each.
func compareInMemory(_ directory: URL, rounds: Int) throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    var files: [(name: String, bytes: [UInt8])] = []
    for name in names {
        files.append((name, Array(try Data(contentsOf: directory.appendingPathComponent(name)))))
    }
    let jsonFiles = files.filter { $0.name.hasSuffix(".json") }
    let csvFiles = files.filter { $0.name.hasSuffix(".csv") }
    print("corpus: \(files.count) files (\(jsonFiles.count) JSON, \(csvFiles.count) CSV), \(files.reduce(0) { $0 + $1.bytes.count } / 1024) KiB")

    /// Runs `body` over `inputs` `rounds` times and returns the best rate in files per second.
    func measure(_ label: String, _ inputs: [(name: String, bytes: [UInt8])], _ body: ((name: String, bytes: [UInt8])) -> Int) -> Double {
        var best = Double.infinity
        var sink = 0
        for _ in 0..<rounds {
            let clock = ContinuousClock()
            let start = clock.now
            for input in inputs { sink &+= body(input) }
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            best = min(best, seconds)
        }
        let rate = Double(inputs.count) / best
        let padded = label.padding(toLength: 46, withPad: " ", startingAt: 0)
        print("  \(padded) \(String(format: "%8.0f", rate)) files/s  (\(String(format: "%.1f", best / Double(inputs.count) * 1e6)) µs each)\(sink == 42 ? " " : "")")
        return rate
    }

    print("JSON parsing only (\(jsonFiles.count) JSON files, best of \(rounds)):")
    let serialization = measure("Foundation JSONSerialization", jsonFiles) { input in
        let object = try? JSONSerialization.jsonObject(with: Data(input.bytes))
        return object == nil ? 0 : 1
    }
    let decoder = measure("Foundation JSONDecoder into Codable structs", jsonFiles) { input in
        let data = Data(input.bytes)
        if let array = try? JSONDecoder().decode([MetrcPackage].self, from: data) { return array.count }
        return (try? JSONDecoder().decode(Envelope.self, from: data))?.Packages.count ?? 0
    }
    let ours = measure("batchgate JSONParser (with line numbers)", jsonFiles) { input in
        (try? JSONParser.parse(input.bytes)) == nil ? 0 : 1
    }
    print(String(format: "  JSONParser is %.1fx JSONSerialization and %.1fx JSONDecoder", ours / serialization, ours / decoder))

    print("Whole pipeline in memory: read + evaluate + JSON report (best of \(rounds)):")
    let checker = ManifestChecker()
    let jsonRate = measure("JSON manifests", jsonFiles) { checker.check(fileName: $0.name, bytes: $0.bytes).jsonLine().count }
    let csvRate = measure("CSV manifests", csvFiles) { checker.check(fileName: $0.name, bytes: $0.bytes).jsonLine().count }
    let allRate = measure("all manifests", files) { checker.check(fileName: $0.name, bytes: $0.bytes).jsonLine().count }
    print(String(format: "  summary: json %.0f/s, csv %.0f/s, all %.0f/s", jsonRate, csvRate, allRate))

    // What check does after reading, apart: the reports of every file are made once and kept, so
    // that writing them is timed alone, and checking is timed without writing.
    print("Check and report apart, in memory (best of \(rounds)):")
    let reports = files.map { checker.check(fileName: $0.name, bytes: $0.bytes) }
    _ = measure("check, no report written", files) { checker.check(fileName: $0.name, bytes: $0.bytes).packages.count }
    var writer = JSONWriter()
    var index = 0
    _ = measure("JSON report of a checked manifest", files) { _ in
        writer.removeAll()
        reports[index % reports.count].write(to: &writer)
        index += 1
        return writer.withUnsafeBytes(\.count)
    }
}

let arguments = CommandLine.arguments
switch (arguments.count, arguments.count > 1 ? arguments[1] : "") {
case (3, "parse"):
    print("parsed: \(try parseOnly(arguments[2])) packages and problems")
case (3...4, "parsers"):
    try compareInMemory(URL(fileURLWithPath: arguments[2]), rounds: arguments.count > 3 ? Int(arguments[3]) ?? 3 : 3)
default:
    print("usage: batchgate-bench parse DIR | batchgate-bench parsers DIR [ROUNDS]")
    exit(64)
}
