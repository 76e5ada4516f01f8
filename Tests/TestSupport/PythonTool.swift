import Foundation

/// A receiver's own validator, run as a test tool: a script beside this file on Debian's python3,
/// with the PyPI packages `make deps` puts in `.build/python-tools` (pinned there) on its path.
/// The payloads go in on standard input; the tool prints one line per problem and exits non-zero.
public enum PythonTool {
    /// The repository this test build belongs to.
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// Where `make deps` installs the PyPI test tools.
    public static let packages = repository.appendingPathComponent(".build/python-tools").path

    public struct Result: Sendable {
        public var status: Int32
        /// Standard output and standard error together, as a person reading the failure wants them.
        public var output: String
    }

    /// Runs `Tests/TestSupport/<script>` with `arguments`, `input` on its standard input.
    public static func run(_ script: String, arguments: [String] = [], input: Data) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [repository.appendingPathComponent("Tests/TestSupport/\(script)").path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = packages
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        process.environment = environment
        let stdin = Pipe()
        let output = Pipe()
        process.standardInput = stdin
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // Written from another thread: a large input and a chatty tool must not wait on each other.
        let writer = Thread {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let said = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: said, as: UTF8.self))
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
