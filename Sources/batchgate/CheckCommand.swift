import ArgumentParser
import BatchgateCore
import BatchgateDaemon
import BatchgateConfig

/// `batchgate check`: evaluates manifests without moving anything.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Evaluate manifests and print a report; moves nothing.",
        discussion: """
            A directory stands for every file directly in it, in name order, except names that a \
            drop folder ignores (starting with '.', or ending in .tmp, .part, .partial, .filepart, \
            .crdownload or ~). For very many files, name a directory or use --files-from rather \
            than a long argument list.

            --additive-words and --same-form-steps take every word up to the next option: end \
            them with -- before the files. The rule options are those of the config file's rules: \
            section (see batchgate(1)).

            Exit status: 0 when every file is accepted, 1 when the worst is needs-batch, 2 when any \
            is rejected, 64 for a usage error (a catalog file that cannot be used is one), 66 for a \
            file that cannot be opened.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: "Output: text for a person, json for one JSON object per file per line.")
    var format: Format = .text

    @Option(help: ArgumentHelp("Items file: Metrc's items JSON or a CSV with Name and Category.", valueName: "file"))
    var items: String?

    @Option(help: ArgumentHelp("Packages file: Metrc's packages JSON or a CSV with Tag, Item and Category.", valueName: "file"))
    var packages: String?

    @Option(help: ArgumentHelp("Largest manifest accepted, in bytes (K, M or G suffix allowed, then B or iB; at most 1G).",
                               valueName: "size"))
    var maxSize: ByteCount = ByteCount(TextInput.defaultMaximumSize)

    @Option(help: ArgumentHelp(
        "When a change of item by itself needs a production batch: concentrates (a concentrate made from "
            + "concentrates of other items: West Virginia's bulletin), always (every new item: Oklahoma's reading) "
            + "or never (only the other evidence counts).",
        valueName: "when"))
    var itemChange: RuleSettings.ItemChange = RuleSettings().itemChange

    /// Empty when the flag is not given (it takes at least one word), so that a clash with
    /// `--no-additive-words` can be told; ``ruleSettings`` then takes the engine's list.
    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp("Words that, in a package's note or item name, say something was added "
                               + "(default: \(RuleSettings.defaultAdditiveWords.joined(separator: ", "))).",
                           valueName: "word"))
    var additiveWords: [String] = []

    @Flag(help: "Read no additive words: only the listed Additives count.")
    var noAdditiveWords = false

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp("Processing steps that do not change form.", valueName: "step"))
    var sameFormSteps: [String] = RuleSettings.defaultSameFormSteps

    @Option(help: ArgumentHelp("Read more manifest paths from a file, one per line ('-' for standard input).",
                               valueName: "list"))
    var filesFrom: String?

    @Argument(help: ArgumentHelp("Manifest files (.json, .csv, or .txt holding either), or directories of them.",
                                 valueName: "file"))
    var files: [String] = []

    func validate() throws {
        if files.isEmpty && filesFrom == nil { throw ValidationError("name at least one manifest file or directory") }
        if noAdditiveWords && !additiveWords.isEmpty {
            throw ValidationError("give either --additive-words or --no-additive-words, not both")
        }
        for word in additiveWords {
            if let problem = RuleSettings.problem(phrase: word) {
                throw ValidationError("--additive-words: \(problem); give a word or phrase such as terpene or \"coconut oil\"")
            }
        }
        for step in sameFormSteps {
            if let problem = RuleSettings.problem(phrase: step) {
                throw ValidationError("--same-form-steps: \(problem); give step names such as Repackage Split")
            }
        }
    }

    /// The rule settings the flags give; each flag left out keeps the rules engine's default.
    var ruleSettings: RuleSettings {
        let words = noAdditiveWords ? [] : (additiveWords.isEmpty ? RuleSettings.defaultAdditiveWords : additiveWords)
        return RuleSettings(itemChange: itemChange, additiveWords: words, sameFormSteps: sameFormSteps)
    }

    func run() throws {
        var errorStream = FileOutput.standardError
        let catalog: Catalog
        do {
            catalog = try DaemonConfig.CatalogFiles(items: items, packages: packages).load()
        } catch {
            errorStream.write("batchgate: \(error)\n")
            errorStream.flush()
            throw ExitCode(error.isUnreadable ? 66 : 64)
        }
        let checker = ManifestChecker(catalog: catalog, settings: ruleSettings, maximumSize: maxSize.bytes)
        var output = FileOutput.standardOutput
        var worst = Decision.accepted
        var unopened = false
        var paths: [String] = []
        do {
            paths = try expandedPaths()
        } catch {
            errorStream.write("batchgate: \(error)\n")
            errorStream.flush()
            throw ExitCode(66)
        }
        for (index, path) in paths.enumerated() {
            let contents: FileBytes.Contents
            do {
                contents = try FileBytes.read(path, limit: maxSize.bytes)
            } catch {
                output.flush()
                errorStream.write("batchgate: \(error)\n")
                errorStream.flush()
                unopened = true
                continue
            }
            let report = checker.check(fileName: path, bytes: contents.bytes, fileSize: contents.size)
            worst = max(worst, report.decision)
            switch format {
            case .json:
                output.write(report.jsonLine())
                output.write("\n")
            case .text:
                if index > 0 { output.write("\n") }
                output.write(report.text)
            }
        }
        output.flush()
        if unopened { throw ExitCode(66) }
        switch worst {
        case .accepted: return
        case .needsBatch: throw ExitCode(1)
        case .rejected: throw ExitCode(2)
        }
    }

    /// The files named on the command line and in --files-from, with directories expanded.
    private func expandedPaths() throws(FileBytes.ReadError) -> [String] {
        var named = files
        if let filesFrom {
            let bytes = filesFrom == "-" ? try FileBytes.readStandardInput() : try FileBytes.read(filesFrom, limit: 1 << 30).bytes
            named += String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
                .filter { !$0.isEmpty }
        }
        var paths: [String] = []
        for path in named {
            if let entries = try FileBytes.directoryEntries(path) {
                let prefix = path.hasSuffix("/") ? path : path + "/"
                paths += entries.filter { !DropFolderNames.isIgnored($0) }.sorted().map { prefix + $0 }
            } else {
                paths.append(path)
            }
        }
        return paths
    }
}

/// `--item-change concentrates|always|never`: the rules engine's own names, so that a new case
/// reaches the flag (and its "one of" message) without a list here.
extension RuleSettings.ItemChange: ExpressibleByArgument {}

/// A size in bytes as the config's `maxManifestSize` is written (``ByteSizeText``), from 1 byte to
/// ``DaemonConfig/maxManifestSizeLimit``.
struct ByteCount: ExpressibleByArgument {
    var bytes: Int

    init(_ bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        guard let bytes = ByteSizeText.bytes(argument), bytes >= 1, bytes <= Int128(DaemonConfig.maxManifestSizeLimit) else {
            return nil
        }
        self.bytes = Int(bytes)
    }

    var defaultValueDescription: String { ByteSizeText.format(bytes) }
}
