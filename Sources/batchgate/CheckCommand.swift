import ArgumentParser
import BatchgateCore
import BatchgateDaemon
import BatchgateConfig
import BatchgateCatalog
import BatchgateMetrc
import BatchgateSystem

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

            --check sets one pre-flight check's level (error rejects: Metrc would refuse it; \
            warning reports; off skips); give it once per check. The checks, with their default \
            levels: \(CheckOverride.defaultsList). A date is "in the future" when it is after \
            today anywhere on Earth (UTC+14).

            With --config, the catalog (its files and the Metrc cache in its state root, as the \
            daemon last synced it; no request goes to Metrc), the rules and the size limit come \
            from the configuration file, and the options for those are refused.

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

    @Option(help: ArgumentHelp("Take the catalog (files and Metrc cache), rules and size limit from this configuration file.",
                               valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Items file: Metrc's items JSON or a CSV with Name and Category.", valueName: "file"))
    var items: String?

    @Option(help: ArgumentHelp("Packages file: Metrc's packages JSON or a CSV with Tag, Item and Category.", valueName: "file"))
    var packages: String?

    @Option(help: ArgumentHelp("Largest manifest accepted, in bytes (K, M or G suffix allowed, then B or iB; at most 1G).",
                               valueName: "size"))
    var maxSize: ByteCount?

    @Option(help: ArgumentHelp(
        "When a change of item by itself needs a production batch: concentrates (a concentrate made from "
            + "concentrates of other items: West Virginia's bulletin), always (every new item: Oklahoma's reading) "
            + "or never (only the other evidence counts).",
        valueName: "when"))
    var itemChange: RuleSettings.ItemChange?

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

    /// Empty when the flag is not given (it takes at least one word); ``ruleSettings`` then takes
    /// the engine's list.
    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp("Processing steps that do not change form "
                               + "(default: \(RuleSettings.defaultSameFormSteps.joined(separator: ", "))).",
                           valueName: "step"))
    var sameFormSteps: [String] = []

    /// Empty when none is given: every check at its default level.
    @Option(
        name: .customLong("check"),
        help: ArgumentHelp("Set a pre-flight check's level: ID is one of \(CheckID.allCases.map(\.rawValue).joined(separator: ", ")); "
                               + "LEVEL is error, warning or off. Repeatable.",
                           valueName: "id=level"),
        transform: CheckOverride.init(parsing:))
    var checkLevels: [CheckOverride] = []

    @Option(help: ArgumentHelp("Read more manifest paths from a file, one per line ('-' for standard input).",
                               valueName: "list"))
    var filesFrom: String?

    @Argument(help: ArgumentHelp("Manifest files (.json, .csv, or .txt holding either), or directories of them.",
                                 valueName: "file"))
    var files: [String] = []

    func validate() throws {
        if files.isEmpty && filesFrom == nil { throw ValidationError("name at least one manifest file or directory") }
        if config != nil {
            if items != nil || packages != nil {
                throw ValidationError("--config names the catalog: give --config or --items/--packages, not both")
            }
            if maxSize != nil || itemChange != nil || !additiveWords.isEmpty || noAdditiveWords || !sameFormSteps.isEmpty
                || !checkLevels.isEmpty {
                throw ValidationError("--config gives the rules and the size limit: leave out --max-size, --item-change, --additive-words, --no-additive-words, --same-form-steps and --check, or leave out --config")
            }
        }
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
        var checks = CheckSettings()
        // Given twice, the last one counts, as for any repeated option.
        for override in checkLevels { checks.set(override.check, to: override.level) }
        return RuleSettings(itemChange: itemChange ?? RuleSettings().itemChange, additiveWords: words,
                            sameFormSteps: sameFormSteps.isEmpty ? RuleSettings.defaultSameFormSteps : sameFormSteps,
                            checks: checks)
    }

    /// The checker the options describe, or the configuration file's (``configuredChecker(_:)``).
    private func makeChecker() throws -> ManifestChecker {
        var errorStream = FileOutput.standardError
        if let config { return try configuredChecker(config) }
        let catalog: Catalog
        do {
            catalog = try DaemonConfig.CatalogSources(items: items, packages: packages).load()
        } catch {
            errorStream.write("batchgate: \(error)\n")
            errorStream.flush()
            throw ExitCode(error.isUnreadable ? 66 : 64)
        }
        return ManifestChecker(catalog: catalog, settings: ruleSettings, maximumSize: (maxSize?.bytes ?? TextInput.defaultMaximumSize))
    }

    /// The checker of the configuration at `path`: its rules and size limit, its catalog files laid
    /// over the Metrc cache in its state root (when `catalog.metrc` is set and a sync made one).
    /// Offline: a tag the cache lacks is judged as the files alone would judge it, not as one
    /// Metrc does not have, since it may be newer than the last sync.
    private func configuredChecker(_ path: String) throws -> ManifestChecker {
        var errorStream = FileOutput.standardError
        var checker: ManifestChecker
        let settings: DaemonConfig
        do {
            settings = try ConfigFile.loadConfig(path: path)
            checker = try settings.makeChecker()
        } catch {
            errorStream.write("batchgate: \(error)\n")
            errorStream.flush()
            throw ExitCode(64)
        }
        guard let metrc = settings.catalog.metrc else { return checker }
        let cachePath = settings.layout.metrcCache
        do {
            guard let cached = try MetrcCacheFile.load(cachePath) else {
                errorStream.write("batchgate: note: no Metrc catalog cache at \(cachePath) yet (batchgate catalog sync makes one); only the catalog files are used\n")
                errorStream.flush()
                return checker
            }
            if cached.server != MetrcAPI.trimmedServer(metrc.server) || cached.licenseNumber != metrc.licenseNumber {
                errorStream.write("batchgate: note: the Metrc catalog cache \(cachePath) is of \(cached.server) licence \(cached.licenseNumber), not of the configured account; only the catalog files are used\n")
            } else {
                let synced = cached.parts.values.map(\.syncedAt).max().map(Timestamp.iso8601) ?? "never"
                errorStream.write("batchgate: catalog: the Metrc cache (\(cached.itemCount) items, \(cached.packageCount) packages, last synced \(synced)) with the catalog files laid over it\n")
                checker.catalog = cached.catalog.overlaid(by: checker.catalog)
                checker.catalogIsMetrc = true
            }
            errorStream.flush()
        } catch {
            errorStream.write("batchgate: \(error)\n")
            errorStream.flush()
            throw ExitCode(64)
        }
        return checker
    }

    func run() throws {
        var errorStream = FileOutput.standardError
        var checker = try makeChecker()
        checker.today = Timestamp.latestDateOnEarth(at: System.wallClock())
        var output = FileOutput.standardOutput
        // One writer for every report, so that its memory is allocated once.
        var json = JSONWriter()
        var worst = Decision.accepted
        var unopened = false
        var misnamed: [(folder: String, name: [UInt8])] = []
        var paths: [String] = []
        do {
            (paths, misnamed) = try expandedPaths()
        } catch {
            errorStream.write("batchgate: \(error)\n")
            errorStream.flush()
            throw ExitCode(66)
        }
        // Named, not skipped: a file left out of the output without a word looks checked.
        for file in misnamed {
            let renamed = percentEncodingInvalidUTF8(file.name)
            // Quoted as well when it holds a control character or more than ASCII, for the same reason.
            let plain = renamed.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
            let shown = plain ? renamed : Self.shellQuoted("", Array(renamed.utf8))
            errorStream.write("batchgate: cannot check \(Self.shellQuoted(file.folder, file.name)): its name is not UTF-8; rename it (the daemon renames such a file in its inbox to \(shown), or a numbered variant of that if it is taken)\n")
            unopened = true
        }
        errorStream.flush()
        for (index, path) in paths.enumerated() {
            let contents: FileBytes.Contents
            do {
                contents = try FileBytes.read(path, limit: checker.maximumSize)
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
                json.removeAll()
                report.write(to: &json)
                json.withUnsafeBytes { output.write($0) }
                output.write("\n")
            case .text:
                if index > 0 { output.write("\n") }
                output.write(report.textUTF8)
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

    /// The files named on the command line and in --files-from, with directories expanded, and
    /// the files in those directories whose names are not UTF-8 (see ``FileBytes/Listing``).
    private func expandedPaths() throws(FileBytes.ReadError) -> (paths: [String], misnamed: [(folder: String, name: [UInt8])]) {
        var named = files
        if let filesFrom {
            let bytes = filesFrom == "-" ? try FileBytes.readStandardInput() : try FileBytes.read(filesFrom, limit: 1 << 30).bytes
            named += String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
                .filter { !$0.isEmpty }
        }
        var paths: [String] = []
        var misnamed: [(folder: String, name: [UInt8])] = []
        for path in named {
            if let listing = try FileBytes.directoryEntries(path) {
                let prefix = path.hasSuffix("/") ? path : path + "/"
                paths += listing.names.filter { !DropFolderNames.isIgnored($0) }.sorted().map { prefix + $0 }
                // Left out as the daemon leaves them out: a leading dot, a partial-file ending.
                misnamed += listing.misnamed.filter { !DropFolderNames.isIgnored(String(decoding: $0, as: UTF8.self)) }
                    .sorted { $0.lexicographicallyPrecedes($1) }.map { (prefix, $0) }
            } else {
                paths.append(path)
            }
        }
        return (paths, misnamed)
    }

    /// `folder` and `name` as a shell reads them back (`$'d/caf\xe9.csv'`), so that the message
    /// names the file a person can then rename: every byte but printable ASCII is written `\xHH`,
    /// and a control character cannot start a line of its own in the message.
    static func shellQuoted(_ folder: String, _ name: [UInt8]) -> String {
        var quoted = "$'"
        for byte in Array(folder.utf8) + name {
            if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "'") && byte != UInt8(ascii: "\\") {
                quoted.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                quoted += "\\x" + Hex.string(CollectionOfOne(byte))
            }
        }
        return quoted + "'"
    }
}

/// `--item-change concentrates|always|never`: the rules engine's own names, so that a new case
/// reaches the flag (and its "one of" message) without a list here.
extension RuleSettings.ItemChange: ExpressibleByArgument {}

/// `--check ID=LEVEL`: one pre-flight check and the level it runs at, written with the ids and
/// levels that reports and the config's `rules.checks` use.
struct CheckOverride: ExpressibleByArgument {
    var check: CheckID
    var level: CheckLevel

    /// Why a `--check` value was refused, naming what is valid; ArgumentParser prints it after
    /// "The value … is invalid for '--check <id=level>'" and exits 64.
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads `ID=LEVEL`, or throws a ``Problem`` naming the valid ids or levels. The option reads
    /// its values with this rather than ``init(argument:)`` so that the message says what to write.
    init(parsing argument: String) throws(Problem) {
        let ids = CheckID.allCases.map(\.rawValue).joined(separator: ", ")
        let levels = CheckLevel.allCases.map(\.rawValue).joined(separator: ", ")
        guard let equals = argument.firstIndex(of: "=") else {
            throw Problem(description: "write ID=LEVEL, such as too-many-packages=off")
        }
        let id = String(argument[..<equals]), name = String(argument[argument.index(after: equals)...])
        guard let check = CheckID(rawValue: id) else {
            throw Problem(description: "\(id.isEmpty ? "no check named" : "unknown check \"\(id)\""); the checks are \(ids)")
        }
        guard let level = CheckLevel(rawValue: name) else {
            throw Problem(description: "\(name.isEmpty ? "no level given" : "unknown level \"\(name)\""); the levels are \(levels)")
        }
        self.check = check
        self.level = level
    }

    init?(argument: String) {
        guard let parsed = try? CheckOverride(parsing: argument) else { return nil }
        self = parsed
    }

    /// "tag-in-use (error), …": every check with its default level, for the help text.
    static var defaultsList: String {
        CheckID.allCases.map { "\($0.rawValue) (\($0.defaultLevel.rawValue))" }.joined(separator: ", ")
    }
}

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
