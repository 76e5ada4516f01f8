// batchgate-bench: compares JSON parsers on the generated manifests and times the whole
// read + evaluate + report pipeline in memory. Run by bench/check-throughput; prints figures.
//
//     batchgate-bench DIR [ROUNDS]
import BatchgateCore
import Foundation

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

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: batchgate-bench DIR [ROUNDS]")
    exit(64)
}
let directory = URL(fileURLWithPath: arguments[1])
let rounds = arguments.count > 2 ? Int(arguments[2]) ?? 3 : 3
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
