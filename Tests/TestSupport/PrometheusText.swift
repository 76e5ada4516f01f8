import Foundation

/// A metrics file as Prometheus' own text parser reads it (prometheus_check.py, with
/// prometheus_client's parser): the families with their HELP, TYPE and samples.
public struct PrometheusText: Sendable {
    /// One metric family. A counter's family name is without `_total`, as the parser gives it.
    public struct Family: Sendable, Decodable {
        public var name: String
        public var type: String
        public var help: String
        public var samples: [Sample]
    }

    public struct Sample: Sendable, Decodable {
        public var name: String
        public var labels: [String: String]
        /// The value as the parser read it ("inf" for +Inf).
        public var value: String

        public var number: Double? { Double(value) }
    }

    public var families: [Family]

    /// The modules prometheus_check.py imports.
    static let modules = ["prometheus_client.parser"]

    /// Parses `text`; throws with the parser's message when it refuses it.
    public init(parsing text: String) throws {
        try PythonTool.requirePackages(Self.modules)
        let result = try PythonTool.run("prometheus_check.py", arguments: ["parse"], input: Data(text.utf8))
        guard result.status == 0 else { throw PythonToolMissing(description: "the Prometheus parser refused the text: \(result.output)") }
        struct Document: Decodable { var families: [Family] }
        families = try JSONDecoder().decode(Document.self, from: Data(result.output.utf8)).families
    }

    /// The value of the sample `name` whose labels are exactly `labels`; nil when there is none.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        families.lazy.flatMap(\.samples).first { $0.name == name && $0.labels == labels }?.number
    }

    /// Every sample named `name`.
    public func samples(_ name: String) -> [Sample] {
        families.flatMap(\.samples).filter { $0.name == name }
    }

    /// Reads the file at `path` over and over for `seconds` while something else replaces it,
    /// parsing every read (see prometheus_check.py). Returns the tool's result: status 0 when
    /// every read was a whole file.
    public static func watch(_ path: String, seconds: Double) throws -> PythonTool.Result {
        try PythonTool.requirePackages(modules)
        return try PythonTool.run("prometheus_check.py", arguments: ["watch", path, String(seconds)], input: Data())
    }
}
