import Foundation
import Testing

/// The manual pages follow the program: every subcommand and option the built binary's `--help`
/// shows is in batchgate(1), every key the configuration reads is in batchgate.yaml(5), and both
/// carry the version `--version` prints. A page that lags the program misleads the sysadmin who
/// reads it instead of the source.
@Suite struct ManualPageTests {
    static let commandPage = Executable.packageRoot.appendingPathComponent("docs/batchgate.1")
    static let configPage = Executable.packageRoot.appendingPathComponent("docs/batchgate.yaml.5")

    /// The page's text with troff's escaped minus read as a plain one.
    static func page(_ url: URL) throws -> String {
        try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "\\-", with: "-")
    }

    /// Every command path of the binary, found by walking the SUBCOMMANDS of each `--help`:
    /// ["check"], ["config", "check"], ...; leaves only (a group such as `config` runs nothing).
    static func commands(under path: [String] = []) throws -> [[String]] {
        // Three levels at most (`batchgate alert retry`): a parser that reads too much cannot loop.
        guard path.count < 3 else { return [path] }
        let help = try Executable.run(path + ["--help"])
        let names = subcommands(inHelp: help.standardOutput)
        if names.isEmpty { return path.isEmpty ? [] : [path] }
        return try names.flatMap { try commands(under: path + [$0]) }
    }

    /// The names listed under SUBCOMMANDS in an ArgumentParser help text (`help` itself left out).
    static func subcommands(inHelp help: String) -> [String] {
        guard let start = help.range(of: "SUBCOMMANDS:\n") else { return [] }
        var names: [String] = []
        // The list ends at the first blank line ("See 'batchgate help <subcommand>'" follows it).
        for line in help[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { break }
            // "  check                   Evaluate ..." : two spaces, then the name.
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first,
                  name.allSatisfy({ ("a"..."z").contains($0) || $0 == "-" }), name != "help" else { continue }
            names.append(String(name))
        }
        return names
    }

    /// The long options in an ArgumentParser help text: `--format`, `--sink`, ...
    static func options(inHelp help: String) -> Set<String> {
        guard let start = help.range(of: "OPTIONS:\n") else { return [] }
        var found = Set<String>()
        // Option lines are indented two spaces; a help text running on is indented further.
        for line in help[start.upperBound...].split(separator: "\n") where line.hasPrefix("  ") && !line.hasPrefix("   ") {
            let words = line.split(separator: " ")
            for word in words.prefix(3) where word.hasPrefix("--") {
                found.insert(String(word.trimmingCharacters(in: CharacterSet(charactersIn: ","))))
            }
        }
        return found.subtracting(["--help", "--version"])
    }

    @Test func everySubcommandIsInTheSynopsisAndDescribed() throws {
        let page = try Self.page(Self.commandPage)
        let commands = try Self.commands()
        #expect(commands.count >= 7, "found only \(commands) in the binary's help")
        let synopsis = page.components(separatedBy: ".SH DESCRIPTION").first ?? ""
        for command in commands {
            let name = command.joined(separator: " ")
            #expect(synopsis.contains(".B batchgate \(name)"), "batchgate(1)'s SYNOPSIS lacks `batchgate \(name)`")
            #expect(page.contains(".B \(name)\n"), "batchgate(1)'s COMMANDS has no entry `.B \(name)`")
        }
    }

    /// The lines of a command's synopsis: from `.B batchgate NAME` to the next `.br` (or the section's end).
    static func synopsis(of command: [String], in page: String) -> [Substring] {
        let lines = (page.components(separatedBy: ".SH DESCRIPTION").first ?? "").split(separator: "\n")
        let opening = ".B batchgate " + command.joined(separator: " ")
        guard let start = lines.firstIndex(where: { $0 == opening || $0.hasPrefix(opening + " ") }) else { return [] }
        let end = lines[start...].firstIndex(of: ".br") ?? lines.endIndex
        return Array(lines[start..<end])
    }

    @Test func everyOptionOfEverySubcommandIsInItsSynopsis() throws {
        let page = try Self.page(Self.commandPage)
        for command in try Self.commands() {
            let help = try Executable.run(command + ["--help"])
            #expect(help.status == 0)
            let synopsis = Self.synopsis(of: command, in: page)
            for option in Self.options(inHelp: help.standardOutput).sorted() {
                // As a word: `--config` is not found in `--config-file`.
                let listed = synopsis.contains { $0.range(of: option + "([^a-z-]|$)", options: .regularExpression) != nil }
                #expect(listed, "batchgate(1)'s synopsis of `batchgate \(command.joined(separator: " "))` lacks \(option)")
            }
        }
    }

    @Test func theParserOfHelpFindsWhatItShould() {
        let help = """
            USAGE: batchgate alert retry [--config <file>] [--sink <name>]

            OPTIONS:
              --config <file>         The YAML configuration file.
              -s, --sink <name>       Only this sink.
              --same-form-steps <step>
                                      Steps, as `run
                                      --root` takes them.
              --version               Show the version.
              -h, --help              Show help information.

            SUBCOMMANDS:
              test                    Send a test alert.
              retry                   Move dead letters back.
              help                    Show help.

              See 'batchgate help <subcommand>' for detailed help.
            """
        #expect(Self.options(inHelp: help) == ["--config", "--sink", "--same-form-steps"])
        #expect(Self.subcommands(inHelp: help) == ["test", "retry"])
    }

    /// Every key of every configuration section, from the `CodingKeys` the decoder reads (the
    /// source itself, so a key added without its page fails here).
    static func configurationKeys() throws -> Set<String> {
        let folder = Executable.packageRoot.appendingPathComponent("Sources/BatchgateConfig")
        var keys = Set<String>()
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".swift") {
            let source = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            var rest = source[...]
            while let start = rest.range(of: "enum CodingKeys: String, CodingKey, CaseIterable {") {
                let body = rest[start.upperBound...]
                guard let end = body.firstIndex(of: "}") else { break }
                // The `case` lines, a list may run on over lines; comments and other members skipped.
                var inCase = false
                for line in body[..<end].split(separator: "\n") {
                    let text = line.trimmingCharacters(in: .whitespaces)
                    if text.hasPrefix("case ") {
                        inCase = true
                    } else if !inCase || text.hasPrefix("//") || text.hasPrefix("static") {
                        inCase = false
                        continue
                    }
                    let list = text.hasPrefix("case ") ? text.dropFirst(5) : text[...]
                    for key in list.split(separator: ",") {
                        let word = key.trimmingCharacters(in: .whitespaces)
                        if !word.isEmpty, word.allSatisfy({ $0.isLetter || $0.isNumber }) { keys.insert(word) }
                    }
                    inCase = text.hasSuffix(",")
                }
                rest = body[end...]
            }
        }
        return keys
    }

    @Test func everyConfigurationKeyIsInBatchgateYaml5() throws {
        let page = try Self.page(Self.configPage)
        let keys = try Self.configurationKeys()
        // The sections and a few keys of each, so that a reader of the source that finds nothing fails.
        #expect(keys.isSuperset(of: ["stateRoot", "catalog", "metrc", "lookupTimeout", "sinks", "starttls", "itemChange", "level"]),
                "read only \(keys.sorted()) from Sources/BatchgateConfig")
        let bold = page.split(separator: "\n").filter { $0.hasPrefix(".B") || $0.hasPrefix(".SS ") }
        for key in keys.sorted() {
            // `.BI stateRoot: " path"`, `.BI "{file: " path }`, `.BI vendorKey: " secret" ", userKey: "`,
            // a section `.SS catalog` and its keys `.BI catalog.items: " path"`.
            let documented = bold.contains { line in
                line == ".SS \(key)" || line.range(of: "(^|[^A-Za-z])\(key)[:.]", options: .regularExpression) != nil
            }
            #expect(documented, "batchgate.yaml(5) does not document the key \(key)")
        }
    }

    @Test func pagesCarryTheVersionTheBinaryPrints() throws {
        let version = try Executable.run(["--version"]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!version.isEmpty)
        for url in [Self.commandPage, Self.configPage] {
            let header = try Self.page(url).split(separator: "\n").first { $0.hasPrefix(".TH ") } ?? ""
            #expect(header.contains("\"batchgate \(version)\""), "\(url.lastPathComponent)'s .TH line \(header) lacks the version \(version)")
        }
    }

    /// `man` renders both pages without a warning (a troff mistake shows up as one).
    @Test func pagesRenderWithoutWarnings() throws {
        for url in [Self.commandPage, Self.configPage] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/man")
            process.arguments = ["--warnings", "-l", url.path]
            process.environment = ["MANWIDTH": "80", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
            let error = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = error
            try process.run()
            let warnings = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            #expect(warnings.isEmpty, "man warns about \(url.lastPathComponent): \(warnings)")
        }
    }
}
