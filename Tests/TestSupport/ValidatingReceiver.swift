import Foundation

/// validating_receiver.py: Slack and Teams webhooks on 127.0.0.1 that refuse what the real ones
/// would refuse (slack_sdk's models and Slack's limits; Teams' 28 KB and the Adaptive Card
/// schemas), and a Slack receiver that refuses every message with blocks.
public final class ValidatingReceiver: @unchecked Sendable {
    /// One request and what the receiver made of it.
    public struct Record: Sendable {
        public var path: String
        public var status: Int
        public var problems: [String]
        public var body: String
    }

    private let server: PythonServer
    private let out: URL

    public init() throws {
        try PythonTool.requirePackages(["slack_sdk.models.blocks", "jsonschema"])
        out = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-receiver-\(UUID().uuidString).jsonl")
        server = try PythonServer("validating_receiver.py", arguments: ["--out", out.path])
    }

    deinit { try? FileManager.default.removeItem(at: out) }

    /// `http://127.0.0.1:<port><path>`: `/slack`, `/teams` or `/blocks-refused`.
    public func url(_ path: String) -> String { "http://127.0.0.1:\(server.port)\(path)" }

    /// The requests so far, in the order they came.
    public var records: [Record] {
        guard let text = try? String(contentsOf: out, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Record(path: object["path"] as? String ?? "", status: object["status"] as? Int ?? 0,
                          problems: object["problems"] as? [String] ?? [], body: object["body"] as? String ?? "")
        }
    }
}
