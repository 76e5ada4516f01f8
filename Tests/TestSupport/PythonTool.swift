import Foundation

/// A receiver's own validator, run as a test tool: a script beside this file on Debian's python3,
/// with the PyPI packages `make deps` puts in `.build/python-tools` (pinned there) on its path.
/// The payloads go in on standard input; the tool prints one line per problem and exits non-zero.
public enum PythonTool {
    /// The repository this test build belongs to.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// Where `make deps` installs the PyPI test tools.
    static let packages = repository.appendingPathComponent(".build/python-tools").path

    public struct Result: Sendable {
        public var status: Int32
        /// Standard output and standard error together, as a person reading the failure wants them.
        public var output: String
    }

    /// Runs `Tests/TestSupport/<script>` with `arguments`, `input` on its standard input. The
    /// input comes from a file, not a pipe: a tool that stops before reading it all (a missing
    /// schema, a crash) must fail the test with its message, not end the test process by SIGPIPE.
    public static func run(_ script: String, arguments: [String] = [], input: Data) throws -> Result {
        let inputFile = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-tool-input-\(UUID().uuidString)")
        try input.write(to: inputFile)
        defer { try? FileManager.default.removeItem(at: inputFile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [repository.appendingPathComponent("Tests/TestSupport/\(script)").path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = packages
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        process.environment = environment
        process.standardInput = try FileHandle(forReadingFrom: inputFile)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let said = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: said, as: UTF8.self))
    }

    /// Runs a checker that reads payloads one a line, each after its label and a tab (slack_check.py,
    /// adaptive_card_check.py), once `modules` are importable.
    public static func check(_ script: String, needing modules: [String], _ payloads: [(label: String, body: [UInt8])]) throws -> Result {
        try requirePackages(modules)
        var lines: [UInt8] = []
        for (label, body) in payloads {
            lines += Array(label.utf8) + [UInt8(ascii: "\t")] + body + [UInt8(ascii: "\n")]
        }
        return try run(script, input: Data(lines))
    }

    /// Whether the packages are installed: a test says how to install them rather than failing
    /// on an import error a person must decode.
    public static func requirePackages(_ modules: [String]) throws {
        let check = try run("python_tools_check.py", arguments: modules, input: Data())
        guard check.status == 0 else {
            throw PythonToolMissing(description: "\(check.output.trimmingCharacters(in: .whitespacesAndNewlines)); run `make deps` "
                + "(it installs the pinned test tools into .build/python-tools)")
        }
    }
}

public struct PythonToolMissing: Error, CustomStringConvertible {
    public var description: String
}

/// A test server written in Python (a script beside this file) in a child process: it prints its
/// port once it listens and serves until its standard input ends, which happens when this object
/// goes, or the test process does.
public final class PythonServer: @unchecked Sendable {
    public let port: Int
    private let process: Process
    private let input: Pipe

    /// Starts `Tests/TestSupport/<script>` with `arguments` and waits up to 10 s for its port.
    public init(_ script: String, arguments: [String]) throws {
        process = Process()
        input = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [PythonTool.repository.appendingPathComponent("Tests/TestSupport/\(script)").path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = PythonTool.packages
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        process.environment = environment
        process.standardInput = input
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // A server that does not start in time is stopped, which ends its output.
        let child = process
        let started = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            if started.wait(timeout: .now() + 10) == .timedOut { child.terminate() }
        }
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        started.signal()
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            process.waitUntilExit()
            let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw PythonToolMissing(description: "\(script) did not start (run `make deps`?): \(said)")
        }
        self.port = port
    }

    /// Ends its input, and it if it has not gone by then; returns once it has.
    public func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    deinit { stop() }
}
